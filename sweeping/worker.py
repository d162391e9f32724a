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
    redraw.record(study, sweep_file, spec, overrides, data_dir, wandb_mode)  # for `sweep.py report`
    say("\n".join(describe(spec, study_name, study, url)))
    sweep_dir = Path(output_dir) / study_name
    try:
        interrupted = engine.optimize(study, spec, fixed, sweep_dir, count, say)
        if interrupted:
            say("interrupted: a trial that was in progress, if any, is recorded as failed and will be run again")
        report.write(study, spec, fixed, sweep_dir, say)
    except Exception as error:
        lost = database_error_in(error)
        if lost is None:
            raise
        raise Fault(
            f"the sweep's database stopped answering ({scrub(str(lost).splitlines()[0], url)}); the trials it "
            "recorded are kept: run the same command again to go on"
        ) from None
    return interrupted


def database_error_in(error: BaseException) -> BaseException | None:
    """The database error in ``error``'s chain, if any: Optuna may raise another error while it handles
    the one of a lost connection (an ``UnboundLocalError`` in its trial bookkeeping, as of Optuna 4)."""
    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import SQLAlchemyError

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (StorageInternalError, SQLAlchemyError)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
