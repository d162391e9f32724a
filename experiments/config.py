"""The configuration a run has: the core's sections (:mod:`experiments.sections`) and every study
plugin's (:mod:`experiments.plugins`), put together; flat ``name -> value`` mappings parsed into a
:class:`~experiments.sections.RunConfig` of them, and back.

Only this module and those above it know every section: a plugin sees the schema
(:mod:`experiments.sections`), never this assembly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .options import convert_value
from .plugins import PLUGINS
from .sections import CORE_SECTIONS, RunConfig, parse

SECTIONS: tuple[type, ...] = CORE_SECTIONS + tuple(p.section for p in PLUGINS if p.section is not None)
FIELDS: dict[str, tuple[type, dataclasses.Field]] = {
    field.name: (section, field) for section in SECTIONS for field in dataclasses.fields(section)
}


def is_option(name: str) -> bool:
    return name in FIELDS


def convert(name: str, value: Any) -> Any:
    """Coerce a value (from a sweep file, a preset or W&B's config) to option ``name``'s type, as the CLI
    would; ``click.BadParameter`` if the CLI would reject it, ``KeyError`` for an unknown name."""
    return convert_value(FIELDS[name][1], value)


def defaults() -> dict[str, Any]:
    return {name: field.default for name, (_, field) in FIELDS.items()}


def from_flat(values: Mapping[str, Any]) -> RunConfig:
    """A :class:`RunConfig` of every section from flat ``values`` (missing names take their defaults);
    every value is converted by its option's type. Unknown names are a ``click.BadParameter``."""
    return parse(values, SECTIONS)


def from_saved(saved: Mapping[str, Any]) -> RunConfig:
    """The configuration a run folder's ``config.json`` (or a model file) recorded; keys of
    options that no longer exist are dropped, so older files still load."""
    return from_flat({k: v for k, v in saved.items() if k in FIELDS and k != "preset"})
