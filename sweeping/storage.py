"""The study's database: its URL (:func:`storage_url`), Optuna's storage of it with the workers'
heartbeats (:func:`storage_for`), and the study created or resumed in it (:func:`open_study`), so
an interrupted sweep resumes and several workers share one."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from experiments.errors import ConfigError
from sweeping import spec as specs
from sweeping.bookkeeping import recorded, waiting
from sweeping.heartbeat import beat_before_taking, queue_before_failing
from sweeping.locks import database_lock, take_queue_one_at_a_time
from sweeping.masking import masked, scrub

RETRIES = 8
RACES = ("already exists", "duplicate", "unique", "locked")  # what losing a creation race says


def _retrying(action):
    """``action()``, tried again after a short random pause when the database reports a race.

    Workers started at the same moment on a new database race to create its
    tables and the version row (SQLite: "table already exists", UNIQUE
    alembic_version; PostgreSQL: duplicate table or key). Whichever loses finds
    them in place on the next attempt.
    """
    import random

    from sqlalchemy.exc import DBAPIError

    for attempt in range(RETRIES):
        try:
            return action()
        except DBAPIError as error:
            text = str(error.orig).lower()
            if attempt == RETRIES - 1 or not any(word in text for word in RACES):
                raise
            time.sleep((0.2 + random.random()) * (attempt + 1) * 0.5)


def storage_url(url: str | None, output_dir: Path) -> str:
    """The study's database URL: ``url``, or a SQLite file ``OUTPUT_DIR/sweeps.db``."""
    if url is None:
        output_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(output_dir / 'sweeps.db').resolve()}"
    return url


def storage_for(url: str, heartbeat: int = 30):
    """An Optuna storage for ``url``. A worker that dies leaves its trial RUNNING; its heartbeat
    (every ``heartbeat`` seconds) stops, and once it is ``2 * heartbeat`` seconds old the next
    worker to look marks it failed and queues its parameters again, as often as its workers die
    (:func:`sweeping.heartbeat.queue_before_failing`)."""
    import optuna

    if not url.startswith(("sqlite", "postgresql", "mysql")):
        return url

    def make():
        storage = optuna.storages.RDBStorage(url, heartbeat_interval=heartbeat, grace_period=2 * heartbeat)
        queue_before_failing(storage)
        return storage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _retrying(make)


def worker_seed(seed: int, n_recorded: int) -> int:
    """The sampler's seed for this worker: ``--seed`` mixed with the number of trials the study
    already holds and this process's id, so a resumed or added worker never replays the
    proposals of another (the training of each trial stays deterministic for its configuration)."""
    import numpy as np

    return int(np.random.SeedSequence([seed, n_recorded, os.getpid()]).generate_state(1)[0])


def _hint(url: str) -> str:
    """The usual fix of a storage URL SQLAlchemy cannot take, for the error's end."""
    if url.startswith("postgres://"):
        return "; SQLAlchemy spells the scheme postgresql://"
    if "://" not in url:
        return f"; a database file is given as sqlite:///{url}"
    return ""


def open_study(spec, study_name: str, storage: str | None, output_dir: Path, seed: int, heartbeat: int = 30):
    """Create or resume the study (a grid enqueues its points once); returns ``(study, storage URL)``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trial outcomes are reported by our own lines
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    from sqlalchemy.exc import SQLAlchemyError

    url = storage_url(storage, output_dir)

    def create():
        return optuna.create_study(
            study_name=study_name,
            storage=storage_for(url, heartbeat),
            direction=spec.direction,
            pruner=spec.pruner(),
            load_if_exists=True,
        )

    try:
        study = _retrying(create)
    except (SQLAlchemyError, ImportError) as error:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())[:200]
        raise ConfigError(
            scrub(f"--storage {url}: cannot open the study database ({reason}){_hint(url)}", url)
        ) from None
    study.sampler = spec.sampler(worker_seed(seed, recorded(study)))
    beat_before_taking(study)
    if url.startswith("sqlite"):
        take_queue_one_at_a_time(study, url, study_name)
    if spec.method == "grid":
        with database_lock(url, study_name):  # workers started together must not both enqueue the grid
            if not study.get_trials(deepcopy=False):
                for params in spec.grid():
                    study.enqueue_trial(params, user_attrs={"queued": True}, skip_if_exists=True)
    return study, url


def describe(spec, study_name: str, study, url: str) -> list[str]:
    """The sweep's first lines on the console: what it runs and where its study is (the URL masked)."""
    import optuna

    size = spec.grid_size()
    trials = study.get_trials(deepcopy=False)
    running = sum(t.state == optuna.trial.TrialState.RUNNING for t in trials)
    done = sum(t.state not in (optuna.trial.TrialState.WAITING, optuna.trial.TrialState.RUNNING) for t in trials)
    return [
        f"{specs.title(study_name)}: {spec.engine}; metric {spec.metric} ({spec.goal})"
        + (f"; hyperband -> successive halving (min_iter {spec.min_iter}, eta {spec.eta})" if spec.min_iter else "")
        + (f"; grid of {size}" if size else "")
        + (f"; run_cap {spec.run_cap}" if spec.run_cap else ""),
        f"storage {masked(url)}"
        + (f" (resuming: {done} trials already run, {len(waiting(study))} queued)" if done else "")
        + (f" ({running} trial(s) marked running: other workers', or a dead worker's to run again)" if running else ""),
    ]
