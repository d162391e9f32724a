"""Chaos: many ``sweep.py`` workers on one study, one of them killed with SIGKILL every few seconds
and started again, on PostgreSQL (four workers) and SQLite (two). At the end every point of the grid
is complete exactly once (none lost, none completed twice), every killed trial was failed and run
again (a retry killed in turn too), no live worker's trial was failed, the report counts every trial
and says which trial ran each failed one again, and no process is left behind.

The figures are printed (``pytest -s`` shows them; docs/sweeps.md, "Reliability", quotes them): the
trials, the kills, the retries, and for each kill that hit a trial the time from the kill to that
trial being failed and queued again, and to its retry starting, read from the study's trial
timestamps.

``FFNN_CHAOS_HEARTBEAT`` and ``FFNN_CHAOS_KILLS`` change the heartbeat (default 5 s) and the number of
kills, e.g. one kill at sweep.py's default heartbeat (30 s):

    FFNN_CHAOS_HEARTBEAT=30 FFNN_CHAOS_KILLS=1 python -m pytest -s tests/test_chaos.py -k sqlite

The PostgreSQL variant needs the server of ``.ci/postgres.sh`` (FFNN_TEST_POSTGRES_URL), as
tests/test_workers.py does, and is skipped without it.
"""

import itertools
import os
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import optuna
import pytest

from sweeping.bookkeeping import retries
from sweeping.objective import FAIL_REASON
from tests.conftest import ROOT
from tests.test_sweeps import trials_csv, write_sweep
from tests.test_workers import POSTGRES, needs_postgres

FAIL, COMPLETE = optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE
HEARTBEAT = int(os.environ.get("FFNN_CHAOS_HEARTBEAT", "5"))
KILLS = os.environ.get("FFNN_CHAOS_KILLS")
RATES = [0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001]
INITS = ["random", "Xavier"]
ACTIVATIONS = ["ReLU", "tanh"]
GRID = set(itertools.product(RATES, INITS, ACTIVATIONS))  # 24 points
PAUSE = (2.0, 4.0)  # seconds between two kills, drawn uniformly
SETTLED = 4.0  # seconds: a worker started this long ago is killed rather than one still starting, if any
GUARD = 900  # seconds: a hang guard for the whole sweep, never a speed limit
DISTRIBUTIONS = {"x": optuna.distributions.CategoricalDistribution([1, 2])}
# two workers reach for the grid's last queued point: the one that comes second fails the trial it
# was given instead, with this reason and no configuration (sweeping.objective)
LOST_RACE = "another worker took the grid's last point first"


@dataclass
class Kill:
    at: datetime  # the wall clock, as the workers stamp their trials
    worker: int  # the process killed (its index in Workers.started)
    running: set[int]  # the trials running just after the kill that started before it: the victim's is one
    trial: int | None = None  # the victim's trial (None: it was between trials)
    queued_after: float = 0.0  # seconds from the kill to that trial failed and queued again
    retry_after: float = 0.0  # seconds from the kill to its retry starting (it waits its turn in the queue)


@dataclass
class Workers:
    """``n`` sweep.py workers on one study, a slot started again after each kill; every process
    started is kept (waited for at the end, and on a failure killed), with its log and start time."""

    command: list[str]
    folder: Path
    n: int
    slots: list = field(default_factory=list)
    started: list = field(default_factory=list)
    since: list = field(default_factory=list)

    def log(self, index: int) -> Path:
        return self.folder / f"worker{index}.log"

    def age(self, process: subprocess.Popen) -> float:
        return (datetime.now() - self.since[self.started.index(process)]).total_seconds()

    def start(self) -> subprocess.Popen:
        env = {**os.environ, "WANDB_SILENT": "true", "WANDB_DIR": str(self.folder), "OPENBLAS_NUM_THREADS": "1"}
        env["PYTHONUNBUFFERED"] = "1"  # a killed worker's log holds every line it printed
        with open(self.log(len(self.started)), "w") as log:  # the child keeps its own copy
            self.since.append(datetime.now())
            process = subprocess.Popen(self.command, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.started.append(process)
        return process

    def __enter__(self):
        self.slots = [self.start() for _ in range(self.n)]
        return self

    def __exit__(self, *exc) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait()


def chaos(storage: str, workers: int, kills: int, folder: Path, database: str) -> dict:
    """Run the grid with ``workers`` workers on ``storage``, killing one every few seconds ``kills``
    times (fewer if the sweep ends first), check what is left, print the figures and return them."""
    name = f"chaos{uuid.uuid4().hex[:10]}"  # a new study each time on the shared server
    path = write_sweep(
        folder / f"{name}.yaml",
        name=name,
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 2},  # about a second a trial on an idle core
            "learning_rate": {"values": RATES},
            "weight_init": {"values": INITS},
            "activation": {"values": ACTIVATIONS},
        },
    )
    command = [sys.executable, str(ROOT / "sweep.py"), str(path), "--storage", storage]
    command += ["--heartbeat", str(HEARTBEAT), "--wandb_mode", "disabled", "--output_dir", "o"]
    db = optuna.storages.RDBStorage(storage)  # its tables made here, before the workers race to

    def trials() -> list:
        try:
            return optuna.load_study(study_name=name, storage=db).get_trials(deepcopy=False)
        except KeyError:  # not created yet
            return []

    started = time.monotonic()
    try:
        with Workers(command, folder, workers) as pool:
            done = kill_and_restart(pool, kills, trials)
        final = {t.number: t for t in trials()}
    finally:
        db.engine.dispose()
    elapsed = time.monotonic() - started
    codes = [p.returncode for p in pool.started]
    logs = [pool.log(i).read_text() for i in range(len(pool.started))]
    assert sorted(k.worker for k in done) == [i for i, code in enumerate(codes) if code == -9]
    assert all(code in (0, -9) for code in codes), codes
    assert not [log for log in logs if "Traceback" in log], "".join(logs)[-3000:]
    assert not leftovers(path), "a process of the sweep is still alive"

    failed = {n for n, t in final.items() if t.state == FAIL and FAIL_REASON not in t.user_attrs}  # by a kill
    races = [t.user_attrs[FAIL_REASON] for t in final.values() if t.state == FAIL and FAIL_REASON in t.user_attrs]
    assert all(LOST_RACE in reason for reason in races), races  # no other failure: only a race, no configuration
    attribute(done, final, failed, logs, pool.since)
    hit = [k for k in done if k.trial is not None]
    assert failed == {k.trial for k in hit}  # every failed trial was a killed worker's: no live one's failed
    complete = [t for t in final.values() if t.state == COMPLETE]
    points = [(t.params["learning_rate"], t.params["weight_init"], t.params["activation"]) for t in complete]
    lost, twice = GRID - set(points), {p for p in points if points.count(p) > 1}
    unfinished = [n for n, t in final.items() if t.state not in (COMPLETE, FAIL)]
    again = retries(final.values())
    queued, delays = [k.queued_after for k in hit], [k.retry_after for k in hit]
    print(
        f"\nchaos on {database}: {workers} workers, heartbeat {HEARTBEAT} s, a {len(GRID)}-point grid, "
        f"{elapsed:.0f} s\n"
        f"  trials {len(final)} ({len(complete)} complete, {len(failed)} failed by a kill, {len(races)} by a race "
        f"for the last point), kills {len(done)} "
        f"({len(hit)} mid-trial), retries {len(again)}, lost {len(lost)}, completed twice {len(twice)}\n"
        f"  kill -> failed and queued again (s): {spread(queued)}\n"
        f"  kill -> retry starts (s): {spread(delays)}\n"
        + "\n".join(f"  kill at {k.at:%H:%M:%S.%f}: worker {k.worker}, trial {k.trial}" for k in done)
    )
    assert not lost and not twice and not unfinished, (lost, twice, unfinished)
    assert len(complete) == len(GRID) and set(again) == failed  # each killed trial run again, once
    report_counts_every_trial(folder, name, storage, final, failed, again)
    return {
        "database": database,
        "workers": workers,
        "heartbeat": HEARTBEAT,
        "trials": len(final),
        "kills": len(done),
        "kills_mid_trial": len(hit),
        "retries": len(again),
        "queued_after": queued,
        "retry_after": delays,
        "lost": len(lost),
    }


def kill_and_restart(pool: Workers, kills: int, trials) -> list[Kill]:
    """Once a trial runs: every few seconds, kill a worker (one past its start if any) and start
    another in its place, ``kills`` times or until no worker is left; then wait for them all."""
    rng = random.Random(0)
    done: list[Kill] = []
    deadline = time.monotonic() + GUARD
    while not any(t.state == optuna.trial.TrialState.RUNNING for t in trials()):
        assert time.monotonic() < deadline, "no worker started a trial"
        time.sleep(0.2)
    while len(done) < kills:
        time.sleep(rng.uniform(*PAUSE))
        alive = [i for i, p in enumerate(pool.slots) if p.poll() is None]
        if not alive:
            break  # the sweep is over
        settled = [i for i in alive if pool.age(pool.slots[i]) > SETTLED]  # past its start, likely training
        slot = rng.choice(settled or alive)
        victim = pool.slots[slot]
        victim.kill()
        victim.wait()
        at = datetime.now()
        running = {t.number for t in trials() if t.state == optuna.trial.TrialState.RUNNING and t.datetime_start <= at}
        done.append(Kill(at, pool.started.index(victim), running))
        pool.slots[slot] = pool.start()
    for process in pool.slots:
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    return done


def report_counts_every_trial(folder: Path, name: str, storage: str, final: dict, failed: set, again: dict) -> None:
    """``sweep.py report`` on the finished study: trials.csv and report.md count every trial, and
    report.md names the retry of every trial ``failed`` by a kill."""
    report = subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), "report", f"o/{name}", "--storage", storage],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    rows = trials_csv(folder / "o" / name)
    assert len(rows) == len(final) and sum(r["state"] == "complete" for r in rows) == len(GRID)
    text = (folder / "o" / name / "report.md").read_text()
    assert f"Trials: {len(final)} ({len(GRID)} complete" in text
    assert all(f"| {n} | {final[n].user_attrs.get('run_name', '')} | " in text for n in failed)
    assert all(f"run again as trial {again[n]} |" in text for n in failed) and "not queued again" not in text


def attribute(kills: list[Kill], final: dict, failed: set[int], logs: list[str], since: list[datetime]) -> None:
    """Set each kill's ``trial`` (the victim's) and its times. The victim's trial is a failed
    one running just after the kill that it started after its last trial ended (its log says which
    trials it ended), or one it printed as ended but was killed before recording; each failed trial
    is one kill's. The first assignment that satisfies every kill is taken."""
    options = []
    for kill in kills:
        lines = re.split(r"^\d+ trials: ", logs[kill.worker], flags=re.MULTILINE)[0]  # not the report's
        printed = [int(n) for n in re.findall(r"^trial +(\d+) ", lines, flags=re.MULTILINE)]
        late = {n for n in printed if n in failed}  # its line printed, the kill came before it was recorded
        ends = [final[n].datetime_complete for n in printed if n not in failed]
        last = max(ends, default=since[kill.worker])
        later = {n for n in kill.running & failed if final[n].datetime_start >= last}
        options.append([*sorted(late or later), None])

    def assign(i: int, taken: frozenset) -> list | None:
        if i == len(kills):
            return [] if taken == failed else None
        for choice in options[i]:
            if choice is None or choice not in taken:
                rest = assign(i + 1, taken | ({choice} - {None}))
                if rest is not None:
                    return [choice, *rest]
        return None

    chosen = assign(0, frozenset())
    assert chosen is not None, ("no kill explains every failed trial", kills, failed)
    again = retries(final.values())
    for kill, trial in zip(kills, chosen):
        kill.trial = trial
        if trial is not None and trial in again:  # failed (its datetime_complete) as its retry was queued
            kill.queued_after = round((final[trial].datetime_complete - kill.at).total_seconds(), 1)
            kill.retry_after = round((final[again[trial]].datetime_start - kill.at).total_seconds(), 1)


def spread(seconds: list[float]) -> str:
    """``8.1, 9.0, 12.3 (median 9.0, max 12.3)``, or ``-``."""
    if not seconds:
        return "-"
    return f"{', '.join(f'{s:.1f}' for s in seconds)} (median {statistics.median(seconds):.1f}, max {max(seconds):.1f})"


def leftovers(sweep_file: Path) -> list[int]:
    """Processes still alive (zombies aside) that this one started for the sweep (its children that run
    sweep.py) or that name the sweep file (a worker's own children, orphaned by its kill)."""
    mine, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        ours = int(parent) == mine and "sweep.py" in cmdline
        if state != "Z" and (ours or str(sweep_file) in cmdline):
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@needs_postgres
def test_four_postgresql_workers_killed_eight_times_finish_the_grid_once(tmp_path):
    chaos(POSTGRES, workers=4, kills=int(KILLS or 8), folder=tmp_path, database="PostgreSQL")


@pytest.mark.slow
def test_two_sqlite_workers_killed_again_and_again_finish_the_grid_once(tmp_path):
    chaos(f"sqlite:///{tmp_path / 'chaos.db'}", workers=2, kills=int(KILLS or 8), folder=tmp_path, database="SQLite")


def test_a_retry_of_a_retry_is_told_apart_from_the_first():
    """Optuna's retry callback keeps a chain's first trial as ``failed_trial``; each retry is mapped
    to the trial it runs again (the last of ``retry_history``), so the report says "run again as
    trial N" for every killed trial of a chain, and run_cap counts the configuration once."""
    chain = {"fixed_params": {"x": 1}}
    trials = [
        optuna.trial.create_trial(state=FAIL, params={"x": 1}, distributions=DISTRIBUTIONS, system_attrs=chain),
        optuna.trial.create_trial(
            state=FAIL, params={"x": 1}, distributions=DISTRIBUTIONS,
            system_attrs={**chain, "failed_trial": 0, "retry_history": [0]},
        ),
        optuna.trial.create_trial(
            state=COMPLETE, value=1.0, params={"x": 1}, distributions=DISTRIBUTIONS,
            system_attrs={**chain, "failed_trial": 0, "retry_history": [0, 1]},
        ),
    ]  # fmt: skip
    for number, trial in enumerate(trials):
        trial.number = number
    assert retries(trials) == {0: 1, 1: 2}


def taken_and_silent(tmp_path):
    """A SQLite study (heartbeat 5 s) whose one queued trial a worker took (through
    ``beat_before_taking``) and went silent with: no heartbeat thread, its first heartbeat set back
    an hour, so the trial is stale at once."""
    import sqlalchemy

    from sweeping.heartbeat import beat_before_taking
    from sweeping.storage import storage_for

    url = f"sqlite:///{tmp_path / 'queue.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="queue", storage=storage_for(url, heartbeat=5))
    study.enqueue_trial({"x": 1})
    beat_before_taking(study)
    assert study._pop_waiting_trial_id() is not None
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE trial_heartbeats SET heartbeat = datetime('now', '-1 hour')"))
    engine.dispose()
    return study


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_worker_killed_as_it_takes_a_queued_trial_leaves_a_trial_that_is_run_again(tmp_path):
    """What the chaos test found: Optuna marks a queued trial RUNNING and only then starts its
    heartbeat, so a worker killed in between left a RUNNING trial with no heartbeat, never stale: its
    grid point never ran. Taken through ``beat_before_taking``, the trial has its heartbeat first; once
    that is old the trial is failed and queued again like any other."""
    study = taken_and_silent(tmp_path)
    optuna.storages.fail_stale_trials(study)
    assert [t.state for t in study.get_trials()] == [FAIL, optuna.trial.TrialState.WAITING]


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_worker_killed_as_it_fails_a_silent_workers_trial_loses_nothing(tmp_path):
    """What the chaos test found next: Optuna failed a stale trial, then queued it again; a worker
    killed in between left it failed and never run. Now it is queued first: a worker killed right
    after leaves it RUNNING and stale, and the next one to look fails it, queueing it no second time."""
    study = taken_and_silent(tmp_path)
    study._storage._get_stale_trial_ids(study._study_id)  # found and queued again, then the worker is killed
    waiting = optuna.trial.TrialState.WAITING
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.RUNNING, waiting]
    optuna.storages.fail_stale_trials(study)  # the next worker to look
    optuna.storages.fail_stale_trials(study)
    final = study.get_trials()
    assert [t.state for t in final] == [FAIL, waiting]
    assert final[1].system_attrs["fixed_params"] == {"x": 1} and final[1].system_attrs["retry_history"] == [0]
