"""Train a neural network (NumPy, hand-written backprop) on Fashion-MNIST, MNIST or another registered data set.

Every run prints one line per epoch, logs to Weights & Biases (offline when
you are not logged in) and writes its history, figures and summary under
--output_dir. Choices are case-insensitive.
"""
from __future__ import annotations

import sys

import click

from experiments.cli import OneLineErrors, add_options, explicit_options, fail


@click.command(cls=OneLineErrors, help=__doc__,
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@add_options
@click.pass_context
def cli(ctx, **_):
    import datasets
    from experiments import config as configuration
    from experiments.run import ConfigError, run

    config = configuration.resolve(explicit_options(ctx))
    try:
        result = run(config, say=click.echo)
    except ConfigError as error:
        fail(str(error), 2)
    except (datasets.DataUnavailable, datasets.DataError) as error:
        fail(str(error), 1)
    if result.status == "diverged":
        fail(result.message, 1)
    if result.status == "interrupted":
        sys.exit(130)


if __name__ == "__main__":
    cli()
