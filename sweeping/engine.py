"""The offline sweep engine: a worker's trials of a W&B sweep file, run as an Optuna study.

:func:`optimize` runs this worker's trials (:mod:`sweeping.objective`) until its ``--count``, the
sweep's run_cap, metric.target or the end of a grid says stop (:class:`Stopper`), looking for the
trials of silent workers meanwhile (:mod:`sweeping.heartbeat`). The study lives in a database
(:mod:`sweeping.storage`), so an interrupted sweep resumes and several workers share one.
"""

from __future__ import annotations

from pathlib import Path

from experiments.errors import EXIT_INTERRUPTED
from sweeping.bookkeeping import recorded, waiting
from sweeping.heartbeat import StaleTrialWatch, await_silent_workers, requeue_stale
from sweeping.objective import DataCache, Interrupt, TrialFailed, make_objective


class Stopper:
    """Stops the study at run_cap trials, once the metric reaches its target, or on Ctrl-C."""

    def __init__(self, spec, interrupt: Interrupt):
        self.spec, self.interrupt = spec, interrupt

    def __call__(self, study, trial):
        import optuna

        if self.interrupt.requested or (self.spec.method == "grid" and not waiting(study)):
            study.stop()
        if self.spec.run_cap is not None and recorded(study) >= self.spec.run_cap:
            study.stop()
        if trial.state == optuna.trial.TrialState.COMPLETE and self.spec.reached(trial.value):
            study.stop()


def optimize(study, spec, fixed: dict, sweep_dir: Path, count: int | None, say) -> int:
    """Run this worker's trials (``count``, capped by run_cap; none when a grid is exhausted). A worker
    that has trials left to run but nothing queued (a grid's points all taken) waits, as one without
    ``count`` does, for the trials of other workers, and runs again any whose worker is gone.
    Returns 0, or the exit code of the signal that stopped it (130 Ctrl-C, 143 SIGTERM; the
    trial in progress is then failed and queued again)."""
    interrupt = Interrupt()
    interrupt.install()
    objective = make_objective(spec, fixed, DataCache(), say, sweep_dir, interrupt)
    ran, awaited = [0], False  # this worker's trials: --count N is N of them, a dead worker's retry among them

    def counted(study, trial) -> None:
        ran[0] += 1

    requeue_stale(study)  # a trial whose worker died while no one was watching runs again here
    try:
        while True:
            budget = trials_left(study, spec, None if count is None else count - ran[0])
            if budget == 0 and awaited:
                break
            if budget != 0:
                awaited = False
                with StaleTrialWatch(study):
                    study.optimize(
                        objective,
                        n_trials=budget,
                        catch=(TrialFailed, FloatingPointError, ValueError),
                        callbacks=[Stopper(spec, interrupt), counted],
                        gc_after_trial=False,
                    )
            done = count is not None and ran[0] >= count
            if interrupt.requested or done or target_reached(study, spec):
                break
            awaited = True
            if not await_silent_workers(study, say):
                break
    except KeyboardInterrupt:
        return interrupt.exit_code or EXIT_INTERRUPTED
    requeue_stale(study)  # before leaving: a dead worker's trial waits for the next worker, never lost
    return interrupt.exit_code


def trials_left(study, spec, count: int | None) -> int | None:
    """How many trials this worker may start now: ``count`` (None: no limit), capped by run_cap; 0
    when a grid has nothing queued."""
    if spec.run_cap is not None:
        left = spec.run_cap - recorded(study)
        count = 0 if left <= 0 else left if count is None else min(count, left)
    if spec.method == "grid" and not waiting(study):
        count = 0
    return count


def target_reached(study, spec) -> bool:
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return any(spec.reached(t.value) for t in complete)
