"""Click plumbing shared by the scripts: options generated from the table, one-line errors."""

from __future__ import annotations

import sys

import click

from . import config as configuration


def add_options(function):
    """Decorate a click command with every option of :data:`experiments.config.OPTIONS`."""
    for flags, kind, default, help_text in reversed(configuration.OPTIONS):
        extra = {"is_flag": False, "flag_value": True} if kind is click.BOOL else {}
        function = click.option(
            *flags,
            configuration.option_name(flags),
            type=kind,
            default=default,
            show_default=True,
            help=help_text,
            **extra,
        )(function)
    return function


def explicit_options(ctx: click.Context) -> dict:
    """The options the user gave (command line or environment), not the defaults."""
    given = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    return {key: value for key, value in ctx.params.items() if ctx.get_parameter_source(key) in given}


def fail(message: str, exit_code: int = 1):
    """One line on standard error, then exit."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(exit_code)


LIST_OPTIONS = ("-sz", "--hidden_size", "--filters")  # options that take several values, as argparse's nargs="+"


def join_list_values(args: list[str]) -> list[str]:
    """``-sz 128 64 32`` -> ``-sz 128,64,32``: click options take one value, the 2026 interface several."""
    out, i = [], 0
    while i < len(args):
        out.append(args[i])
        i += 1
        if out[-1] in LIST_OPTIONS:
            values = []
            while i < len(args) and args[i].isdigit():
                values.append(args[i])
                i += 1
            if values:
                out.append(",".join(values))
    return out


class OneLineErrors(click.Command):
    """Usage errors as one line (``Error: ...``) and exit code 2, without the usage block;
    list-valued options (``-sz 128 64 32``) read as argparse reads them."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, join_list_values(list(args)))

    def main(self, args=None, prog_name=None, **kwargs):
        try:
            return super().main(args, prog_name, standalone_mode=False, **kwargs) or 0
        except click.UsageError as error:
            fail(error.format_message(), error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            fail("aborted.", 130)
