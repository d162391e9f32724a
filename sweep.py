"""Run a W&B sweep file offline, with Optuna as the engine.

    python sweep.py sweep.yaml --count 60

reads the same file `wandb sweep` / `wandb agent` use online, runs its trials
in this process (the data set is loaded once), each as a normal train.py run
(W&B offline unless you are logged in, grouped under the sweep's name, plus
local results), and stores the study in a database: an interrupted sweep
resumes where it stopped, and several workers (processes or machines) can
share one sweep through the same --storage. At the end it prints the best
trials and the best configuration as a train.py command, and writes the
report under --output_dir: parallel coordinates, parameter importances and
correlations, the metric of every run against its start time.

python sweep.py report OUTPUT_DIR/<study> draws that report again from the
study, without training (see python sweep.py report --help).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from experiments import config as configuration
from experiments.cli import OneLineErrors, fail


@click.command(cls=OneLineErrors, help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=None,
    help="Trials this worker runs (like `wandb agent --count`); default: until the sweep is done "
    "(grid exhausted or run_cap reached).",
)
@click.option(
    "--storage",
    default=None,
    envvar="FFNN_SWEEP_STORAGE",
    show_envvar=True,
    help="Optuna storage URL shared by the workers, e.g. postgresql://user:pw@host/db "
    "(also postgresql+psycopg:// or postgresql+psycopg2://); default: sqlite file OUTPUT_DIR/sweeps.db. "
    "Give a URL with a password through the environment variable rather than the command line; its "
    "password is masked in everything printed and kept out of W&B's recorded arguments.",
)
@click.option("--study", "study_name", default=None, help="Study name; default: the sweep's name (file stem).")
@click.option(
    "--data_dir",
    "--data-dir",
    "data_dir",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    help="Passed to every trial; without it, the FFNN_DATA_DIR environment variable (see train.py --help).",
)
@click.option(
    "--output_dir",
    "--output-dir",
    "output_dir",
    default="outputs/sweeps",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Sweep results: OUTPUT_DIR/<study>/ and the sqlite file.",
)
@click.option(
    "--wandb_mode",
    "--wandb-mode",
    "wandb_mode",
    default="auto",
    show_default=True,
    type=configuration.Choice(configuration.WANDB_MODES),
    help="W&B mode of every trial.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Fix a train.py option for every trial, over the file (e.g. --set epochs=1).",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    help="Seed of the search; each worker mixes it with the trials already run and its process id, "
    "so resumed and added workers propose new configurations.",
)
@click.option(
    "--heartbeat",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Seconds between a worker's heartbeats; a trial whose worker has been silent for twice this "
    "is marked failed and run again by the next worker that starts a trial.",
)
def cli(sweep_file, count, storage, study_name, data_dir, output_dir, wandb_mode, overrides, seed, heartbeat):
    import datasets
    from experiments.preflight import ConfigError, check_writable
    from sweeping import engine, redraw, report
    from sweeping import spec as specs

    try:
        spec, literal = specs.load(sweep_file)
    except specs.SpecError as error:
        raise click.BadParameter(str(error), param_hint="'SWEEP_FILE'") from None
    if storage:  # W&B records the command line of every trial's run: never the password
        sys.argv[:] = [engine.scrub(argument, storage) for argument in sys.argv]
    fixed = engine.fixed_values(spec, literal, overrides, data_dir, wandb_mode, sweep_file)
    study_name = study_name or spec.name
    try:
        engine.check_name(study_name, "--study" if study_name != spec.name else f"{sweep_file}: name")
        check_writable(output_dir, "--output_dir")
        study, url = engine.open_study(spec, study_name, storage, Path(output_dir), seed, heartbeat)
    except ConfigError as error:
        fail(str(error), 2)
    redraw.record(study, sweep_file, spec, overrides, data_dir, wandb_mode)  # for `sweep.py report`
    for line in engine.describe(spec, study_name, study, url):
        click.echo(line)
    sweep_dir = Path(output_dir) / study_name
    try:
        interrupted = engine.optimize(study, spec, fixed, sweep_dir, count, click.echo)
    except (datasets.DataUnavailable, datasets.DataError) as error:
        fail(str(error), 1)
    if interrupted:
        click.echo("interrupted: the trial in progress is recorded as failed and will be run again")
    report.write(study, spec, fixed, sweep_dir, click.echo)
    if interrupted:
        sys.exit(interrupted)


def main() -> None:
    """``sweep.py report SWEEP_DIR ...`` draws a report again (unless ``report`` is a file here: a
    sweep file keeps its meaning); anything else runs a sweep file."""
    if sys.argv[1:2] == ["report"] and not Path("report").is_file():
        from sweeping.redraw import command

        command(sys.argv[2:], prog_name=f"{Path(sys.argv[0]).name} report")
    else:
        cli()


if __name__ == "__main__":
    main()
