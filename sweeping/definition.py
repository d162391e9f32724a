"""What a sweep *is*, checked before any trial: its identity (so a resumed study is the same
experiment), its metric (so a typo cannot fail every trial) and its name (:func:`check_name`: it
becomes a folder).

A study's **identity** is its effective definition: the search method, the metric and its goal,
the early termination, and for every train.py option it touches either the values it sweeps or
the value it fixes, wherever that value came from (the file's ``value:``, a literal flag in its
``command``, ``--set``, ``sweep.py --from_sweep``). ``--set epochs=1`` or ``--set dataset=digits``
make another experiment; where things are (``--data_dir``, ``--output_dir``, the W&B mode,
project and entity) and how long to run (``run_cap``, ``--count``) do not. The first worker
records the identity in the study; a worker whose definition differs is refused with one line
naming the difference (:func:`check_identity`), so two experiments never share one results table.

The **metric** a sweep optimises must be a number every trial's run reports in its summary
(:func:`logged_metrics`): the training, validation and test scores of its task (classification:
loss, accuracy, and the test's macro F1; regression: loss, rmse, mae, r2), the best validation
score, and what the run's plugins add (cross-validation's ``cv_val_<metric>_mean``, FGSM's
``test_accuracy_fgsm``, ...). Validation scores exist only with ``--val_fraction`` above 0 or ``--val_data``.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import click

from experiments import config as configuration
from experiments import options, presets
from experiments.errors import ConfigError
from experiments.options import did_you_mean
from experiments.plugins import active
from sweeping.fixed_options import LOCATIONS, shared_options

IDENTITY = "definition_identity"  # the study's user attribute that holds it
FAMILY = "*"  # in a logged metric's name: any class or layer name (test_recall/*)
KEPT_ONLY = ("save_model", "plots", "log_every")  # what a run keeps, not what it computes


def _text(name: str, value: Any) -> str:
    """One option's value as the identity writes it: converted as train.py would (``Xavier`` and
    ``xavier`` are one value), then JSON."""
    with contextlib.suppress(Exception):  # an invalid value is reported by the checks that run before this one
        value = options.plain(configuration.convert(name, value))
    return json.dumps(value, sort_keys=True, default=str)


def _swept(parameter) -> str:
    if parameter.kind == "categorical":
        return "one of [" + ", ".join(_text(parameter.name, v) for v in parameter.values) + "]"
    scale = " (log scale)" if parameter.log else ""
    step = f" in steps of {parameter.step:g}" if parameter.step else ""
    return f"{parameter.kind} from {parameter.low:g} to {parameter.high:g}{scale}{step}"


def identity(spec, fixed: dict) -> dict:
    """The study's effective definition, as text per entry (see the module's docstring)."""
    default = configuration.defaults()
    options = {}
    for name, value in shared_options(spec, fixed, leave_out=LOCATIONS + KEPT_ONLY).items():
        if name == "from_sweep" and value:  # the sweep folder by its name: its path differs between machines
            options[name] = json.dumps(Path(str(value)).resolve().name)
        elif _text(name, value) != _text(name, default[name]):  # a default written out is no change
            options[name] = _text(name, value)
    for name in spec.varying:
        options[name] = _swept(spec.parameters[name])
    pruning = f"hyperband min_iter {spec.min_iter}, eta {spec.eta}" if spec.min_iter else "none"
    return {
        "method": spec.method,
        "metric": f"{spec.metric} ({spec.goal})",
        "early_terminate": pruning,
        "options": dict(sorted(options.items())),
    }


def differences(before: dict, now: dict) -> list[str]:
    """``key: was X, now Y`` for every entry that differs (an option set on one side only reads
    ``not set``)."""
    found = [
        f"{key}: was {before.get(key)}, now {now.get(key)}"
        for key in ("method", "metric", "early_terminate")
        if before.get(key) != now.get(key)
    ]
    old, new = before.get("options", {}), now.get("options", {})
    found += [
        f"{name}: was {old.get(name, 'not set')}, now {new.get(name, 'not set')}"
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    ]
    return found


def suggested_name(study_name: str, before: dict, now: dict) -> str:
    """A study name for the new definition: the old name and its first changed option's new value."""
    old, new = before.get("options", {}), now.get("options", {})
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name) and name in new and not new[name].startswith(("one of", "int", "float")):
            value = re.sub(r"[^A-Za-z0-9.+-]+", "_", str(json.loads(new[name]))).strip("_")
            return f"{study_name}_{name}_{value}"[:80]
    return f"{study_name}_2"


def check_identity(study, current: dict, where: str) -> None:
    """Record ``current`` in a new study; refuse (:class:`ConfigError`, one line) a study that holds
    trials of another definition. A study from before identities were kept takes ``current``."""
    recorded = study.user_attrs.get(IDENTITY)
    if recorded is None:
        recorded = _from_record(study)  # a study from before identities: the definition it recorded
        if recorded is None or not differences(recorded, current):
            study.set_user_attr(IDENTITY, current)
            return
    changed = differences(recorded, current)
    if changed:
        shown = "; ".join(changed[:3]) + (f"; and {len(changed) - 3} more" if len(changed) > 3 else "")
        name = study.study_name
        raise ConfigError(
            f"{where}: the study {name!r} holds trials of another definition ({shown}); start a new study "
            f"with --study {suggested_name(name, recorded, current)}, or run it as it was defined"
        )


def _from_record(study) -> dict | None:
    """The identity of a study that holds trials but no identity, rebuilt from the sweep file and
    ``--set`` values its workers recorded (:func:`sweeping.redraw.record`); None without trials."""
    from sweeping import redraw

    if not study.get_trials(deepcopy=False) or redraw.RECORD not in study.user_attrs:
        return None
    try:
        spec, fixed = redraw.definition(study, None, ())
    except (click.ClickException, KeyError, TypeError, ValueError):  # ConfigError is a ValueError
        return None  # a record this version cannot read (a key, an option or a value it does not know)
    return identity(spec, fixed)


def logged_metrics(config) -> list[str]:
    """The summary values a run of ``config`` reports: what a sweep's ``metric.name`` may be."""
    plugins = active(config)
    takeover = next((p for p in plugins if p.replaces_run(config)), None)
    task = config.task
    if takeover is not None:
        return list(takeover.logged_metrics(config))
    scores, primary = task.scores, task.primary_metric
    validated = config.data.val_fraction > 0 or config.data.val_data is not None
    splits = ["train", "val", "test"] if validated else ["train", "test"]
    names = [f"{split}_{score}" for split in splits for score in scores]
    if task.classifies:  # and each class's scores, named by the class (FAMILY: any name after it)
        names += ["test_macro_f1", *(f"test_{score}/{FAMILY}" for score in ("precision", "recall", "f1"))]
    names += [f"best_{'val' if 'val' in splits else 'train'}_{primary}", "train_penalty"]
    names += ["best_epoch", "epochs_completed", "seconds_per_epoch", "n_params"]
    for plugin in plugins:
        names += plugin.logged_metrics(config)
    return names


def check_metric(spec, fixed: dict, where: str) -> None:
    """Refuse (:class:`ConfigError`, one line) a ``metric.name`` that no trial's run would report,
    naming the closest one it does; checked on the sweep's first configuration (every parameter at
    its first value)."""
    first = {}
    for name, parameter in spec.parameters.items():
        first[name] = parameter.values[0] if parameter.values else parameter.low
    config = presets.resolve({**fixed, **first})
    names = logged_metrics(config)
    families = [name[: -len(FAMILY)] for name in names if name.endswith("/" + FAMILY)]
    if spec.metric in names or any(spec.metric.startswith(f) and spec.metric != f for f in families):
        return
    close = did_you_mean(spec.metric, names)
    hint = f"{close} " if close else ""
    if spec.metric.startswith("val_") and config.data.val_fraction <= 0 and config.data.val_data is None:
        hint = "validation scores need --val_fraction above 0 or --val_data; "
    raise ConfigError(
        f"{where}: metric.name {spec.metric!r} is not a value a run reports; {hint}a run reports {', '.join(names)}"
    )


def check_name(name: str, where: str) -> None:
    """A sweep's name becomes a folder under ``--output_dir``: refuse one that would leave it."""
    parts = Path(name).parts
    unsafe = (
        not name
        or name.strip() != name
        or "/" in name
        or "\\" in name
        or any(part in (".", "..") for part in parts)
        or Path(name).is_absolute()
        or "\0" in name
    )
    if unsafe:
        raise ConfigError(
            f"{where} {name!r} cannot name a sweep: it becomes a folder under --output_dir, so it may not be "
            "empty or hold '/', '\\' or '..'"
        )


def default_study_name(name: str, from_sweep=None) -> str:
    """The study (and W&B group) of ``sweep.py`` without ``--study``: the sweep's ``name``, or
    ``<name>_from_<folder>`` with ``--from_sweep`` (the folder's own name, ``OUTPUT_DIR/<study>``'s
    ``<study>``)."""
    return f"{name}_from_{Path(from_sweep).resolve().name}" if from_sweep else name


def open_checked(spec, fixed: dict, sweep_file, study_name, from_sweep, storage, output_dir, seed: int, heartbeat: int):
    """The sweep's study, after every check that must pass before a trial: the metric, the study's
    name (default: the file's, plus ``_from_<folder>`` for ``--from_sweep``), the output folder, and
    its identity. Returns ``(study, storage URL, study name)``; :class:`ConfigError` otherwise."""
    from experiments.preflight import check_writable
    from sweeping.locks import database_lock
    from sweeping.storage import open_study

    study_name = study_name or default_study_name(spec.name, from_sweep)
    check_metric(spec, fixed, str(sweep_file))
    check_name(study_name, "--study" if study_name != spec.name else f"{sweep_file}: name")
    check_writable(output_dir, "--output_dir")
    study, url = open_study(spec, study_name, storage, Path(output_dir), seed, heartbeat)
    with database_lock(url, study_name):  # workers started together record one identity
        check_identity(study, identity(spec, fixed), str(sweep_file))
    return study, url, study_name
