"""Run a W&B sweep file offline, with Optuna as the engine.

    python sweep.py sweep.yaml --count 60

reads the same file `wandb sweep` / `wandb agent` use online, runs its trials
in this process (the data set is loaded once), each as a normal train.py run
(W&B offline unless you are logged in, in the W&B group named after the study,
plus local results), and stores the study in a database: an interrupted sweep
resumes where it stopped (with the same definition), and several workers can
share one sweep through the same --storage. At the end it prints the best
trials and the top configurations as commands, and writes the report under
--output_dir: report.md with its figures, top.json for train.py --from_sweep.

python sweep.py report OUTPUT_DIR/<study> draws that report again from the
study, without training (see python sweep.py report --help); python sweep.py
wandb-report builds the assignment's W&B Report (see its --help).
"""

from __future__ import annotations

import os

# NumPy reads this once, at import: where the kernel defragments synchronously for transparent huge pages
# (transparent_hugepage/defrag = madvise, a common default), each new array of the training set's size
# stalls (0.44 s against 0.08 s to convert Fashion-MNIST to float32 on this project's machine; bench/REPORT.md).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import importlib
import sys
from pathlib import Path

import click

from experiments import options, sections
from experiments.cli import OneLineErrors, echo, fail_on


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
@click.option(
    "--study", "study_name", default=None, help="Study name, also its trials' W&B group; default: the sweep's name."
)
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
    type=options.Choice(sections.WANDB_MODES),
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
    "--from_sweep",
    "--from-sweep",
    "from_sweep",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    help="Start every trial from a configuration of your sweep in this folder (OUTPUT_DIR/<study>): a file that "
    "sweeps --preset (ce_vs_mse.yaml, mnist_top3.yaml) sweeps --rank 1, 2, ... instead; the study is "
    "NAME_from_<folder> unless --study names it.",
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
    "is marked failed and run again: by a worker that is training, starting, or about to leave a sweep it "
    "would otherwise finish (it waits up to three heartbeats for the other workers' trials).",
)
def cli(**options):
    from sweeping.worker import work

    if options["storage"]:  # W&B records the command line of every trial's run: never the password
        from sweeping.masking import scrub

        sys.argv[:] = [scrub(argument, options["storage"]) for argument in sys.argv]
    try:
        interrupted = work(**options, say=echo)
    except (Exception, KeyboardInterrupt) as error:
        fail_on(error, before="before the sweep started")
    if interrupted:
        sys.exit(interrupted)


SUBCOMMANDS = {"report": "sweeping.redraw", "wandb-report": "sweeping.wandb_report"}  # each module's `command`


def main() -> None:
    """``sweep.py report ...`` / ``sweep.py wandb-report ...`` run that subcommand (unless a file of that
    name is here: a sweep file keeps its meaning); anything else runs a sweep file."""
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name in SUBCOMMANDS and not Path(name).is_file():
        command = importlib.import_module(SUBCOMMANDS[name]).command
        command(sys.argv[2:], prog_name=f"{Path(sys.argv[0]).name} {name}")
    else:
        cli()


if __name__ == "__main__":
    main()
