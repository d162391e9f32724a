"""How a configuration field declares itself: its default, command-line names, type and help, in one place.

A section of the configuration is a frozen dataclass whose fields are made by
:func:`option`. The field's name is the flat key users type everywhere: the
long flag (``--learning_rate``), the sweep files' parameter, the key in W&B's
config and in ``config.json``. Its metadata carries what ``--help`` and the
type checks need, so the command line, sweeps, presets, W&B's injected config
and ``--resume`` all convert and check a value the same way
(:func:`convert_value`).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click


def title_of(section: type) -> str:
    """A section's heading in ``--help``: its class attribute ``title``."""
    title: str = section.__dict__["title"]
    return title


def option(
    default: Any,
    *flags: str,
    help: str,
    type: Any = None,
    assignment: bool = False,
) -> Any:
    """A configuration field: ``default``, its command-line ``flags`` (the first long one names it),
    its click ``type`` (inferred from the default when omitted) and ``help``. ``assignment`` marks
    the DA6401 assignment's own flags, which ``--help`` lists first."""
    return dataclasses.field(
        default=default,
        metadata={"flags": flags, "help": help, "type": type, "assignment": assignment},
    )


class Choice(click.Choice):
    """Case-insensitive choice that shows and returns the registry's spelling (``ReLU``, ``Xavier``)."""

    def __init__(self, choices: Sequence[str]):
        super().__init__(list(choices), case_sensitive=False)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(map(str, self.choices)) + "]"

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None = None) -> str:
        return f"{value!r} is not one of {', '.join(map(str, self.choices))}."


class FiniteFloat(click.FloatRange):
    """A float range that also rejects nan and inf (which every range check lets through or misreads)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class Sizes(click.ParamType):
    """One size (``128``) or one per layer: ``128 64 32`` (as argparse's ``nargs="+"`` reads it),
    ``128,64,32``, a JSON list ``[128, 64, 32]`` (what ``wandb agent`` writes for a list value), or a
    list from a sweep file. One size is an ``int``, several a ``tuple``."""

    name = "size [size ...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            sizes: list[Any] = [value]
        elif isinstance(value, (list, tuple)):
            sizes = list(value)
        else:
            text = str(value).strip()
            if text.startswith("["):
                try:
                    parsed = json.loads(text)
                except ValueError:
                    self.fail(f"{value!r} is not a size or a list of sizes.", param, ctx)
                sizes = parsed if isinstance(parsed, list) else [parsed]
            else:
                sizes = text.replace(",", " ").split()
        try:
            numbers = [int(size) for size in sizes]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a size or a list of sizes.", param, ctx)
        if not numbers or min(numbers) < 1:
            self.fail(f"{value!r}: sizes must be at least 1.", param, ctx)
        return numbers[0] if len(numbers) == 1 else tuple(numbers)


class ImageSize(Sizes):
    """A height and a width (``32 48``, ``32,48``, a JSON list), or one size for a square (``32``): always
    ``(H, W)``."""

    name = "H W"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        sizes = super().convert(value, param, ctx)
        sizes = (sizes, sizes) if isinstance(sizes, int) else sizes
        if len(sizes) != 2:
            self.fail(f"{value!r}: give a height and a width (or one size for both).", param, ctx)
        return sizes


class DatasetName(click.ParamType):
    """A registered data set (case-insensitive, returned in the registry's spelling) or a path to a
    ``.csv`` / ``.npz`` file of one's own (:mod:`datasets.files`) or to a folder of images
    (:mod:`datasets.images`), which must exist."""

    name = "name or file"  # no "|": it would split the row of the generated reference's Markdown table

    def __init__(self, choices: Sequence[str]):
        self.choices = list(choices)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.choices) + "|FILE.csv|FILE.npz|DIR]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import datasets

        text = str(value)
        for choice in self.choices:
            if text.lower() == choice.lower():
                return choice
        if Path(text).is_dir():  # a folder of images
            return text
        if datasets.is_data_file(text):
            if not Path(text).is_file():
                self.fail(f"{text}: no such file.", param, ctx)
            return text
        if any(mark in text for mark in ("/", "\\")) or text.startswith((".", "~")):  # meant as a path
            self.fail(f"{text}: no such file or folder.", param, ctx)
        close = did_you_mean(text.lower().replace("-", "_"), self.choices)
        hint = f" D{close[1:]}" if close else ""
        self.fail(
            f"{text!r} is not one of {', '.join(self.choices)}, nor a .csv or .npz file, nor a folder.{hint}",
            param,
            ctx,
        )


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """``did you mean 'closest'?`` for the name in ``names`` closest to ``name`` (difflib's ratio at
    least 0.5), else an empty string: for every name a user can misspell (a data set, a sweep key, a
    metric)."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}?" if close else ""


POSITIVE = FiniteFloat(min=0.0, min_open=True)
NON_NEGATIVE = FiniteFloat(min=0.0)
UNIT = FiniteFloat(0.0, 1.0, max_open=True)  # [0, 1)
FRACTION = FiniteFloat(0.0, 1.0)  # [0, 1]


def field_type(field: dataclasses.Field) -> Any:
    """The click type of a field: declared, or inferred from its default."""
    declared = field.metadata.get("type")
    if declared is not None:
        return declared
    default = field.default
    if isinstance(default, bool):
        return click.BOOL
    if isinstance(default, int):
        return click.INT
    if isinstance(default, float):
        return FiniteFloat()
    return click.STRING


def flags(field: dataclasses.Field) -> tuple[str, ...]:
    return tuple(field.metadata["flags"]) or (f"--{field.name}",)


def convert_value(field: dataclasses.Field, value: Any) -> Any:
    """Coerce ``value`` (from a sweep file, a preset, JSON or W&B's config) to the field's type as the
    command line would; ``click.BadParameter`` naming the key if the command line would reject it."""
    if value is None:
        return None
    try:
        converted = click.types.convert_type(field_type(field)).convert(value, None, None)
    except click.BadParameter as error:
        error.param_hint = f"'{field.name}'"
        raise
    return tuple(converted) if isinstance(converted, list) else converted


def plain(value: Any) -> Any:
    """A field's value as JSON and W&B hold it: tuples become lists."""
    return list(value) if isinstance(value, tuple) else value
