"""Run a W&B sweep file offline, with Optuna as the engine.

    python sweep.py sweep.yaml --count 60

reads the same file `wandb sweep` / `wandb agent` use online, runs its trials
in this process (the data set is loaded once), each as a normal train.py run
(W&B offline unless you are logged in, grouped under the sweep's name, plus
local results), and stores the study in a database: an interrupted sweep
resumes where it stopped, and several workers (processes or machines) can
share one sweep through the same --storage. At the end it prints the best
trials and the best configuration as a train.py command, and writes the
parallel-coordinates and parameter-importance figures under --output_dir.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from experiments import config as configuration
from experiments.cli import OneLineErrors, fail


@click.command(cls=OneLineErrors, help=__doc__,
               context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="Trials this worker runs (like `wandb agent --count`); default: until the sweep is done "
                   "(grid exhausted or run_cap reached).")
@click.option("--storage", default=None,
              help="Optuna storage URL shared by the workers, e.g. postgresql://user:pw@host/db; "
                   "default: sqlite file OUTPUT_DIR/sweeps.db.")
@click.option("--study", "study_name", default=None, help="Study name; default: the sweep's name (file stem).")
@click.option("--data_dir", "--data-dir", "data_dir", default=None, type=click.Path(file_okay=False),
              help="Passed to every trial (see train.py --help).")
@click.option("--output_dir", "--output-dir", "output_dir", default="outputs/sweeps", show_default=True,
              type=click.Path(file_okay=False), help="Sweep results: OUTPUT_DIR/<study>/ and the sqlite file.")
@click.option("--wandb_mode", "--wandb-mode", "wandb_mode", default="auto", show_default=True,
              type=configuration.Choice(configuration.WANDB_MODES), help="W&B mode of every trial.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Fix a train.py option for every trial, over the file (e.g. --set epochs=1).")
@click.option("--seed", default=0, show_default=True, help="Seed of the search (sampler).")
@click.option("--export", is_flag=True, help="Print the file for `wandb sweep` (registry values expanded) and exit.")
def cli(sweep_file, count, storage, study_name, data_dir, output_dir, wandb_mode, overrides, seed, export):
    import yaml

    import datasets
    from sweeping import engine, report
    from sweeping import spec as specs

    try:
        spec, literal = specs.load(sweep_file)
    except specs.SpecError as error:
        raise click.BadParameter(str(error), param_hint="'SWEEP_FILE'")
    if export:
        click.echo(yaml.safe_dump(spec.export(), sort_keys=False))
        return
    fixed = engine.fixed_values(spec, literal, overrides, data_dir, wandb_mode, sweep_file)
    study_name = study_name or spec.name
    study, url = engine.open_study(spec, study_name, storage, Path(output_dir), seed)
    for line in engine.describe(spec, study_name, study, url):
        click.echo(line)
    sweep_dir = Path(output_dir) / study_name
    try:
        interrupted = engine.optimize(study, spec, fixed, sweep_dir, count, click.echo)
    except (datasets.DataUnavailable, datasets.DataError) as error:
        fail(str(error), 1)
    if interrupted:
        click.echo("interrupted: the trial in progress will be re-run when the sweep resumes")
    report.write(study, spec, fixed, sweep_dir, click.echo)
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    cli()
