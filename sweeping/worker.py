"""One ``sweep.py`` worker, start to end: read the sweep file, check it, open (or join) its study,
run this worker's trials, write the report."""

from __future__ import annotations

from pathlib import Path

import click

from experiments.errors import Fault
from sweeping.masking import scrub


def work(
    sweep_file,
    count: int | None,
    storage: str | None,
    study_name: str | None,
    data_dir: str | None,
    output_dir: str,
    wandb_mode: str,
    overrides,
    from_sweep: str | None,
    seed: int,
    heartbeat: int,
    say=click.echo,
) -> int:
    """Run the sweep ``sweep_file`` as ``sweep.py``'s options say; returns 0, or the exit code of the
    signal that stopped it (the trial in progress is then queued again). A sweep file that cannot be
    mapped is a ``click.BadParameter``; a definition that cannot run (an unknown metric, a study of
    another definition, an unwritable folder) a :class:`ConfigError`, both before any trial."""
    from sweeping import definition, engine, redraw, report
    from sweeping import spec as specs
    from sweeping.fixed_options import fixed_values
    from sweeping.storage import describe

    try:
        spec, literal = specs.load(sweep_file)
    except specs.SpecError as error:
        raise click.BadParameter(str(error), param_hint="'SWEEP_FILE'") from None
    if from_sweep:
        overrides = (f"from_sweep={from_sweep}", *overrides)
    fixed = fixed_values(spec, literal, overrides, data_dir, wandb_mode, sweep_file)
    study, url, study_name = definition.open_checked(
        spec, fixed, sweep_file, study_name, from_sweep, storage, output_dir, seed, heartbeat
    )
    try:
        redraw.record(study, sweep_file, spec, overrides, data_dir, wandb_mode)  # for `sweep.py report`
        say("\n".join(describe(spec, study_name, study, url)))
        sweep_dir = Path(output_dir) / study_name
        interrupted = engine.optimize(study, spec, fixed, sweep_dir, count, say)
        if interrupted:
            say("interrupted: a trial that was in progress, if any, is recorded as failed and will be run again")
        report.write(study, spec, fixed, sweep_dir, say)
    except Exception as error:
        lost = connection_lost_in(error)
        if lost is None:
            raise
        reason = (str(getattr(lost, "orig", None) or lost).strip().splitlines() or [type(lost).__name__])[0]
        raise Fault(
            f"the sweep's database stopped answering ({scrub(reason, url)}); the trials it recorded are kept: "
            "run the same command again to go on"
        ) from None
    return interrupted


def connection_lost_in(error: BaseException) -> BaseException | None:
    """The innermost lost-connection error in ``error``'s chain (SQLAlchemy's ``OperationalError``,
    ``InterfaceError`` or ``DisconnectionError``), if any: Optuna may raise another error while it
    handles it (an ``UnboundLocalError`` in its trial bookkeeping, as of Optuna 4). Other database
    errors (a schema that does not match) are not a connection lost: running again would not help. An
    error raised ``from None`` (a one-line ``ConfigError``) ends the chain."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    found, seen = None, error
    while seen is not None:
        if isinstance(seen, (OperationalError, InterfaceError, DisconnectionError)):
            found = seen
        seen = seen.__cause__ if seen.__cause__ is not None else None if seen.__suppress_context__ else seen.__context__
    return found
