"""Where a configuration's values come from, lowest first: the defaults, a sweep's trial
(``--from_sweep``/``--rank``), a preset of presets.yaml (``--preset``), one of its ensemble members,
then the flags given explicitly (:func:`resolve`)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from .config import FIELDS, from_flat
from .errors import ConfigError, describe_yaml_error
from .sections import RunConfig

PRESETS_FILE = Path(__file__).resolve().parents[1] / "presets.yaml"


def load_presets() -> dict:
    """presets.yaml's presets by name (``{}`` without the file); a file that cannot be read, is not YAML,
    or does not map names to option mappings is a :class:`ConfigError` naming the file (and the line)."""
    import yaml

    if not PRESETS_FILE.is_file():
        return {}
    try:
        presets = yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(describe_yaml_error(PRESETS_FILE, error)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{PRESETS_FILE}: cannot be read ({error})") from None
    if not isinstance(presets, dict) or not all(isinstance(options, dict) for options in presets.values()):
        raise ConfigError(f"{PRESETS_FILE}: must map each preset's name to a mapping of its options")
    return presets


MEMBERS = "members"  # a preset's list of ensemble members, each a mapping of options over the preset's own


def preset_values(name: str | None) -> dict:
    """The options the preset ``name`` sets (``{}`` for none), its ``members`` included; an unknown
    preset or option is a ``click.BadParameter``."""
    if not name:
        return {}
    presets = load_presets()
    if name not in presets:
        raise click.BadParameter(
            f"unknown preset {name!r}; presets.yaml has: {', '.join(presets) or 'none'}", param_hint="'--preset'"
        )
    preset = dict(presets[name])
    members = preset.get(MEMBERS, [])
    if not isinstance(members, list) or not all(isinstance(member, dict) for member in members):
        raise click.BadParameter(
            f"preset {name!r}: {MEMBERS} must be a list of option mappings", param_hint="'--preset'"
        )
    unknown = (set(preset) - {MEMBERS} | {key for member in members for key in member}) - set(FIELDS)
    if unknown:
        raise click.BadParameter(
            f"preset {name!r} sets unknown options {', '.join(sorted(unknown))}", param_hint="'--preset'"
        )
    return preset


def ensemble_members(explicit: Mapping[str, Any]) -> list[dict]:
    """The members of the preset named in ``explicit`` (``[]`` when it is not an ensemble)."""
    return list(preset_values(explicit.get("preset")).get(MEMBERS, []))


def resolve(explicit: Mapping[str, Any], member: Mapping[str, Any] | None = None) -> RunConfig:
    """Defaults, then the sweep trial named by ``from_sweep`` and ``rank`` (if any), then the preset
    named in ``explicit`` (if any), then one of its ensemble ``member``'s options, then ``explicit``;
    all type-checked."""
    preset = preset_values(explicit.get("preset"))
    preset.pop(MEMBERS, None)
    trial = sweep_trial_values(explicit.get("from_sweep"), explicit.get("rank", 1))
    return from_flat({**trial, **preset, **(member or {}), **explicit})


TOP_FILE = "top.json"  # a sweep folder's ranked complete trials (written by sweeping.report)
NOT_FROM_SWEEPS = ("output_dir", "data_dir", "wandb_mode", "preset", "from_sweep", "rank")


def sweep_trial_values(folder: str | None, rank: Any = 1) -> dict:
    """The options of the trial ranked ``rank`` in the sweep folder ``folder`` (its ``top.json``),
    but where data and results go (:data:`NOT_FROM_SWEEPS`); ``{}`` without a folder. A missing or
    unreadable file, or a rank beyond the complete trials, is a ``click.BadParameter``."""
    if folder is None:
        return {}
    rank = int(rank)
    path = Path(folder) / TOP_FILE
    try:
        ranked = json.loads(path.read_text())["configurations"]
    except FileNotFoundError:
        raise click.BadParameter(
            f"{folder}: no {TOP_FILE}: not a sweep folder, or its report was written by an earlier sweep.py "
            f"(python sweep.py report {shlex.quote(str(folder))} writes it)",
            param_hint="'--from_sweep'",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise click.BadParameter(f"{path}: cannot read it ({error})", param_hint="'--from_sweep'") from None
    if not ranked:
        raise click.BadParameter(f"{folder}: the sweep has no complete trial yet", param_hint="'--from_sweep'")
    if not 1 <= rank <= len(ranked):
        raise click.BadParameter(
            f"{rank}: the sweep in {folder} has {len(ranked)} complete trial(s) (ranks 1 to {len(ranked)})",
            param_hint="'--rank'",
        )
    values = ranked[rank - 1]["config"]
    return {k: v for k, v in values.items() if k in FIELDS and k not in NOT_FROM_SWEEPS}
