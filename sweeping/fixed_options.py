"""The train.py options every trial of a sweep shares: read from the sweep file's ``command`` and
``--set`` (:func:`fixed_values`, which also checks every swept key and value before any trial), and
listed with the file's constants (:func:`shared_options`).

A name that is not one the sweep can use (a key that is no train.py option here, a metric no run
reports in :mod:`sweeping.definition`) is refused naming the closest one (:func:`experiments.options.did_you_mean`).
"""

from __future__ import annotations

import click

from experiments import config as configuration
from experiments import options
from experiments.options import did_you_mean

LOCATIONS = ("data_dir", "output_dir", "wandb_mode", "wandb_project", "wandb_entity")


def shared_options(spec, fixed: dict, leave_out=LOCATIONS) -> dict:
    """The options every trial shares, whatever sets them (the file's ``value:``, its ``command``,
    ``--set``), but those in ``leave_out`` (by default where data and results go)."""
    return {**spec.constants, **{k: v for k, v in fixed.items() if k not in leave_out}}


def fixed_from_command(literal: list[str]) -> dict:
    """Literal train.py flags in the sweep's ``command`` (validated by the CLI itself)."""
    if not literal:
        return {}
    from experiments.cli import add_options, explicit_options

    command = add_options(click.Command("train.py", callback=lambda **_: None))
    return explicit_options(command.make_context("train.py", list(literal)))


def parse_set(values) -> dict:
    fixed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not configuration.is_option(key):
            hint = did_you_mean(key, configuration.FIELDS) if sep else ""
            raise click.BadParameter(
                f"{item!r}: use KEY=VALUE with a train.py option name" + (f"; {hint}" if hint else ""),
                param_hint="'--set'",
            )
        fixed[key] = configuration.convert(key, value)
    return fixed


def rank_for_preset(spec) -> None:
    """Trials that start from a sweep's configurations (``from_sweep``): a file that sweeps
    ``preset`` (this project's best three) sweeps ``rank`` over 1, 2, ... in its place, the
    student's own best ones; a constant preset is dropped (the sweep's best stands for it)."""
    from sweeping.spec import Parameter

    preset = spec.parameters.get("preset")
    if preset is None:
        return
    if preset.kind == "categorical" and "rank" not in spec.parameters:
        ranks = Parameter("rank", "categorical", list(range(1, len(preset.values) + 1)))
        spec.parameters = {
            ("rank" if k == "preset" else k): (ranks if k == "preset" else p) for k, p in spec.parameters.items()
        }
    else:
        spec.parameters.pop("preset")


def canonical(name: str, value):
    """``value`` as train.py reads it, when that is a plain value (``xavier`` -> ``Xavier``, the YAML
    string ``1e-3`` -> 0.001), so the study's choices and its identity agree; a per-layer list keeps
    the text Optuna holds for it. A value train.py would reject is a ``click.BadParameter``."""
    converted = options.plain(configuration.convert(name, value))
    return converted if converted is None or isinstance(converted, (str, int, float, bool)) else value


def check_keys(spec, sweep_file) -> None:
    """Every key the sweep file sweeps or fixes is a train.py option, and each of its values one
    train.py accepts; else a ``click.BadParameter`` of ``SWEEP_FILE`` naming the file and the key
    (``parameters.activaton is not a train.py option (did you mean 'activation'?)``,
    ``parameters.activation: 'relu6' is not one of ...``). Turns the values into :func:`canonical` ones."""
    problems = []
    for name in spec.parameters:
        if not configuration.is_option(name):
            hint = did_you_mean(name, configuration.FIELDS)
            problems.append(f"parameters.{name} is not a train.py option" + (f" ({hint})" if hint else ""))
    if problems:
        raise click.BadParameter(f"{sweep_file}: " + "; ".join(problems), param_hint="'SWEEP_FILE'")
    for name, parameter in spec.parameters.items():
        try:
            parameter.values = [canonical(name, value) for value in parameter.values]
        except click.BadParameter as error:
            raise click.BadParameter(
                f"{sweep_file}: parameters.{name}: {error.message}", param_hint="'SWEEP_FILE'"
            ) from None


def fixed_values(spec, literal: list[str], overrides, data_dir, wandb_mode: str, sweep_file) -> dict:
    """The train.py options every trial shares; checks every swept key and value first, so a
    value train.py would reject fails here, before any trial. ``--set`` takes a key out of the search;
    ``--set from_sweep=DIR`` starts every trial from that sweep's configurations (:func:`rank_for_preset`)."""
    check_keys(spec, sweep_file)
    forced = parse_set(overrides)
    for key in forced:
        spec.parameters.pop(key, None)
    if forced.get("from_sweep"):
        rank_for_preset(spec)
    fixed = {**fixed_from_command(literal), **forced, "wandb_mode": wandb_mode}
    for key, value in (("data_dir", data_dir), ("wandb_project", spec.project), ("wandb_entity", spec.entity)):
        if value is not None:
            fixed.setdefault(key, value)
    return fixed
