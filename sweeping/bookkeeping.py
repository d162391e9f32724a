"""What a study's trials say about the sweep: which are queued (:func:`waiting`) or running
(:func:`running_elsewhere`), which failed trial was queued again as which (:func:`retries`), and
how many count towards run_cap (:func:`recorded`)."""

from __future__ import annotations


def waiting(study) -> list:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))


def running_elsewhere(study) -> list:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))


def retries(trials) -> dict[int, int]:
    """``{failed trial: its retry}`` for the failed trials that were queued again: after an
    interruption (the retry's ``retry_of``) or a worker that went silent (the last of the retry's
    ``retry_history``, :func:`sweeping.heartbeat.retry_of`; its ``failed_trial`` is the first of a
    chain of retries)."""
    again = {}
    for t in trials:
        history = t.system_attrs.get("retry_history") or [t.system_attrs.get("failed_trial")]
        for number in (t.user_attrs.get("retry_of"), history[-1]):
            if number is not None:
                again[int(number)] = t.number
    return again


def recorded(study) -> int:
    """Trials run or running: queued ones are not counted, nor failed ones queued again (their retry
    counts instead), so run_cap counts each configuration once."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    again = retries(trials)
    return len([t for t in trials if t.state != optuna.trial.TrialState.WAITING and t.number not in again])
