"""One training run, as ``train.py`` and every sweep trial make it.

:func:`run` loads the data (unless given), reconciles the configuration with
W&B (under ``wandb agent`` W&B holds the sweep's values), builds the model,
loss and optimizer, trains with the callbacks (history, best weights, early
stopping, gradient norms, console, reporters), evaluates the best-validated
weights on the test set, draws the figures, saves the model, and closes
every reporter with the summary. Faults lose nothing already computed: a
diverged or interrupted (Ctrl-C, SIGTERM) run still writes its history and
summary, closes the W&B run with a failure code and, with ``save_model``,
saves the best weights. Every epoch leaves ``checkpoint.npz`` in the run
folder, from which :func:`resume` continues the run bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import datasets
import nn
from nn import metrics

from . import build, classify, preflight, regress
from .config import DATA_KEYS, DEFAULTS, conv_filters, convert, hidden_sizes, resolve, run_name
from .figures import convolution_figures, study_figures
from .preflight import ConfigError

KINDS = {"classification": classify, "regression": regress}  # task -> what a run of that task shows
CHECKPOINT = "checkpoint.npz"
RESUMABLE = ("epochs", "wandb_mode")  # what --resume may change; the rest is the run's own configuration


class Terminated(KeyboardInterrupt):
    """SIGTERM (timeout, Slurm, Kubernetes, ``wandb agent``): handled as Ctrl-C is, exit code 143."""


def stop_on_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread, as SIGINT raises KeyboardInterrupt."""
    import signal

    def handler(signum, frame):
        raise Terminated

    signal.signal(signal.SIGTERM, handler)


@dataclass
class RunResult:
    status: str  # finished, diverged, interrupted
    history: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    folder: Path | None = None
    message: str = ""
    model: object = None
    exit_code: int = 0


def load_data(config: dict) -> datasets.Dataset:
    """The data set of ``config``; a split the data cannot make is a :class:`ConfigError`."""
    try:
        return datasets.load(
            config["dataset"],
            config["data_dir"],
            config["val_fraction"],
            config["seed"],
            scaling=config["scaling"],
            permute_pixels=config["permute_pixels"],
        )
    except ValueError as error:
        raise ConfigError(f"{config['dataset']}: {error}") from None


def reconcile(config: dict, injected: dict, say) -> dict:
    """Under ``wandb agent`` W&B holds the sweep's values: use them, and say where the flags differ."""
    config = dict(config)
    for key, value in injected.items():
        if key in DEFAULTS:
            value = convert(key, value)
            if value != config[key]:
                say(f"note: W&B's config sets {key}={value!r} (the flags said {config[key]!r}); using W&B's")
                config[key] = value
    return config


class Checkpoint(nn.Callback):
    """Writes the run folder's ``checkpoint.npz`` after every epoch (see :mod:`nn.checkpoint`);
    placed after the history and best-weights callbacks, so it includes the epoch."""

    def __init__(self, path, model, best, history: list):
        self.path, self.model, self.best, self.history = path, model, best, history

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
        )


class BatchLoss(nn.Callback):
    """``--log_every N``: the training loss of every N-th mini-batch, against the running batch
    count (W&B step axis ``batch``), to every reporter (``batch_loss.csv`` locally)."""

    def __init__(self, every: int, reporters):
        self.every, self.reporters, self.count = every, reporters, 0

    def on_train_begin(self, info):
        self.count = info["n_batches"] * info["initial_epoch"]

    def on_batch_end(self, epoch, batch, n_batches, logs):
        self.count += 1
        if self.count % self.every == 0:
            row = {"batch": self.count, "epoch": epoch, "batch_loss": logs["loss"]}
            for reporter in self.reporters:
                reporter.log_batch(row)


def resume(folder, changes: dict, **kwargs) -> RunResult:
    """Continue the run in ``folder`` from its last checkpoint with its own configuration;
    ``changes`` may raise ``epochs`` or set ``wandb_mode`` (nothing else: the run would change)."""
    import json

    folder = Path(folder)
    if not (folder / CHECKPOINT).is_file() or not (folder / "config.json").is_file():
        raise ConfigError(
            f"--resume {folder}: no {CHECKPOINT} and config.json there (a run folder keeps them "
            "from its first completed epoch on)"
        )
    other = sorted(set(changes) - set(RESUMABLE))
    if other:
        raise ConfigError(
            f"--resume continues the run with its own configuration; it takes only "
            f"{', '.join('--' + k for k in RESUMABLE)}, not {', '.join('--' + k for k in other)}"
        )
    saved = json.loads((folder / "config.json").read_text())
    config = resolve({**{k: v for k, v in saved.items() if k in DEFAULTS and k != "preset"}, **changes})
    return run(config, resume_from=folder, **kwargs)


def _stoppers(config, model, best, has_validation, say) -> list:
    stoppers = []
    if config["patience"] and not has_validation:
        say("note: --patience needs a validation set (--val_fraction > 0); early stopping is off")
    elif config["patience"]:
        stoppers.append(nn.EarlyStopping(model, config["patience"], best=best))
    if config["min_delta"]:
        stoppers.append(nn.LossPlateau(config["min_delta"]))
    return stoppers


def run(
    config: dict, data=None, callbacks=(), group=None, tags=None, say=print, progress=True, resume_from=None, fold=None
) -> RunResult:
    """One training run: build, fit, evaluate, report. ``data`` is loaded from ``config`` when not given;
    ``resume_from`` continues the run folder's checkpoint (use :func:`resume`). With ``folds`` > 1
    in the configuration the run is a cross-validation (:mod:`experiments.crossval`), whose folds
    are runs with ``fold=(index, parent folder)``.

    A configuration that cannot run raises :class:`ConfigError` before anything
    starts. Exceptions other than divergence, Ctrl-C and SIGTERM propagate,
    after every reporter is closed with status ``failed``.
    """
    from tracking.console import ConsoleProgress
    from tracking.local import LocalRun

    config = {**DEFAULTS, **config}
    if config["folds"] > 1 and fold is None:
        from . import crossval

        return crossval.cross_validate(config, callbacks=callbacks, group=group, tags=tags, say=say, progress=progress)
    if data is None:
        data = load_data(config)
    preflight.check(config, data)
    reporters = []
    if config["wandb_mode"] != "disabled":
        from tracking.wandb_run import WandbRun

        wandb_run = WandbRun(
            project=config["wandb_project"],
            entity=config["wandb_entity"],
            name=run_name(config) + (f"/fold{fold[0]}" if fold else ""),
            config=config,
            mode=config["wandb_mode"],
            group=group,
            tags=tags,
            resume_id=LocalRun.wandb_id(resume_from),
            job_type="fold" if fold else None,
        )
        reconciled = reconcile(config, wandb_run.injected_config, say)
        if any(reconciled[k] != config[k] for k in DATA_KEYS):
            data = load_data(reconciled)
        config = reconciled
        try:
            preflight.check(config, data)
        except ConfigError:
            wandb_run.finish({"status": "failed"}, 2)
            raise
        wandb_run.update_config(config)
        if not fold:
            wandb_run.run.name = run_name(config)
        reporters.append(wandb_run)
    loss = build.loss_for(config, data.task)
    name = run_name(config)
    local = (
        LocalRun(fold[1], f"fold{fold[0]}", config)
        if fold
        else LocalRun(config["output_dir"], name, config, folder=resume_from)
    )
    reporters.insert(0, local)
    folder = local.folder
    for reporter in reporters[1:]:
        local.remember_wandb(getattr(reporter, "run_id", None))
    model = build.model_for(config, data.n_features, data.n_outputs, data.image_shape)
    optimizer = build.optimizer_for(config)
    order = "fixed" if not config["shuffle"] and config["order"] == "shuffled" else config["order"]
    batches = nn.Batches(data.x_train, data.y_train, config["batch_size"], seed=config["seed"], order=order)
    n_val = 0 if data.x_val is None else len(data.x_val)
    metric, mode = metrics.PRIMARY[data.task]
    best = nn.BestWeights(model, f"{'val' if n_val else 'train'}_{metric}", mode)
    stoppers = _stoppers(config, model, best, n_val > 0, say)
    initial_epoch, optimizer_state = 0, None
    if resume_from is not None:
        initial_epoch, optimizer_state = _restore(folder / CHECKPOINT, model, batches, best, local, stoppers)
        say(f"resuming {folder} after epoch {initial_epoch}")
    shape = "-".join(map(str, [data.n_features, *hidden_sizes(config), data.n_outputs]))
    if config["arch"] != "mlp":
        dense = "-".join(map(str, [*hidden_sizes(config), data.n_outputs]))
        shape = (
            f"{config['arch']} {'-'.join(map(str, conv_filters(config)))} filters {config['kernel_size']}x"
            f"{config['kernel_size']}, pool {config['pool']}, dense {dense} ({model.n_params:,} parameters)"
        )
    say(
        f"{name}: {shape} {config['activation']}, "
        f"{config['optimizer']} lr {config['learning_rate']:g}, batch {config['batch_size']}, "
        f"{config['epochs']} epochs, {loss.name} on {data.name} ({len(data.x_train)} train / {n_val} val / "
        f"{len(data.x_test)} test, from {data.source})"
    )
    for reporter in reporters:
        reporter.watch(best.monitor, mode)
    probe = data.x_train[:1024]  # a fixed sample for the dead-unit count
    all_callbacks = [
        nn.GradientNorms(model),
        nn.DeadUnits(model, probe),
        local,
        best,
        Checkpoint(folder / CHECKPOINT, model, best, local.history),
        *([ConsoleProgress()] if progress else []),
        *reporters[1:],
        *stoppers,
        *callbacks,
    ]
    if config["log_every"]:
        all_callbacks.insert(0, BatchLoss(config["log_every"], reporters))
    all_callbacks.insert(
        0,
        nn.LearningRateSchedule(
            optimizer,
            config["lr_schedule"],
            config["epochs"],
            config["warmup_epochs"],
            config["lr_step_epochs"],
            config["lr_gamma"],
        ),
    )
    step = _step(config, data)
    if config["augment"]:
        from .augment import Augmentation

        augmentation = Augmentation(data, config["augment"], config["seed"])
        all_callbacks.insert(0, augmentation)
        step = augmentation.step(step)
    kind = KINDS[data.task]
    pretrained = {}
    if resume_from is None:
        kind.before_training(data, model, folder, reporters)

    status, message, exit_code = "finished", "", 0
    try:
        if config["pretrain"] == "autoencoder" and resume_from is None:
            from .pretrain import pretrain

            pretrained = pretrain(model, data, config, reporters, say)
        if initial_epoch < config["epochs"]:
            nn.fit(
                model,
                loss,
                optimizer,
                batches,
                epochs=config["epochs"],
                validation_data=data.validation,
                step=step,
                callbacks=all_callbacks,
                weight_decay=config["weight_decay"],
                l1=config["l1"],
                optimizer_state=optimizer_state,
                initial_epoch=initial_epoch,
            )
    except nn.Diverged as error:
        status, message, exit_code = "diverged", str(error), 1
    except Terminated:
        status, message, exit_code = "interrupted", "stopped by SIGTERM", 143
    except KeyboardInterrupt:
        status, message, exit_code = "interrupted", "interrupted by the user (Ctrl-C)", 130
    except BaseException:
        for reporter in reporters:
            reporter.finish({"status": "failed"}, 1)
        raise

    history = local.history
    summary = {**_summary(status, history, model, best, stoppers), **pretrained}
    if status == "finished":
        summary.update(kind.test_report(model, loss, data, folder, reporters))
        if config["fgsm_eps"]:
            summary.update(classify.fgsm_report(model, loss, data, config["fgsm_eps"], folder, reporters))
        from tracking import plots

        figures = {"curves": plots.curves_figure(history, folder / "curves.png", title=name, metric=metric)}
        if config["arch"] != "mlp" and data.task == "classification":
            figures.update(convolution_figures(model, data, folder, name))
        if config["plots"]:
            figures.update(study_figures(model, data, folder, name))
        for reporter in reporters:
            reporter.log_figures(figures)
    if config["save_model"]:
        if status != "finished" and best.restore():
            summary["saved_model_epoch"] = best.best_epoch  # the last finite, best-validated weights
        if status == "finished" or best.best_epoch is not None:
            path = model.save(folder / "model.npz", model_metadata(data, loss, config))
            summary["model_path"] = str(path)
            for reporter in reporters:
                reporter.log_model(path, {k: v for k, v in summary.items() if isinstance(v, (int, float, str))})
    where = [line for line in (reporter.finish(summary, exit_code) for reporter in reporters) if line]
    _report(say, status, message, summary, folder, where, best.monitor)
    return RunResult(status, history, summary, folder, message, model, exit_code)


def _step(config, data):
    """The training step: the default, or adversarial training's (:mod:`experiments.adversarial`)."""
    if not config["adv_train"]:
        return nn.default_step
    from .adversarial import PixelSpace, adversarial_step

    return adversarial_step(config["fgsm_eps"], PixelSpace(data.preprocessing))


def model_metadata(data, loss, config) -> dict:
    """What a saved model needs to be used on its own: task, classes, the input it expects and how
    raw inputs are preprocessed (scaling, pixel permutation), and the configuration that trained it."""
    return {
        "task": data.task,
        "dataset": data.name,
        "class_names": data.class_names,
        "loss": loss.name,
        "n_features": data.n_features,
        "image_shape": data.image_shape,
        "preprocessing": data.preprocessing.to_dict(),
        "config": {k: v for k, v in config.items() if k not in ("wandb_entity", "data_dir", "output_dir")},
    }


def _restore(path, model, batches, best, local, stoppers) -> tuple[int, dict]:
    import optimizers
    from nn import checkpoint

    try:
        epoch, history, arrays = checkpoint.restore(path, model=model, batches=batches, best=best)
    except checkpoint.CheckpointError as error:
        raise ConfigError(str(error)) from None
    local.history[:] = history
    for stopper in stoppers:
        if isinstance(stopper, nn.LossPlateau) and history:
            stopper.previous = history[-1]["train_loss"]
    return epoch, optimizers.state_from_arrays(arrays)


def _summary(status, history, model, best, stoppers) -> dict:
    """What the run did: status, epochs, the best epoch and value, why it stopped, the last epoch's metrics."""
    summary = {"status": status, "epochs_completed": len(history), "n_params": model.n_params}
    if best.best_epoch is not None:
        summary.update({f"best_{best.monitor}": best.best_value, "best_epoch": best.best_epoch})
    for stopper in stoppers:
        if stopper.stopped_epoch is not None:
            summary["stopped_early_at_epoch"] = stopper.stopped_epoch
            summary["stopped_by"] = type(stopper).__name__
    if any(isinstance(s, nn.EarlyStopping) for s in stoppers) and best.best_epoch is not None:
        summary["restored_weights_of_epoch"] = best.best_epoch  # the stopper restored them; testing uses them
    summary.update({f"distinct_units/{k}": n for k, n in enumerate(nn.distinct_units(model))})
    if history:
        summary["seconds_per_epoch"] = float(np.mean([h["seconds"] for h in history]))
        summary.update({k: v for k, v in history[-1].items() if k.startswith(("train_", "val_"))})
    return summary


def _report(say, status, message, summary, folder, where, monitor) -> None:
    if status == "finished":
        tests = " | ".join(
            f"{key} {value:.4f}"
            for key, value in summary.items()
            if key.startswith("test_") and "/" not in key and isinstance(value, float)
        )
        best = summary.get(f"best_{monitor}")
        best_text = (
            f" | best {monitor.replace('accuracy', 'acc')} {best:.4f} (epoch {summary['best_epoch']})"
            if best is not None and monitor.startswith("val_")
            else ""
        )
        say(tests.replace("accuracy", "acc") + best_text)
    else:
        say(f"stopped: {message}")
    say(f"results: {folder}")
    for line in where:
        say(line)
