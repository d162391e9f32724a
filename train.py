"""Train a neural network (NumPy, hand-written backprop) on Fashion-MNIST, MNIST or another registered data set.

Every run prints one line per epoch, logs to Weights & Biases (offline when
you are not logged in) and writes its history, figures, summary and an
every-epoch checkpoint under --output_dir. Choices are case-insensitive.
"""

from __future__ import annotations

import os

# NumPy reads this once, at import: where the kernel defragments synchronously for transparent huge pages
# (transparent_hugepage/defrag = madvise, a common default), each new array of the training set's size
# stalls (0.44 s against 0.08 s to convert Fashion-MNIST to float32 on this project's machine; bench/REPORT.md).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import gc
import sys

import click

from experiments.cli import OneLineErrors, add_options, echo, explicit_options, fail, fail_on


@click.command(
    cls=OneLineErrors,
    help=__doc__,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@add_options
@click.option(
    "--resume",
    type=click.Path(file_okay=False),
    default=None,
    help="Continue the run in this run folder from its last checkpoint, with its own configuration "
    "(only --epochs, --wandb_mode and --data_dir may be given beside it).",
)
@click.option(
    "--summary",
    "show_summary",
    is_flag=True,
    help="Print the network's layers (output shape and parameters of each, as Keras' model.summary) for "
    "these options and data set, and exit without training.",
)
@click.pass_context
def cli(ctx: click.Context, resume: str | None, show_summary: bool, **_: object) -> None:
    from experiments import presets
    from experiments.run import resume as resume_run
    from experiments.run import run
    from experiments.session import done_with_signals, stop_on_signals

    stop_on_signals()
    explicit = explicit_options(ctx)
    explicit.pop("resume", None)
    explicit.pop("show_summary", None)
    try:
        if show_summary:
            from experiments.build import summary_of

            echo(summary_of(presets.resolve(explicit)))
            sys.exit(0)
        members = [] if resume else presets.ensemble_members(explicit)
        if resume:
            result = resume_run(resume, explicit, say=echo)
        elif members:
            from experiments.ensemble import train_ensemble

            result = train_ensemble(explicit, members, say=echo)
        else:
            result = run(presets.resolve(explicit), say=echo)
    except (Exception, KeyboardInterrupt) as error:
        fail_on(error)
    done_with_signals()  # everything is written: a stop now must not turn a finished run into a killed one
    if result.status == "diverged":
        fail(result.message)
    sys.exit(result.exit_code)


if __name__ == "__main__":
    # Only as the program (a test that invokes cli() keeps its garbage collector as it was). What is imported by
    # now (NumPy, the tool, click: 27,000 objects) lives until the process exits: frozen, the collector's full
    # passes during the run stop walking it again (0.04 s less of collections in a 3-epoch run; the run's own
    # objects are collected as before). Once cli() ends the process only exits: frozen again, Python's shutdown
    # skips its full collections over everything the run made (0.12 s), memory the OS takes back anyway. Frozen
    # objects are still freed by reference counting; atexit handlers and the flush of stdout still run.
    gc.freeze()
    try:
        cli()
    finally:
        gc.freeze()
