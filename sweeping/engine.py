"""The offline sweep engine: W&B sweep files run as Optuna studies.

Each trial is a normal :func:`experiments.run.run` (W&B offline unless
logged in, grouped under the sweep, local results), the data set loaded once
per worker (:class:`DataCache`). Optuna's pruner hears the sweep metric every
epoch (:class:`Pruning`); Ctrl-C ends the current trial at the next
mini-batch and re-queues it (:class:`Interrupt`); :class:`Stopper` honours
run_cap, metric.target and the end of a grid. The study lives in a database
(:func:`storage_for`), so an interrupted sweep resumes and several workers
share one.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import signal
import threading
import time
import warnings
from pathlib import Path

import click

import nn
from experiments import config as configuration
from experiments.run import ConfigError, load_data, run
from sweeping import spec as specs


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


STORAGE_ENV = "FFNN_SWEEP_STORAGE"  # the storage URL without it on the command line (ps, shell history)
MASK = "***"


def masked(url: str) -> str:
    """``url`` as it may be printed or logged: the password (``user:PASSWORD@`` and ``password=`` in
    the query) replaced by ``***``."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    text = url
    credentials, at, host = parts.netloc.rpartition("@")
    if at and ":" in credentials:
        user = credentials.partition(":")[0]
        text = text.replace(parts.netloc, f"{user}:{MASK}@{host}", 1)
    if "password" in parts.query.lower():
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() == "password" else v) for k, v in pairs], safe="*/")
        text = text.replace(parts.query, query, 1)
    return text


def secrets_of(url: str) -> list[str]:
    """The password(s) in ``url``, to be scrubbed from any text that quotes it."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() == "password" and v]
    return [s for secret in found for s in {secret, unquote(secret)}]


def scrub(text: str, url: str) -> str:
    """``text`` with every password of ``url`` (and the URL itself) replaced by its masked form."""
    text = text.replace(url, masked(url))
    for secret in secrets_of(url):
        text = text.replace(secret, MASK)
    return text


def check_name(name: str, where: str) -> None:
    """A sweep's name becomes a folder under ``--output_dir``: refuse one that would leave it."""
    parts = Path(name).parts
    unsafe = (
        not name
        or name.strip() != name
        or "/" in name
        or "\\" in name
        or any(part in (".", "..") for part in parts)
        or Path(name).is_absolute()
        or "\0" in name
    )
    if unsafe:
        raise ConfigError(
            f"{where} {name!r} cannot name a sweep: it becomes a folder under --output_dir, so it may not be "
            "empty or hold '/', '\\' or '..'"
        )


def storage_url(url: str | None, output_dir: Path) -> str:
    """The study's database URL: ``url``, or a SQLite file ``OUTPUT_DIR/sweeps.db``."""
    if url is None:
        output_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(output_dir / 'sweeps.db').resolve()}"
    return url


def storage_for(url: str, heartbeat: int = 30):
    """An Optuna storage for ``url``. A worker that dies leaves its trial RUNNING; its heartbeat
    (every ``heartbeat`` seconds) stops, and once it is ``2 * heartbeat`` seconds old the next
    worker to start a trial marks it failed and queues its parameters again (one retry)."""
    import optuna

    if not url.startswith(("sqlite", "postgresql", "mysql")):
        return url
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _retrying(
            lambda: optuna.storages.RDBStorage(
                url,
                heartbeat_interval=heartbeat,
                grace_period=2 * heartbeat,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
        )


def worker_seed(seed: int, n_recorded: int) -> int:
    """The sampler's seed for this worker: ``--seed`` mixed with the number of trials the study
    already holds and this process's id, so a resumed or added worker never replays the
    proposals of another (the training of each trial stays deterministic for its configuration)."""
    import numpy as np

    return int(np.random.SeedSequence([seed, n_recorded, os.getpid()]).generate_state(1)[0])


FAIL_REASON = "fail_reason"  # the trial's user attribute that says why it failed


def failed(trial, reason: str, started: float, say) -> TrialFailed:
    """A failed trial's reason, kept in the study (report.md lists it) and printed on its line."""
    reason = " ".join(str(reason).split())
    with contextlib.suppress(Exception):  # the reason must never cost the sweep
        trial.set_user_attr(FAIL_REASON, reason[:500])
    say(_line(trial, "failed", reason, time.perf_counter() - started))
    return TrialFailed(reason)


def make_objective(spec, fixed: dict, cache: DataCache, say, sweep_dir: Path, interrupt: Interrupt):
    import optuna

    varying = spec.varying

    def objective(trial):
        started = time.perf_counter()
        if spec.method == "grid" and "queued" not in trial.user_attrs:
            # another worker took the last combination between our check and this trial
            trial.study.stop()
            raise failed(trial, "another worker took the grid's last point first: nothing left to run", started, say)
        try:
            sampled = spec.suggest(trial)
        except ValueError as error:  # the study's recorded choices differ from the file's: no trial can run
            trial.study.stop()
            raise failed(trial, f"cannot propose a configuration ({error})", started, say) from None
        if interrupt.requested:  # Ctrl-C between two trials: this one runs when the sweep resumes
            trial.study.enqueue_trial(trial.params, user_attrs={"queued": True, "retry_of": trial.number})
            raise KeyboardInterrupt
        twin = _same_configuration(trial)
        if twin is not None:
            return _repeat(trial, twin, say)
        explicit = {**fixed, **sampled, "output_dir": str(sweep_dir / "runs")}
        name = "_".join(configuration.name_part(k, sampled[k]) for k in varying)  # until the options resolve
        try:
            config = configuration.resolve(explicit)
            name = configuration.sweep_run_name(config, varying)
            data = cache.get(config)
        except (click.BadParameter, ConfigError) as error:
            trial.set_user_attr("run_name", name)
            reason = error.format_message() if isinstance(error, click.BadParameter) else str(error)
            raise failed(trial, reason, started, say) from None
        trial.set_user_attr("run_name", name)
        pruning = Pruning(trial, spec.metric)
        try:
            result = run(
                config,
                data=data,
                callbacks=[pruning, interrupt],
                group=spec.name,
                tags=spec.tags,
                say=lambda line: None,
                progress=False,
                name=name,
            )
        except ConfigError as error:
            raise failed(trial, str(error), started, say) from None
        except (FloatingPointError, ValueError) as error:
            raise failed(trial, f"{type(error).__name__}: {error}", started, say) from None
        seconds = time.perf_counter() - started
        trial.set_user_attr("folder", str(result.folder))
        trial.set_user_attr("seconds", seconds)
        for key in ("best_val_accuracy", "test_accuracy", "epochs_completed"):
            if key in result.summary:
                trial.set_user_attr(key, result.summary[key])
        if result.status == "interrupted":
            trial.study.enqueue_trial(trial.params, user_attrs={"queued": True, "retry_of": trial.number})
            raise KeyboardInterrupt
        if result.status == "diverged":
            raise failed(trial, result.message, started, say)
        value = result.summary.get(spec.metric)
        if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
            shown = "nothing" if value is None else repr(value)
            raise failed(trial, f"the run reported {shown} for {spec.metric} (status {result.status})", started, say)
        if pruning.pruned_at is not None:
            say(_line(trial, f"pruned at epoch {pruning.pruned_at}", f"{spec.metric} {value:.4f}", seconds))
            raise optuna.TrialPruned()
        say(_line(trial, "complete", f"{spec.metric} {value:.4f}", seconds))
        return value

    return objective


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


def waiting(study) -> list:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))


def fixed_from_command(literal: list[str]) -> dict:
    """Literal train.py flags in the sweep's ``command`` (validated by the CLI itself)."""
    if not literal:
        return {}
    from experiments.cli import add_options, explicit_options

    command = add_options(click.Command("train.py", callback=lambda **_: None))
    return explicit_options(command.make_context("train.py", list(literal)))


def parse_set(values) -> dict:
    fixed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not configuration.is_option(key):
            raise click.BadParameter(f"{item!r}: use KEY=VALUE with a train.py option name", param_hint="'--set'")
        fixed[key] = configuration.convert(key, value)
    return fixed


def rank_for_preset(spec) -> None:
    """Trials that start from a sweep's configurations (``from_sweep``): a file that sweeps
    ``preset`` (this project's best three) sweeps ``rank`` over 1, 2, ... in its place, the
    student's own best ones; a constant preset is dropped (the sweep's best stands for it)."""
    from sweeping.spec import Parameter

    preset = spec.parameters.get("preset")
    if preset is None:
        return
    if preset.kind == "categorical" and "rank" not in spec.parameters:
        ranks = Parameter("rank", "categorical", list(range(1, len(preset.values) + 1)))
        spec.parameters = {
            ("rank" if k == "preset" else k): (ranks if k == "preset" else p) for k, p in spec.parameters.items()
        }
    else:
        spec.parameters.pop("preset")


def canonical(name: str, value):
    """``value`` as train.py reads it, when that is a plain value (``xavier`` -> ``Xavier``, the YAML
    string ``1e-3`` -> 0.001), so the study's choices and its identity agree; a per-layer list keeps
    the text Optuna holds for it. A value train.py would reject is a ``click.BadParameter``."""
    converted = configuration.plain(configuration.convert(name, value))
    return converted if converted is None or isinstance(converted, (str, int, float, bool)) else value


def fixed_values(spec, literal: list[str], overrides, data_dir, wandb_mode: str, sweep_file) -> dict:
    """The train.py options every trial shares; checks every swept key and value first, so a
    value train.py would reject fails here, before any trial. ``--set`` takes a key out of the search;
    ``--set from_sweep=DIR`` starts every trial from that sweep's configurations (:func:`rank_for_preset`)."""
    unknown = [name for name in spec.parameters if not configuration.is_option(name)]
    if unknown:
        raise click.BadParameter(
            f"{sweep_file}: {', '.join(unknown)} are not train.py options", param_hint="'SWEEP_FILE'"
        )
    for name, parameter in spec.parameters.items():
        parameter.values = [canonical(name, value) for value in parameter.values]
    forced = parse_set(overrides)
    for key in forced:
        spec.parameters.pop(key, None)
    if forced.get("from_sweep"):
        rank_for_preset(spec)
    fixed = {**fixed_from_command(literal), **forced, "wandb_mode": wandb_mode}
    for key, value in (("data_dir", data_dir), ("wandb_project", spec.project), ("wandb_entity", spec.entity)):
        if value is not None:
            fixed.setdefault(key, value)
    return fixed


def retries(trials) -> dict[int, int]:
    """``{failed trial: its retry}`` for the failed trials that were queued again: after an
    interruption (the retry's ``retry_of``) or a worker that went silent (Optuna's retry callback:
    ``failed_trial``)."""
    again = {}
    for t in trials:
        for number in (t.user_attrs.get("retry_of"), t.system_attrs.get("failed_trial")):
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


def requeue_stale(study) -> int:
    """Fail the trials whose worker went silent (heartbeat older than the grace period) and queue
    their parameters again; returns how many trials are queued now."""
    import optuna

    with contextlib.suppress(Exception):  # a database hiccup: the next call tries again
        optuna.storages.fail_stale_trials(study)
    return len(waiting(study))


def running_elsewhere(study) -> list:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))


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
        raise ConfigError(scrub(f"--storage {url}: cannot open the study database ({reason})", url)) from None
    study.sampler = spec.sampler(worker_seed(seed, recorded(study)))
    if url.startswith("sqlite"):
        take_queue_one_at_a_time(study, url, study_name)
    if spec.method == "grid":
        with database_lock(url, study_name):  # workers started together must not both enqueue the grid
            if not study.get_trials(deepcopy=False):
                for params in spec.grid():
                    study.enqueue_trial(params, user_attrs={"queued": True}, skip_if_exists=True)
    return study, url


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


def describe(spec, study_name: str, study, url: str) -> list[str]:
    import optuna

    size = spec.grid_size()
    done = len([t for t in study.get_trials(deepcopy=False) if t.state != optuna.trial.TrialState.WAITING])
    return [
        f"{specs.title(study_name)}: {spec.engine}; metric {spec.metric} ({spec.goal})"
        + (f"; hyperband -> successive halving (min_iter {spec.min_iter}, eta {spec.eta})" if spec.min_iter else "")
        + (f"; grid of {size}" if size else "")
        + (f"; run_cap {spec.run_cap}" if spec.run_cap else ""),
        f"storage {masked(url)}"
        + (f" (resuming: {done} trials already run, {len(waiting(study))} queued)" if done else ""),
    ]


def optimize(study, spec, fixed: dict, sweep_dir: Path, count: int | None, say) -> int:
    """Run this worker's trials (``count``, capped by run_cap; none when a grid is exhausted).
    Returns 0, or the exit code of the signal that stopped it (130 Ctrl-C, 143 SIGTERM; the
    trial in progress is then failed and queued again)."""
    interrupt = Interrupt()
    interrupt.install()
    objective = make_objective(spec, fixed, DataCache(), say, sweep_dir, interrupt)
    until_done, awaited = count is None, False
    requeue_stale(study)  # a trial whose worker died while no one was watching runs again here
    try:
        while True:
            budget = trials_left(study, spec, count)
            if budget == 0 and awaited:
                break
            if budget != 0:
                awaited = False
                with StaleTrialWatch(study):
                    study.optimize(
                        objective,
                        n_trials=budget,
                        catch=(TrialFailed, FloatingPointError, ValueError),
                        callbacks=[Stopper(spec, interrupt)],
                        gc_after_trial=False,
                    )
            if interrupt.requested or not until_done or target_reached(study, spec):
                break
            awaited = True
            if not await_silent_workers(study, say):
                break
    except KeyboardInterrupt:
        return interrupt.exit_code or 130
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


class StaleTrialWatch:
    """While this worker trains, look every heartbeat for trials whose worker died (their heartbeat
    older than the grace period, twice the heartbeat): Optuna marks them failed and queues their
    parameters again (:func:`storage_for`'s retry callback) at once, instead of when some worker
    next starts a trial, which a long trial could put off for minutes. The retry runs as the next
    trial of whichever worker is free first."""

    def __init__(self, study):
        self.study = study
        storage = study._storage
        self.interval = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="stale-trial-watch", daemon=True)

    def _watch(self) -> None:
        import optuna

        while not self.stop.wait(self.interval):
            with contextlib.suppress(Exception):  # a database hiccup: the next round tries again
                optuna.storages.fail_stale_trials(self.study)

    def __enter__(self):
        if self.interval:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
