"""Click plumbing shared by the scripts: options generated from the configuration's sections,
``--help`` grouped by section (the assignment's flags first), one-line errors."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import click

from .config import SECTIONS
from .errors import EXIT_FAULT, EXIT_INTERRUPTED, one_line
from .options import field_type, flags, plain, title_of

ASSIGNMENT_TITLE = "The assignment's flags (DA6401 Assignment 1)"
OTHER_TITLE = "Other options"


def option_sections() -> Iterator[tuple[str, type]]:
    """``(title, section)`` in the order ``--help`` shows them."""
    for section in SECTIONS:
        yield title_of(section), section


class SectionOption(click.Option):
    """A click option that knows its section's title and whether it is one of the assignment's flags."""

    def __init__(self, *args: Any, section_title: str, assignment: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.section_title, self.assignment = section_title, assignment


def click_options() -> list[click.Option]:
    """One click option per field; each knows its section (``option.section_title``) and whether it
    is one of the assignment's flags (``option.assignment``)."""
    made: list[click.Option] = []
    for title, section in option_sections():
        for field in dataclasses.fields(section):
            kind = field_type(field)
            extra = {"is_flag": False, "flag_value": True} if kind is click.BOOL else {}
            default = plain(field.default)
            opt = SectionOption(
                [*flags(field), field.name],
                type=kind,
                default=default,
                show_default=True,
                help=field.metadata["help"],
                section_title=title,
                assignment=field.metadata["assignment"],
                **extra,
            )
            made.append(opt)
    return made


def add_options(function: Callable) -> Callable:
    """Decorate a click command with one option per configuration field."""
    function.__click_params__ = [  # type: ignore[attr-defined]
        *getattr(function, "__click_params__", []),
        *reversed(click_options()),
    ]
    return function


def explicit_options(ctx: click.Context) -> dict:
    """The options the user gave (command line or environment), not the defaults."""
    given = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    return {key: value for key, value in ctx.params.items() if ctx.get_parameter_source(key) in given}


def echo(line: str) -> None:
    """One line on standard output, the scripts' ``say``: standard output that cannot be written
    (``train.py | head -3``, ``> /dev/full``, ``>&-``) does not stop the command
    (:func:`tracking.console.write`)."""
    from tracking.console import write

    write(None, line + "\n")


def fail(message: str, exit_code: int = EXIT_FAULT) -> NoReturn:
    """One line on standard error, then exit."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(exit_code)


def fail_on(error: BaseException, before: str = "before training started") -> NoReturn:
    """End with the one line and exit code :func:`experiments.errors.one_line` gives ``error``; an error
    it does not know (a bug) is raised again, for its traceback."""
    ending = one_line(error, before)
    if ending is None:
        raise error
    fail(*ending)


# options that take several values, as argparse's nargs="+"
LIST_OPTIONS = ("-sz", "--hidden_size", "--filters", "--image_size", "--image-size")


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
    list-valued options (``-sz 128 64 32``) read as argparse reads them; ``--help`` grouped by the
    configuration's sections, the assignment's own flags first."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_list_values(list(args)))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        groups: dict[str, list[tuple[str, str]]] = {ASSIGNMENT_TITLE: []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if getattr(param, "assignment", False):
                title = ASSIGNMENT_TITLE
            else:
                title = getattr(param, "section_title", OTHER_TITLE)
            groups.setdefault(title, []).append(record)
        single = [title for title, records in groups.items() if len(records) == 1 and title != ASSIGNMENT_TITLE]
        if len(single) > 1:  # a heading over one option says nothing its help does not: one group for them all
            groups.setdefault(OTHER_TITLE, []).extend(record for title in single for record in groups.pop(title))
        other = groups.get(OTHER_TITLE, [])
        other.sort(key=lambda record: record[0].startswith("-h, --help"))  # stable: --help last, the rest as they were
        for title, records in groups.items():
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)

    def main(self, args: Any = None, prog_name: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            return super().main(args, prog_name, standalone_mode=False, **kwargs) or 0
        except click.UsageError as error:
            fail(error.format_message(), error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            fail("aborted.", EXIT_INTERRUPTED)
