"""The phases of a run, as :func:`experiments.run.run` calls them.

``start`` loads and checks (before anything is created), opens the reporters
and the run folder, builds the model, loss, optimizer and batches and, when
resuming, restores the checkpoint (refusing one whose ``config.json`` was
edited since: the checkpoint holds the configuration's :func:`fingerprint`).
Then every phase runs under :func:`guard`: divergence, Ctrl-C and SIGTERM end
the phase, not the run. The result computed so far is kept: the summary (with
the status and the phase that was interrupted) is written, the best weights
are saved with ``--save_model`` and every reporter is finished. Once training
is over, a first stop waits for the summary and the test pass (:func:`score`:
a job stopped at its time limit keeps the scores of its finished training); a
second one stops at once. Figures are drawn last, after the result has been
printed and saved, and only for a finished run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import datasets
import nn
from nn import metrics

from . import build, preflight
from .config import convert, from_saved, is_option
from .errors import EXIT_FAULT, EXIT_INTERRUPTED, EXIT_TERMINATED, ConfigError, Terminated
from .naming import changed_options, run_name, sweep_run_name
from .plugin import Plugin, Priority, RunContext
from .sections import NOT_IN_MODEL_FILES, DataConfig, RunConfig
from .session import RunResult, came_after, deferred_stops, load_data, open_trackers

if TYPE_CHECKING:
    from tracking import Reporter

CHECKPOINT = "checkpoint.npz"
RESUMABLE = ("epochs", "wandb_mode", "data_dir")  # what --resume may change; the rest is the run's own configuration
NOT_FINGERPRINTED = (*RESUMABLE, *NOT_IN_MODEL_FILES, "preset")  # and the paths, the account, a preset's name
CONFIG_HASH, CONFIG_KEYS = "config_sha256", "config_keys"  # in the checkpoint's metadata


def fingerprint(flat: dict[str, Any], keys: Iterable[str] | None = None) -> str:
    """The sha256 of the run's own configuration (``flat`` without :data:`NOT_FINGERPRINTED`; only
    ``keys`` when given) as canonical JSON: what a checkpoint was trained with."""
    own = {k: flat.get(k) for k in (flat if keys is None else keys) if k not in NOT_FINGERPRINTED}
    text = json.dumps(own, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def checkpoint_metadata(config: RunConfig) -> dict[str, Any]:
    """What a checkpoint keeps of the configuration: its :func:`fingerprint` and the options it covers
    (so that an option added by a later version, at its default, does not count as a change)."""
    flat = config.flat()
    return {CONFIG_HASH: fingerprint(flat), CONFIG_KEYS: sorted(k for k in flat if k not in NOT_FINGERPRINTED)}


def reconcile(config: RunConfig, injected: dict, say: Callable[[str], None]) -> RunConfig:
    """Under ``wandb agent`` W&B holds the sweep's values: use them, and say where the flags differ."""
    flat, changes = config.flat(), {}
    for key, value in injected.items():
        if is_option(key):
            value = convert(key, value)
            value = list(value) if isinstance(value, tuple) else value
            if value != flat[key]:
                say(f"note: W&B's config sets {key}={value!r} (the flags said {flat[key]!r}); using W&B's")
                changes[key] = value
    return config.replace(**changes) if changes else config


class Checkpoint(nn.Callback):
    """Writes the run folder's ``checkpoint.npz`` after every epoch (see :mod:`nn.checkpoint`);
    ordered after the history and best-weights callbacks, so it includes the epoch."""

    def __init__(self, path, model, best, history: list, metadata: dict | None = None):
        self.path, self.model, self.best, self.history = path, model, best, history
        self.metadata = metadata

    def on_train_begin(self, info):
        self.state, self.batches = info["optimizer_state"], info["batches"]

    def on_epoch_end(self, epoch, metrics):
        import optimizers
        from nn import checkpoint

        checkpoint.save(
            self.path,
            model=self.model,
            optimizer_arrays=optimizers.state_to_arrays(self.state),
            batches=self.batches,
            epoch=epoch,
            history=self.history,
            best=self.best,
            metadata=self.metadata,
        )


def agent_run_name(config: RunConfig, tracker: Reporter) -> str:
    """The run's name; under ``wandb agent`` (which passes every parameter of the sweep, varied or
    not), named by the sweep's parameters whose values differ from the defaults, so that the runs
    of one sweep tell themselves apart (see :func:`experiments.naming.sweep_run_name`)."""
    if not tracker.in_sweep:
        return run_name(config)
    changed = changed_options(config)
    keys = [k for k in tracker.injected_config if k in changed]
    return sweep_run_name(config, keys) if keys else run_name(config)


def start(
    config: RunConfig,
    data: datasets.Dataset | None,
    plugins: list[Plugin],
    *,
    group: str | None,
    tags: list | None,
    say: Callable[[str], None],
    resume_from: Path | None,
    fold: tuple[int, Path] | None,
    name: str | None = None,
) -> RunContext:
    """Load, check, open the trackers and the folder, build, restore: a run ready for its phases."""
    from tracking.local import LocalRun

    if data is None:
        data = _load(config, say)
    preflight.check(config, data, plugins)
    trackers = open_trackers(
        config,
        (name or run_name(config)) + (f"/fold{fold[0]}" if fold else ""),
        group=group,
        tags=tags,
        resume_id=LocalRun.wandb_id(resume_from),
        job_type="fold" if fold else None,
    )
    if trackers:  # under wandb agent the sweep's values win: the configuration (and the data) may change
        config, data, name = _agreed(config, data, plugins, trackers[0], name, say)
    name = name or run_name(config)
    local = (
        LocalRun(fold[1], f"fold{fold[0]}", config.flat())
        if fold
        else LocalRun(config.tracking.output_dir, name, config.flat(), folder=resume_from)
    )
    if not fold:
        name = local.folder.name  # with the "-2" a taken name gets: the header, the folder and W&B agree
        for tracker in trackers:
            tracker.rename(name)
    for tracker in trackers:
        local.remember_wandb(tracker.run_id)
    run = _context(config, data, local, trackers, say, name, resume_from)
    run.in_fold = fold is not None
    if resume_from is not None:
        _restore(run)
        say(f"resuming {run.folder} after epoch {run.initial_epoch}")
    for plugin in plugins:
        plugin.prepare(run)
    say(_header(run))
    for reporter in run.reporters:
        reporter.watch(run.best.monitor, run.data.task.goal)
    return run


def _load(config: RunConfig, say: Callable[[str], None]) -> datasets.Dataset:
    data = load_data(config)
    for note in data.notes:
        say(note)
    return data


def _agreed(
    config: RunConfig,
    data: datasets.Dataset,
    plugins: list[Plugin],
    tracker: Reporter,
    name: str | None,
    say: Callable[[str], None],
) -> tuple[RunConfig, datasets.Dataset, str]:
    """The configuration the tracker holds (``wandb agent``'s values), checked again, its data and its
    name; the tracker's configuration completed with the values it did not set."""
    reconciled = reconcile(config, tracker.injected_config, say)
    if reconciled.differs(config, DataConfig):
        data = load_data(reconciled)
    try:
        preflight.check(reconciled, data, plugins)
    except ConfigError:
        tracker.finish({"status": "failed"}, 2)
        raise
    tracker.update_config({k: v for k, v in reconciled.flat().items() if k not in tracker.injected_config})
    return reconciled, data, name or agent_run_name(reconciled, tracker)


def _context(config, data, local, trackers, say, name, resume_from) -> RunContext:
    """The model, loss, optimizer and batches ``config`` builds for ``data``, in a new :class:`RunContext`."""
    model = build.model_for(config, data.n_features, data.n_outputs, data.image_shape)
    has_validation = data.x_val is not None and len(data.x_val) > 0
    monitor = f"{'val' if has_validation else 'train'}_{data.task.primary_metric}"
    batches = nn.Batches(
        data.x_train, data.y_train, config.training.batch_size, seed=config.data.seed, order=config.training.batch_order
    )
    return RunContext(
        config=config,
        data=data,
        model=model,
        loss=build.loss_for(config, data.task),
        optimizer=build.optimizer_for(config),
        batches=batches,
        best=nn.BestWeights(model, monitor, data.task.goal),
        local=local,
        trackers=trackers,
        say=say,
        name=name,
        resuming=resume_from is not None,
        history=local.history,
    )


def _restore(run: RunContext) -> None:
    import optimizers
    from nn import checkpoint

    try:
        epoch, history, arrays = checkpoint.restore(
            run.folder / CHECKPOINT, model=run.model, batches=run.batches, best=run.best
        )
    except checkpoint.CheckpointError as error:
        raise ConfigError(str(error)) from None
    run.history[:] = history
    run.initial_epoch = epoch
    run.optimizer_state = optimizers.state_from_arrays(arrays)


def _header(run: RunContext) -> str:
    config, data, model = run.config, run.data, run.config.model
    n_val = 0 if data.x_val is None else len(data.x_val)
    units = build.output_units(config, data.n_outputs)
    shape = "-".join(map(str, [data.n_features, *model.hidden_sizes(), units]))
    if model.arch != "mlp":
        dense = "-".join(map(str, [*model.hidden_sizes(), units]))
        shape = (
            f"{model.arch} {'-'.join(map(str, model.conv_filters()))} filters {model.kernel_size}x"
            f"{model.kernel_size}, pool {model.pool}, dense {dense} ({run.model.n_params:,} parameters)"
        )
    epochs = config.training.epochs
    hidden = model.arch != "mlp" or model.hidden_sizes()  # a perceptron has no activation to name
    return (
        f"{run.name}: {shape} {model.activation if hidden else '(no hidden layer)'}, "
        f"{config.training.optimizer} lr {config.learning_rate:g}, batch {config.training.batch_size}, "
        f"{epochs} epoch{'s' if epochs != 1 else ''}, {run.loss.name} on {data.name} ({len(data.x_train)} train / "
        f"{n_val} val / {len(data.x_test)} test, from {data.source})"
    )


STOPS: tuple[tuple[type[BaseException], str, str, int], ...] = (
    (nn.Diverged, "diverged", "", EXIT_FAULT),
    (Terminated, "interrupted", "stopped by SIGTERM", EXIT_TERMINATED),
    (KeyboardInterrupt, "interrupted", "interrupted by the user (Ctrl-C)", EXIT_INTERRUPTED),
)


def guard(run: RunContext, phase: str, action: Callable[[], Any], always: bool = False) -> None:
    """Run one phase: skipped once the run has stopped (unless ``always``); divergence, Ctrl-C and
    SIGTERM end it with the run's status, message (naming the phase: "during testing", or "after
    testing" for a stop the phase held until it was done) and exit code set."""
    if run.status != "finished" and not always:
        return
    try:
        action()
    except BaseException as error:
        for kind, status, message, exit_code in STOPS:
            if isinstance(error, kind):
                if run.status == "finished":
                    when = f"{'after' if came_after(error) else 'during'} {phase}"
                    run.status = status
                    run.message = str(error) if kind is nn.Diverged else f"{message} {when}"
                    run.exit_code = exit_code
                    if kind is Terminated and run.in_sweep:
                        stopped_by_sweep(run, when)
                return
        raise


def stopped_by_sweep(run: RunContext, when: str) -> None:
    """Under ``wandb agent`` a SIGTERM is the sweep's stop (hyperband's early termination, "Stop" in the
    UI), not a preemption: the run ends as ``stopped`` with what it has, W&B's run is finished normally
    (so the sweep's controller learns from its metrics and does not requeue it) and the exit code is 0
    (the agent counts non-zero exits as crashes)."""
    run.status = "stopped"
    run.message = f"stopped by the sweep (SIGTERM from wandb agent) {when}"
    run.exit_code = 0


def before_training(run: RunContext, plugins: list[Plugin]) -> None:
    for plugin in plugins:
        plugin.before_training(run)


def fit(run: RunContext, plugins: list[Plugin], outside: Iterable[nn.Callback], progress: bool) -> None:
    """The loop, with every plugin's step wrapper and callbacks, in priority order."""
    initial_epoch = run.initial_epoch
    epochs = run.config.training.epochs
    if initial_epoch >= epochs:
        return
    from tracking.console import ConsoleProgress

    step = nn.default_step
    for plugin in plugins:
        step = plugin.wrap_step(step, run)
    ordered: list[tuple[int, int, nn.Callback]] = []

    def add(priority: int, callbacks: Iterable[nn.Callback]) -> None:
        ordered.extend((priority, len(ordered), callback) for callback in callbacks)

    for plugin in plugins:
        add(plugin.priority, plugin.callbacks(run))
    checkpoint = Checkpoint(run.folder / CHECKPOINT, run.model, run.best, run.history, checkpoint_metadata(run.config))
    add(Priority.RECORD, [run.local, run.best, checkpoint])
    add(Priority.REPORT, [ConsoleProgress()] if progress else [])
    add(Priority.REPORT + 1, run.trackers)
    add(Priority.OUTSIDE, outside)
    callbacks = [callback for _, _, callback in sorted(ordered, key=lambda item: item[:2])]
    reg = run.config.regularisation
    nn.fit(
        run.model,
        run.loss,
        run.optimizer,
        run.batches,
        epochs=epochs,
        validation_data=run.data.validation,
        step=step,
        callbacks=callbacks,
        weight_decay=reg.weight_decay,
        l1=reg.l1,
        optimizer_state=run.optimizer_state,
        gradient_transforms=[transform for plugin in plugins for transform in plugin.gradient_transforms(run)],
        initial_epoch=initial_epoch,
    )


def score(run: RunContext, plugins: list[Plugin]) -> None:
    """The summary and, for a run whose training finished, the test pass. The training is done: a first
    SIGTERM or Ctrl-C (a job's time limit) waits until both are, then stops the run ("after testing",
    with the test scores); a second one stops it at once."""
    with deferred_stops():
        summarize(run, plugins)
        if run.status == "finished":
            test(run, plugins)


def summarize(run: RunContext, plugins: list[Plugin]) -> None:
    """What the run did: status, epochs, the best epoch and value, the last epoch's metrics, each plugin's part."""
    best, history = run.best, run.history
    summary: dict = {"status": run.status, "epochs_completed": len(history), "n_params": run.model.n_params}
    if run.data.val_source:  # "held out 10% of train (stratified, seed 0)", "given file val.csv", ...
        summary["val_source"] = run.data.val_source
    run.summary = summary  # filled in place: a second stop keeps what is there
    if best.best_epoch is not None:
        summary.update({f"best_{best.monitor}": best.best_value, "best_epoch": best.best_epoch})
    for plugin in plugins:
        summary.update(plugin.summarize(run))
    if history:
        summary["seconds_per_epoch"] = float(np.mean([h["seconds"] for h in history]))
        summary.update({k: v for k, v in history[-1].items() if k.startswith(("train_", "val_"))})


def test(run: RunContext, plugins: list[Plugin]) -> None:
    """The test set, predicted once; every plugin's report reads that evaluation."""
    data = run.data
    run.evaluations["test"] = metrics.score_split(
        run.model, run.loss, data.x_test, data.y_test, "test", class_names=data.class_names
    )
    for plugin in plugins:
        run.summary.update(plugin.after_training(run))


def save(run: RunContext) -> None:
    """With ``--save_model``, the model (for a run stopped before its test pass, its best weights; else
    the weights the test scores are of), then the summary."""
    run.summary["status"] = run.status
    if run.status != "finished":
        run.summary["message"] = run.message
    best = run.best
    if run.config.tracking.save_model:
        if run.status != "finished" and "test" not in run.evaluations and best.restore():
            run.summary["saved_model_epoch"] = best.best_epoch  # the last finite, best-validated weights
        if run.status == "finished" or best.best_epoch is not None:
            path = run.model.save(run.folder / "model.npz", model_metadata(run))
            run.summary["model_path"] = str(path)
            scalars = {k: v for k, v in run.summary.items() if isinstance(v, (int, float, str))}
            for reporter in run.reporters:
                reporter.log_model(path, scalars)
    run.local.write_summary(run.summary)


def model_metadata(run: RunContext) -> dict:
    """What a saved model needs to be used on its own: task, classes, the input it expects and how
    raw inputs are preprocessed (scaling, pixel permutation), and the configuration that trained it."""
    data = run.data
    return {
        "task": data.task,
        "dataset": data.name,
        "class_names": data.class_names,
        "loss": run.loss.name,
        "n_features": data.n_features,
        "image_shape": data.image_shape,
        "pixels": data.image_shape is not None and data.info.eight_bit,
        "preprocessing": data.preprocessing.to_dict(),
        "config": run.config.for_model_file(),
    }


def print_result(run: RunContext) -> None:
    """The test scores (those of a run stopped after its test pass too) and the best epoch, or why it stopped."""
    summary, monitor = run.summary, run.best.monitor
    tests = " | ".join(
        f"{key} {value:.4f}"
        for key, value in summary.items()
        if key.startswith("test_") and "/" not in key and isinstance(value, float)
    )
    if run.status == "finished":
        best = summary.get(f"best_{monitor}")
        best_text = (
            f" | best {monitor.replace('accuracy', 'acc')} {best:.4f} (epoch {summary['best_epoch']})"
            if best is not None and monitor.startswith("val_")
            else ""
        )
        run.say(tests.replace("accuracy", "acc") + best_text)
    else:
        if tests:
            run.say(tests.replace("accuracy", "acc"))
        run.say(f"stopped: {run.message}")


def draw(run: RunContext, plugins: list[Plugin]) -> None:
    for plugin in plugins:
        figures = plugin.figures(run)
        if figures:
            run.report_figures(figures)


def finish(run: RunContext) -> RunResult:
    """Close every reporter with the summary (a signal now still lets each of them close); say where
    the results are. The run folder's own summary is written last, so that it records a stop that came
    while W&B was closing; a stop that interrupts that write itself has it written once more."""
    where: list[str] = []

    def close(reporter) -> None:
        run.summary["status"] = run.status
        if run.status != "finished":
            run.summary["message"] = run.message
        where.append(reporter.finish(run.summary, run.exit_code))

    for tracker in run.trackers:
        guard(run, "finishing", functools.partial(close, tracker), always=True)
    closed = len(where)
    guard(run, "finishing", functools.partial(close, run.local), always=True)
    if len(where) == closed:  # the stop came during the local write itself
        guard(run, "finishing", functools.partial(close, run.local), always=True)
    hints = [] if run.in_fold else list(filter(None, where))  # k-fold's own run gives one hint
    for line in [f"results: {run.folder}", *hints]:
        run.say(line)
    return RunResult(run.status, run.history, run.summary, run.folder, run.message, run.model, run.exit_code)


def fail(run: RunContext) -> None:
    """An unexpected error (a full disk among them): every reporter is closed as failed before it
    propagates; one that cannot write (the same full disk) does not keep the others from closing."""
    for reporter in run.reporters:
        with contextlib.suppress(OSError):
            reporter.finish({**run.summary, "status": "failed"}, 1)


def resume_config(folder: Path, changes: dict) -> RunConfig:
    """The configuration of the run in ``folder``, with the ``changes`` ``--resume`` allows."""
    if not (folder / "config.json").is_file():
        raise ConfigError(f"--resume {folder}: not a run folder (no config.json there)")
    if not (folder / CHECKPOINT).is_file():
        raise ConfigError(
            f"--resume {folder}: no {CHECKPOINT} there: the run stopped before its first epoch ended, "
            "so there is nothing to continue; start it again"
        )
    other = sorted(set(changes) - set(RESUMABLE))
    if other:
        raise ConfigError(
            f"--resume continues the run with its own configuration; it takes only "
            f"{', '.join('--' + k for k in RESUMABLE)}, not {', '.join('--' + k for k in other)}"
        )
    try:
        saved = json.loads((folder / "config.json").read_text())
    except (ValueError, OSError) as error:
        raise ConfigError(f"--resume {folder}: config.json cannot be read ({error})") from None
    if not isinstance(saved, dict):
        raise ConfigError(f"--resume {folder}: config.json does not hold a configuration")
    recorded = saved.get("data_dir")
    if "data_dir" not in changes and isinstance(recorded, str) and not Path(recorded).expanduser().is_dir():
        raise ConfigError(
            f"--resume {folder}: the run's data folder {recorded} is not there from here (a relative path is "
            "read from where the run started); give --data_dir"
        )
    config = from_saved({**saved, **changes})
    _check_unchanged(folder, config)
    return config


def _check_unchanged(folder: Path, config: RunConfig) -> None:
    """The configuration ``config.json`` gives is the one the checkpoint was trained with (a checkpoint
    written before the fingerprint existed has none to compare: it resumes as before)."""
    from nn import checkpoint

    try:
        metadata = checkpoint.metadata(folder / CHECKPOINT)
    except checkpoint.CheckpointError as error:
        raise ConfigError(str(error)) from None
    if CONFIG_HASH in metadata and fingerprint(config.flat(), metadata.get(CONFIG_KEYS)) != metadata[CONFIG_HASH]:
        raise ConfigError(
            f"--resume {folder}: config.json was changed since {CHECKPOINT} was written, so the run would go on "
            f"with another configuration; put it back as it was (--resume changes only "
            f"{', '.join('--' + k for k in RESUMABLE)}), or start a new run"
        )
