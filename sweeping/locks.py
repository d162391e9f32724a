"""Locks shared by every worker of a study: :func:`database_lock` around a step only one worker may
take at a time (enqueueing a grid, recording the identity), and :func:`take_queue_one_at_a_time` for
the queued trials of a SQLite study."""

from __future__ import annotations

import contextlib
import hashlib


def take_queue_one_at_a_time(study, url: str, name: str) -> None:
    """Make taking a queued trial exclusive between the workers of a SQLite study. SQLite ignores
    Optuna's ``SELECT ... FOR UPDATE``: two workers starting a trial at the same moment can both read
    the same WAITING trial before either marks it RUNNING, both train it, and the second fails on
    reporting it ("Cannot tell a COMPLETE trial"). Taking it under :func:`database_lock` (a file
    lock) serialises that step only; PostgreSQL's row lock already does."""
    take = study._pop_waiting_trial_id

    def exclusively():
        with database_lock(url, name):
            return take()

    study._pop_waiting_trial_id = exclusively


@contextlib.contextmanager
def database_lock(url: str, name: str):
    """A lock shared by every worker of the study: PostgreSQL's advisory lock (keyed by the study
    name), MySQL's GET_LOCK, or, for a SQLite file (one machine), an exclusive flock beside it."""
    import sqlalchemy

    if url.startswith("sqlite"):
        import fcntl

        path = url.split("///", 1)[1] + ".lock" if "///" in url else None
        if not path or path.startswith(":memory:"):
            yield
            return
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:7], "big")
    take, release = {
        "postgresql": (f"SELECT pg_advisory_lock({key})", f"SELECT pg_advisory_unlock({key})"),
        "mysql": (f"SELECT GET_LOCK('{key}', 600)", f"SELECT RELEASE_LOCK('{key}')"),
    }.get(url.split(":", 1)[0].split("+", 1)[0], (None, None))
    if take is None:
        yield
        return
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(take))
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text(release))
    finally:
        engine.dispose()
