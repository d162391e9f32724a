"""``python sweep.py report SWEEP_DIR``: a sweep's whole report drawn again from its study, without
training anything.

A sweep's folder is ``OUTPUT_DIR/<study>/``; its study is the one of that name in the database the
sweep ran on: ``--storage`` / ``FFNN_SWEEP_STORAGE`` as for the sweep, by default the SQLite file
``OUTPUT_DIR/sweeps.db`` beside the folder. What the report needs beyond the trials (the metric, its
goal, the parameters and the options every trial shared, for the best configuration's command) is
kept in the study by every ``sweep.py`` run (:func:`record`); for a study from before that, give the
sweep file (``--sweep_file``, with the ``--set`` values it ran with).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import click

from experiments.cli import OneLineErrors, echo, fail
from experiments.errors import ConfigError

RECORD = "sweep_definition"  # the study's user attribute that holds it
HELP = """Draw the report of the sweep in SWEEP_DIR (OUTPUT_DIR/<study>/) again from its study, without
training anything: report.md, trials.csv, best.json, the figures and the CSV files.

\b
    python sweep.py report outputs/sweeps/sweep

The study is the one named like the folder, in the database the sweep ran on (--storage or
FFNN_SWEEP_STORAGE, else OUTPUT_DIR/sweeps.db beside the folder).
"""


def record(study, sweep_file, spec, overrides, data_dir, wandb_mode: str) -> None:
    """Keep in the study what :func:`definition` rebuilds the spec and the shared options from: the
    sweep file's mapping and name, and the worker's ``--set``, ``--data_dir`` and ``--wandb_mode``."""
    from optuna.exceptions import StorageInternalError
    from sqlalchemy.exc import SQLAlchemyError

    kept = {
        "file": str(sweep_file),
        "stem": Path(sweep_file).stem,
        "raw": spec.raw,
        "set": list(overrides),
        "data_dir": data_dir,
        "wandb_mode": wandb_mode,
    }
    kept = json.loads(json.dumps(kept, default=str))  # as the database will give it back
    with contextlib.suppress(StorageInternalError, SQLAlchemyError):  # a busy database costs the sweep nothing
        if study.user_attrs.get(RECORD) != kept:
            study.set_user_attr(RECORD, kept)


def definition(study, sweep_file, overrides) -> tuple:
    """``(spec, fixed)``, the sweep's spec and the options every trial shared: from ``sweep_file``
    when given, else from the study's :func:`record`."""
    from sweeping import spec as specs
    from sweeping.fixed_options import fixed_values

    if sweep_file:
        spec, literal = specs.load(sweep_file)
        return spec, fixed_values(spec, literal, overrides, None, "auto", sweep_file)
    kept = study.user_attrs.get(RECORD)
    if kept is None:
        raise ConfigError(
            f"the study {study.study_name!r} was run by a sweep.py that did not record its sweep file: "
            "give it with --sweep_file (and the --set values it ran with)"
        )
    spec, literal = specs.parse(kept["raw"], kept["stem"])
    fixed = fixed_values(spec, literal, kept["set"], kept["data_dir"], kept["wandb_mode"], kept["file"])
    return spec, fixed


def open_sweep(folder: Path, storage: str | None):
    """The study of the sweep folder ``folder`` (see the module's docstring), which must hold trials
    that ran; :class:`ConfigError` with one line otherwise. Never creates a database."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    from sweeping.bookkeeping import recorded
    from sweeping.masking import masked, scrub

    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a sweep folder (no such folder)")
    name = folder.resolve().name
    url = storage or f"sqlite:///{folder.resolve().parent / 'sweeps.db'}"
    database = url.removeprefix("sqlite:///").split("?")[0]
    if url.startswith("sqlite:///") and not Path(database).is_file():  # opening it would create it
        where = "beside it" if storage is None else f"at {database}"
        raise ConfigError(
            f"{folder}: not a sweep folder: no sweeps database {where} "
            "(a sweep run with --storage or FFNN_SWEEP_STORAGE: give the same here)"
        )
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        study = optuna.load_study(study_name=name, storage=url)
    except KeyError:
        raise ConfigError(f"{folder}: not a sweep folder: {masked(url)} holds no study {name!r}") from None
    except (SQLAlchemyError, ImportError, ValueError, RuntimeError) as error:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())[:200]
        raise ConfigError(scrub(f"--storage {url}: cannot open the study database ({reason})", url)) from None
    if not recorded(study):
        raise ConfigError(f"{folder}: the sweep {name!r} has no trials yet: nothing to report")
    return study


@click.command(cls=OneLineErrors, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("sweep_dir", type=click.Path(file_okay=False))
@click.option(
    "--storage",
    default=None,
    envvar="FFNN_SWEEP_STORAGE",
    show_envvar=True,
    help="The sweep's Optuna storage URL, as given to sweep.py; default: sqlite file SWEEP_DIR/../sweeps.db.",
)
@click.option(
    "--sweep_file",
    "--sweep-file",
    "sweep_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="The sweep file, for a study that does not hold it (run by an earlier sweep.py); it overrides the "
    "recorded one.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="With --sweep_file: the --set values the sweep ran with.",
)
def command(sweep_dir, storage, sweep_file, overrides):
    from experiments.preflight import check_writable
    from sweeping import report
    from sweeping.spec import SpecError

    folder = Path(sweep_dir)
    if overrides and not sweep_file:
        raise click.UsageError("--set goes with --sweep_file (a recorded sweep keeps its own)")
    try:
        study = open_sweep(folder, storage)
        spec, fixed = definition(study, sweep_file, overrides)
        check_writable(folder, "SWEEP_DIR")
    except (ConfigError, SpecError) as error:
        fail(str(error), 2)
    report.write(study, spec, fixed, folder, echo)
