"""Trials whose worker went silent (killed, its machine down): Optuna's heartbeats tell, and a
trial whose heartbeat is older than the grace period (twice the heartbeat, see
:func:`sweeping.storage.storage_for`) is failed and its parameters queued again, to run as the next
trial of whichever worker is free first. A worker looks for them when it starts and before it
leaves (:func:`requeue_stale`), while it trains (:class:`StaleTrialWatch`), and before it leaves a
sweep it would otherwise finish (:func:`await_silent_workers`)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time

from sweeping.bookkeeping import running_elsewhere, waiting
from sweeping.locks import database_lock
from sweeping.masking import scrub

PERSISTENT = 3  # rounds in a row a database error lasts before the watch says so (once)


def requeue_stale(study) -> int:
    """Fail the trials whose worker went silent (heartbeat older than the grace period) and queue
    their parameters again; returns how many trials are queued now."""
    import optuna

    with contextlib.suppress(Exception):  # a database hiccup: the next call tries again
        optuna.storages.fail_stale_trials(study)
    return len(waiting(study))


def queue_before_failing(storage) -> None:
    """Queue a silent worker's trial again before it is failed, not after. Optuna's
    ``fail_stale_trials`` (which every worker runs as it starts a trial, and the watches here)
    marks the trial FAIL and then runs a retry callback; a worker killed in between left the trial
    failed and never queued again, its grid point lost (tests/test_chaos.py). Here, as the stale
    trials are found, each still RUNNING and not yet queued again is queued, under the study's lock
    (so two workers looking at once queue it once); Optuna then fails it. A worker killed in between
    leaves it RUNNING and stale, and the next worker to look fails it without queueing it twice. The
    retry carries what Optuna's ``RetryHeartbeatStaleTrialCallback`` gives it (``failed_trial``,
    ``retry_history``), as often as its workers die."""
    import optuna

    find = storage._get_stale_trial_ids
    running = optuna.trial.TrialState.RUNNING

    def stale_and_queued_again(study_id: int) -> list[int]:
        stale = find(study_id)
        if stale:
            with database_lock(storage.url, f"stale trials of study {study_id}"):
                trials = storage.get_all_trials(study_id, deepcopy=False)
                retried = {t.system_attrs["retry_history"][-1] for t in trials if t.system_attrs.get("retry_history")}
                for trial_id in stale:
                    trial = storage.get_trial(trial_id)
                    if trial.state == running and trial.number not in retried:
                        storage.create_new_trial(study_id, template_trial=retry_of(trial))
        return stale

    storage._get_stale_trial_ids = stale_and_queued_again


def retry_of(trial):
    """A WAITING copy of ``trial`` (its parameters and attributes), as Optuna's retry callback makes."""
    import optuna

    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState.WAITING,
        params=trial.params,
        distributions=trial.distributions,
        user_attrs=trial.user_attrs,
        system_attrs={"failed_trial": trial.number, **trial.system_attrs, "retry_history": history},
    )


def beat_before_taking(study) -> None:
    """Take queued trials with their first heartbeat already recorded. Optuna marks a queued trial
    RUNNING and only then starts its heartbeat; a worker killed in between left a RUNNING trial
    without a heartbeat, which Optuna never finds stale: it stayed RUNNING for good, its grid point
    never ran, and every worker waited for it before leaving (tests/test_chaos.py). A heartbeat on a
    trial still queued is harmless (only RUNNING ones are looked at)."""
    import optuna

    storage = study._storage
    if not (hasattr(storage, "get_heartbeat_interval") and storage.get_heartbeat_interval()):
        return
    waiting_state, running = optuna.trial.TrialState.WAITING, optuna.trial.TrialState.RUNNING

    def take() -> int | None:  # Optuna's Study._pop_waiting_trial_id, with the heartbeat first
        for trial in storage.get_all_trials(study._study_id, deepcopy=False, states=(waiting_state,)):
            storage.record_heartbeat(trial._trial_id)
            try:
                if storage.set_trial_state_values(trial._trial_id, state=running):
                    return trial._trial_id
            except optuna.exceptions.UpdateFinishedTrialError:  # another worker took and finished it
                continue
        return None

    study._pop_waiting_trial_id = take


def await_silent_workers(study, say) -> bool:
    """Before a worker leaves a sweep it would otherwise finish: wait, at most one grace period
    (twice the heartbeat) and a heartbeat, for the trials other workers are running, and re-queue
    any whose worker has gone silent (killed, its machine down). True when there is a queued trial
    to run; False when the others finished or are alive (their heartbeats keep them fresh)."""
    storage = study._storage
    interval = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
    running = running_elsewhere(study)
    if not interval or not running:  # no heartbeats (an in-memory study), or no one else at work
        return bool(interval) and bool(requeue_stale(study))
    numbers = ", ".join(str(t.number) for t in running)
    say(f"waiting up to {3 * interval} s for trial(s) {numbers} of other workers (re-run here if their worker is gone)")
    deadline = time.monotonic() + 3 * interval
    while time.monotonic() < deadline:
        if requeue_stale(study):
            return True
        if not running_elsewhere(study):
            return False
        time.sleep(min(1.0, interval / 4))
    return bool(requeue_stale(study))


def database_errors() -> tuple[type[BaseException], ...]:
    """What a storage raises when its database cannot be reached or is busy: Optuna's wrapper of a
    failed session (:class:`optuna.exceptions.StorageInternalError`), SQLAlchemy's own errors, and
    the operating system's."""
    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import SQLAlchemyError

    return (StorageInternalError, SQLAlchemyError, OSError)


class StaleTrialWatch:
    """While this worker trains, look every heartbeat for trials whose worker died (their heartbeat
    older than the grace period, twice the heartbeat): Optuna marks them failed and queues their
    parameters again (:func:`sweeping.storage.storage_for`'s retry callback) at once, instead of
    when some worker next starts a trial, which a long trial could put off for minutes. The retry
    runs as the next trial of whichever worker is free first.

    A database error skips one round (the next tries again); one that lasts :data:`PERSISTENT`
    rounds in a row is said once on stderr. Any other error ends the watch, with its traceback."""

    def __init__(self, study):
        self.study = study
        storage = study._storage
        self.interval = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="stale-trial-watch", daemon=True)

    def _watch(self) -> None:
        import optuna

        errors = database_errors()
        failures = 0
        while not self.stop.wait(self.interval):
            try:
                optuna.storages.fail_stale_trials(self.study)
            except errors as error:  # a database hiccup: the next round tries again
                failures += 1
                if failures == PERSISTENT:
                    self._warn(error)
            else:
                failures = 0

    def _warn(self, error: BaseException) -> None:
        cause = error.__cause__ or error  # Optuna's StorageInternalError wraps the database's own
        reason = " ".join(str(getattr(cause, "orig", None) or cause).split())[:200]
        line = (
            f"warning: cannot look for trials of silent workers ({type(cause).__name__}: {reason}); "
            f"trying again every {self.interval} s"
        )
        url = getattr(self.study._storage, "url", None)
        print(scrub(line, url) if isinstance(url, str) else line, file=sys.stderr, flush=True)

    def __enter__(self):
        if self.interval:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
