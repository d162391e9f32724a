"""One trial of a sweep: the objective Optuna calls (:func:`make_objective`) and the callbacks its
run hears.

Each trial is a normal :func:`experiments.run.run` (W&B offline unless logged in, local results),
the data set loaded once per worker (:class:`DataCache`). Its W&B group is the Optuna study's name
(the sweep's name, ``--study``, or ``<name>_from_<folder>`` with ``--from_sweep``): one study is one
group, so a quick try (``--study quick_try``) never mixes its runs into the real sweep's panels; its
tags are ``sweep`` and the sweep's name (:func:`sweeping.spec.tags`). Optuna's pruner
hears the sweep metric every epoch (:class:`Pruning`); Ctrl-C ends the current trial at the next
mini-batch and re-queues it (:class:`Interrupt`). A trial that cannot run fails with its reason
(:func:`failed`); one that repeats a finished configuration takes its result without training.
"""

from __future__ import annotations

import contextlib
import math
import signal
import time
from pathlib import Path

import click

import nn
from experiments import naming, presets
from experiments.errors import ConfigError
from experiments.run import run
from experiments.session import load_data


class Pruning(nn.Callback):
    """Reports the sweep metric to Optuna each epoch; stops the run when the pruner says so."""

    def __init__(self, trial, metric: str):
        self.trial, self.metric = trial, metric
        self.pruned_at: int | None = None

    def on_epoch_end(self, epoch, metrics):
        if self.metric in metrics and math.isfinite(metrics[self.metric]):
            self.trial.report(float(metrics[self.metric]), epoch)
            if self.trial.should_prune():
                self.pruned_at = epoch
                raise nn.StopTraining


class TrialFailed(RuntimeError):
    pass


class Interrupt(nn.Callback):
    """Ctrl-C or SIGTERM for a sweep: the first one ends the current trial at the next mini-batch;
    the trial is recorded as failed and queued again, so this or another worker runs it again.

    A KeyboardInterrupt raised at an arbitrary point (inside Optuna's storage
    writes, say) can leave the study's database session in a bad state, so the
    signal only sets a flag, checked where stopping is safe. A second signal
    stops at once. :attr:`exit_code` is 130 after Ctrl-C, 143 after SIGTERM.
    """

    def __init__(self):
        self.requested = False
        self.exit_code = 0

    def install(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handler)

    def _handler(self, signum, frame):
        if self.requested:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.requested = True
        self.exit_code = 128 + signum

    def on_batch_end(self, epoch, batch, n_batches, logs):
        if self.requested:
            raise KeyboardInterrupt


class DataCache:
    """One loaded data set per (dataset, data_dir, val_fraction, seed), shared by the worker's trials."""

    def __init__(self):
        self._cache = {}

    def get(self, config):
        key = config.data  # the data section: frozen, so hashable
        if key not in self._cache:
            self._cache[key] = load_data(config)
        return self._cache[key]


FAIL_REASON = "fail_reason"  # the trial's user attribute that says why it failed


def failed(trial, reason: str, started: float, say) -> TrialFailed:
    """A failed trial's reason, kept in the study (report.md lists it) and printed on its line."""
    reason = " ".join(str(reason).split())
    with contextlib.suppress(Exception):  # the reason must never cost the sweep
        trial.set_user_attr(FAIL_REASON, reason[:500])
    say(_line(trial, "failed", reason, time.perf_counter() - started))
    return TrialFailed(reason)


def make_objective(spec, fixed: dict, cache: DataCache, say, sweep_dir: Path, interrupt: Interrupt):
    """Optuna's objective for the sweep ``spec``: a trial trains its configuration (``fixed`` and
    the trial's choices) under ``sweep_dir/runs`` and returns the sweep metric; a trial that cannot
    run raises :class:`TrialFailed`, one the pruner stops ``optuna.TrialPruned``, and Ctrl-C
    ``KeyboardInterrupt`` after queueing the trial again. Each outcome is one line, through ``say``."""
    varying = spec.varying

    def objective(trial):
        started = time.perf_counter()

        def fail(reason: str) -> TrialFailed:
            return failed(trial, reason, started, say)

        sampled = _propose(trial, spec, interrupt, fail)
        twin = _same_configuration(trial)
        if twin is not None:
            return _repeat(trial, twin, say)
        explicit = {**fixed, **sampled, "output_dir": str(sweep_dir / "runs")}
        config, data, name = _prepare(trial, explicit, sampled, varying, cache, fail)
        pruning = Pruning(trial, spec.metric)
        try:
            result = run(
                config,
                data=data,
                callbacks=[pruning, interrupt],
                group=trial.study.study_name,  # not spec.name: a --study quick try stays out of the sweep's group
                tags=spec.tags,
                say=lambda line: None,
                progress=False,
                name=name,
            )
        except ConfigError as error:
            raise fail(str(error)) from None
        except (FloatingPointError, ValueError) as error:
            raise fail(f"{type(error).__name__}: {error}") from None
        seconds = time.perf_counter() - started
        _keep_summary(trial, result, seconds)
        return _outcome(trial, spec.metric, result, pruning, seconds, say, fail)

    return objective


def _propose(trial, spec, interrupt: Interrupt, fail) -> dict:
    """The trial's sampled parameters; the study stops when no trial can run (a grid taken by
    another worker, recorded choices that differ from the file's), and Ctrl-C between two trials
    queues this one again for when the sweep resumes."""
    if spec.method == "grid" and "queued" not in trial.user_attrs:
        # another worker took the last combination between our check and this trial
        trial.study.stop()
        raise fail("another worker took the grid's last point first: nothing left to run")
    try:
        sampled = spec.suggest(trial)
    except ValueError as error:  # the study's recorded choices differ from the file's: no trial can run
        trial.study.stop()
        raise fail(f"cannot propose a configuration ({error})") from None
    if interrupt.requested:  # Ctrl-C between two trials: this one runs when the sweep resumes
        trial.study.enqueue_trial(trial.params, user_attrs={"queued": True, "retry_of": trial.number})
        raise KeyboardInterrupt
    return sampled


def _prepare(trial, explicit: dict, sampled: dict, varying, cache: DataCache, fail) -> tuple:
    """``(config, data, run name)`` of the trial's run, its name kept in the trial; an option
    train.py would reject fails the trial."""
    name = "_".join(naming.name_part(k, sampled[k]) for k in varying)  # until the options resolve
    try:
        config = presets.resolve(explicit)
        name = naming.sweep_run_name(config, varying)
        data = cache.get(config)
    except (click.BadParameter, ConfigError) as error:
        trial.set_user_attr("run_name", name)
        reason = error.format_message() if isinstance(error, click.BadParameter) else str(error)
        raise fail(reason) from None
    trial.set_user_attr("run_name", name)
    return config, data, name


def _keep_summary(trial, result, seconds: float) -> None:
    """The run's folder, duration and headline scores, kept in the trial for the report."""
    trial.set_user_attr("folder", str(result.folder))
    trial.set_user_attr("seconds", seconds)
    for key in ("best_val_accuracy", "test_accuracy", "epochs_completed"):
        if key in result.summary:
            trial.set_user_attr(key, result.summary[key])


def _outcome(trial, metric: str, result, pruning: Pruning, seconds: float, say, fail):
    """The trial's value from its run's ``result``: interrupted (queued again), diverged or without
    a finite ``metric`` (failed), pruned, or complete; each said in one line."""
    import optuna

    if result.status == "interrupted":
        trial.study.enqueue_trial(trial.params, user_attrs={"queued": True, "retry_of": trial.number})
        raise KeyboardInterrupt
    if result.status == "diverged":
        raise fail(result.message)
    value = result.summary.get(metric)
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        shown = "nothing" if value is None else repr(value)
        raise fail(f"the run reported {shown} for {metric} (status {result.status})")
    if pruning.pruned_at is not None:
        say(_line(trial, f"pruned at epoch {pruning.pruned_at}", f"{metric} {value:.4f}", seconds))
        raise optuna.TrialPruned()
    say(_line(trial, "complete", f"{metric} {value:.4f}", seconds))
    return value


def _same_configuration(trial):
    """An earlier finished trial with identical parameters, if any.

    TPE proposes the same point again and again in an all-categorical space
    (the assignment's sweep repeated one configuration three times in 100
    trials). Training is deterministic for a given configuration and seed,
    so re-running it would only reproduce the recorded result.
    """
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    for other in trial.study.get_trials(deepcopy=False, states=done):
        if other.params == trial.params and "duplicate_of" not in other.user_attrs:
            return other
    return None


def _repeat(trial, twin, say):
    import optuna

    for key, value in twin.user_attrs.items():
        trial.set_user_attr(key, value)
    trial.set_user_attr("duplicate_of", twin.number)
    trial.set_user_attr("seconds", 0.0)
    for step, value in sorted(twin.intermediate_values.items()):
        trial.report(value, step)
    state = "pruned" if twin.state == optuna.trial.TrialState.PRUNED else "complete"
    value = twin.value if twin.value is not None else twin.intermediate_values[max(twin.intermediate_values)]
    say(_line(trial, f"same as #{twin.number}", f"{state}, {value:.4f}", 0.0))
    if twin.state == optuna.trial.TrialState.PRUNED:
        raise optuna.TrialPruned()
    return twin.value


def _line(trial, state, detail, seconds) -> str:
    name = trial.user_attrs.get("run_name", "")
    if state == "failed":  # the whole reason, after the run's name
        return f"trial {trial.number:>3} {state:<17} {seconds:6.1f}s  {name}: {detail}"
    return f"trial {trial.number:>3} {state:<17} {detail:<28} {seconds:6.1f}s  {name}"
