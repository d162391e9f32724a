"""Many sweep workers on one study: started together, killed, resumed, on SQLite and PostgreSQL.

The PostgreSQL tests need a server: ``.ci/run`` starts a throwaway one and sets
FFNN_TEST_POSTGRES_URL (``source .ci/postgres.sh`` does the same on a developer's
machine). Under CI they fail, rather than skip, when it is missing.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from types import SimpleNamespace

import optuna
import pytest

from sweeping import storage
from tests.conftest import ROOT
from tests.test_sweeps import write_sweep

POSTGRES = os.environ.get("FFNN_TEST_POSTGRES_URL")
if os.environ.get("CI") and not POSTGRES:
    raise RuntimeError("CI must run the PostgreSQL tests: .ci/run sets FFNN_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="no PostgreSQL server (source .ci/postgres.sh)")
GRID = [0.02, 0.01, 0.005, 0.002, 0.001, 0.0005]


def worker(path, storage, tmp_path, *extra):
    env = {**os.environ, "WANDB_SILENT": "true", "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "sweep.py"),
            str(path),
            "--storage",
            storage,
            "--wandb_mode",
            "disabled",
            "--output_dir",
            str(tmp_path / "o"),
            *map(str, extra),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def grid_sweep(tmp_path, epochs=3):
    name = f"w{uuid.uuid4().hex[:10]}"  # a new study each time on the shared server
    return write_sweep(
        tmp_path / f"{name}.yaml",
        name=name,
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": epochs},
            "num_layers": {"value": 1},
            "learning_rate": {"values": GRID},
        },
    ), name


def trials(storage, name):
    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def two_workers_at_once(tmp_path, storage):
    path, name = grid_sweep(tmp_path)
    processes = [worker(path, storage, tmp_path) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
        assert "Traceback" not in err
    done = [t for t in trials(storage, name) if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(t.params["learning_rate"] for t in done) == sorted(GRID)  # every point, none twice
    assert all("complete" in out for out, _ in outputs)  # both workers trained
    return path, name


@pytest.mark.slow
def test_two_workers_started_together_on_a_new_sqlite_database(tmp_path):
    two_workers_at_once(tmp_path, f"sqlite:///{tmp_path / 'new.db'}")


@pytest.mark.slow
@needs_postgres
@pytest.mark.parametrize("driver", ["postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"])
def test_every_postgresql_url_form_opens_a_study(driver, tmp_path):
    url = POSTGRES.replace("postgresql://", driver)
    path, name = grid_sweep(tmp_path, epochs=1)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "sweep.py"),
            str(path),
            "--storage",
            url,
            "--count",
            "1",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            str(tmp_path / "o"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len([t for t in trials(POSTGRES, name) if t.state == optuna.trial.TrialState.COMPLETE]) == 1


@pytest.mark.slow
@needs_postgres
def test_two_postgresql_workers_share_a_grid_and_a_third_resumes_it(tmp_path):
    path, name = two_workers_at_once(tmp_path, POSTGRES)
    # a third worker on the finished grid adds nothing and says so; with a random search it adds new trials
    third = worker(path, POSTGRES, tmp_path)
    out, _err = third.communicate(timeout=300)
    assert third.returncode == 0 and "resuming: 6 trials already run" in out
    random_path = write_sweep(
        tmp_path / f"{name}r.yaml",
        name=f"{name}r",
        method="random",
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 1},
            "num_layers": {"value": 1},
            "learning_rate": {"distribution": "log_uniform_values", "min": 0.0001, "max": 0.1},
        },
    )
    for _ in range(2):  # the same --seed twice: a resumed worker must still propose new configurations
        run = worker(random_path, POSTGRES, tmp_path, "--count", "3", "--seed", "0")
        assert run.wait(timeout=300) == 0, run.stderr.read()[-3000:]
    rates = [t.params["learning_rate"] for t in trials(POSTGRES, f"{name}r")]
    assert len(rates) == 6 and len(set(rates)) == 6


@pytest.mark.slow
@needs_postgres
def test_a_killed_workers_trial_is_failed_and_retried_by_the_survivor(tmp_path):
    path, name = grid_sweep(tmp_path, epochs=150)  # a few seconds a trial
    killed = killed_in_a_trial(worker(path, POSTGRES, tmp_path, "--heartbeat", "1"), name)
    survivor = worker(path, POSTGRES, tmp_path, "--heartbeat", "1")
    _out, err = survivor.communicate(timeout=900)
    assert survivor.returncode == 0, err[-3000:]
    assert_retried(name, killed)


@pytest.mark.slow
@needs_postgres
def test_a_worker_with_count_waits_for_a_dead_workers_trial_when_the_grid_has_nothing_else(tmp_path):
    """--count N: a worker whose grid has nothing queued but has trials of its N left waits, as one without
    --count does, and runs the dead worker's trial again (it used to leave, the trial left RUNNING)."""
    path, name = grid_sweep(tmp_path, epochs=150)
    first = worker(path, POSTGRES, tmp_path, "--count", len(GRID) - 1)
    assert first.wait(timeout=900) == 0
    killed = killed_in_a_trial(worker(path, POSTGRES, tmp_path, "--heartbeat", "1", "--count", 1), name)
    survivor = worker(path, POSTGRES, tmp_path, "--heartbeat", "1", "--count", 1)  # nothing queued: the grid is out
    out, err = survivor.communicate(timeout=900)
    assert survivor.returncode == 0, err[-3000:]
    assert f"for trial(s) {killed.number} of other workers" in out + err
    assert_retried(name, killed)


def killed_in_a_trial(victim, name):
    """``victim`` (a worker) killed once it is inside a trial with its parameters drawn; that trial."""
    deadline = time.time() + 120
    while time.time() < deadline:
        # A trial is RUNNING a moment before its parameters are written; killed in that moment it has none.
        running = [
            t
            for t in (trials(POSTGRES, name) if _exists(name) else [])
            if t.state == optuna.trial.TrialState.RUNNING and t.params
        ]
        if running:
            break
        time.sleep(0.2)
    assert running, "the victim never started a trial"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    return running[0]


def assert_retried(name, killed):
    """The killed trial failed, run again with its parameters to the end, and every grid point done."""
    final = {t.number: t for t in trials(POSTGRES, name)}
    assert final[killed.number].state == optuna.trial.TrialState.FAIL  # marked failed once its heartbeat went stale
    retries = [t for t in final.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert retries and retries[0].state == optuna.trial.TrialState.COMPLETE
    assert retries[0].params == killed.params == final[killed.number].params
    done = [t for t in final.values() if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(t.params["learning_rate"] for t in done) == sorted(GRID)


def _exists(name) -> bool:
    return name in optuna.get_all_study_names(storage=POSTGRES)


def test_worker_seeds_differ_between_starts_and_workers():
    first = storage.worker_seed(0, 0)
    assert storage.worker_seed(0, 5) != first  # a resumed study: the trials already run count
    assert storage.worker_seed(1, 0) != first


def watched(monkeypatch, rounds):
    """A :class:`StaleTrialWatch` (10 ms heartbeat) over a study whose look for stale trials raises,
    round after round, ``rounds`` (an exception, or None for a round that succeeds); it is stopped
    once they are over, or once its thread has ended. Returns whether the thread was alive to the end."""
    from sweeping.heartbeat import StaleTrialWatch

    left = list(rounds)
    over = threading.Event()

    def fail_stale_trials(study):
        if not left:
            over.set()
            return
        error = left.pop(0)
        if error is not None:
            raise error

    monkeypatch.setattr(optuna.storages, "fail_stale_trials", fail_stale_trials)
    storage = SimpleNamespace(get_heartbeat_interval=lambda: 0.01, url="postgresql://ann:s3cret@db.example/sweeps")
    with StaleTrialWatch(SimpleNamespace(_storage=storage)) as watch:
        deadline = time.monotonic() + 30
        while not over.is_set() and watch.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return watch.thread.is_alive()


def unreachable():
    """What Optuna raises when the database is down: its own error, caused by SQLAlchemy's."""
    from sqlalchemy.exc import OperationalError

    error = optuna.exceptions.StorageInternalError("An exception is raised during the commit.")
    error.__cause__ = OperationalError("SELECT 1", {}, ConnectionRefusedError("password s3cret refused by db.example"))
    return error


def test_the_stale_trial_watch_outlives_database_errors_and_says_once_when_they_persist(monkeypatch, capsys):
    assert watched(monkeypatch, [unreachable(), unreachable(), None])  # a hiccup: silent
    assert capsys.readouterr().err == ""
    assert watched(monkeypatch, [unreachable() for _ in range(8)] + [OSError("disk gone")])
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines  # once, not every heartbeat
    assert lines[0].startswith("warning: cannot look for trials of silent workers (OperationalError: ")
    assert "refused by db.example" in lines[0] and "s3cret" not in lines[0]


def test_the_stale_trial_watch_does_not_hide_a_bug(monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: seen.append(hook.exc_type))
    assert not watched(monkeypatch, [TypeError("a bug, not the database")])
    assert seen == [TypeError]


LOCK_HOLDER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from sweeping.locks import database_lock
url, log, who, hold = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
with database_lock(url, "lock-test"):
    open(log, "a").write(who + " in\\n")
    time.sleep(hold)
    open(log, "a").write(who + " out\\n")
"""


def lock_is_exclusive(url, tmp_path):
    log = tmp_path / "log.txt"
    first = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(ROOT), url, str(log), "first", "1.5"])
    deadline = time.time() + 60
    while not (log.exists() and "first in" in log.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(ROOT), url, str(log), "second", "0"])
    assert first.wait(timeout=60) == 0 and second.wait(timeout=60) == 0
    assert log.read_text().split("\n")[:4] == ["first in", "first out", "second in", "second out"]


@pytest.mark.slow
def test_the_grid_lock_excludes_a_second_worker_on_sqlite(tmp_path):
    lock_is_exclusive(f"sqlite:///{tmp_path / 'lock.db'}", tmp_path)


@pytest.mark.slow
@needs_postgres
def test_the_grid_lock_excludes_a_second_worker_on_postgresql(tmp_path):
    lock_is_exclusive(POSTGRES, tmp_path)


@pytest.mark.slow
@needs_postgres
def test_the_survivor_reruns_a_killed_workers_trial_when_nothing_else_is_queued(tmp_path):
    """Issue 29's case: a 2-point grid, two workers, one killed with SIGKILL mid-trial while the
    survivor's own (short) trial ends before the killed one's heartbeat goes stale. Nothing is
    queued then, so the survivor used to exit 0 leaving the killed trial RUNNING ("1 complete,
    1 running"); now it waits for the silent worker's heartbeat to go stale and runs that trial."""
    name = f"w{uuid.uuid4().hex[:10]}"
    path = write_sweep(
        tmp_path / f"{name}.yaml",
        name=name,
        parameters={"dataset": {"value": "digits"}, "num_layers": {"value": 1}, "epochs": {"values": [600, 40]}},
    )

    def running():
        return [t for t in (trials(POSTGRES, name) if _exists(name) else []) if t.state.name == "RUNNING"]

    def wait_for(n):
        deadline = time.time() + 180
        while time.time() < deadline and len(running()) < n:
            time.sleep(0.1)
        assert len(running()) >= n, f"{n} trial(s) never ran at once"

    victim = worker(path, POSTGRES, tmp_path, "--heartbeat", "3")  # stale 3-6 s after the kill
    wait_for(1)  # the victim holds the long trial (600 epochs, the grid's first point)
    survivor = worker(path, POSTGRES, tmp_path, "--heartbeat", "3")
    wait_for(2)  # the survivor holds the short one (40 epochs: done before a heartbeat goes stale)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    out, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err[-3000:]
    assert "waiting up to 9 s for trial(s) 0 of other workers" in out, out
    final = trials(POSTGRES, name)
    done = [t for t in final if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(t.params["epochs"] for t in done) == [40, 600]  # the sweep is finished
    assert not [t for t in final if t.state == optuna.trial.TrialState.RUNNING]
    report = (tmp_path / "o" / name / "report.md").read_text()
    assert "Trials: 3 (2 complete, 1 fail)" in report
    assert "run again as trial 2" in report
