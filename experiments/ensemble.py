"""``train.py --preset NAME`` for a preset that lists ``members``: every member trained, then their ensemble.

A preset in ``presets.yaml`` may hold ``members:``, a list of option mappings; member k's configuration is
the defaults, then the preset's options, then member k's, then the options given on the command line (so
``--epochs 1`` shortens every member). Each member is a normal run (its own folder, its W&B run in a
group named after the preset) and saves its ``model.npz``. The members' test predictions are then
combined exactly as ``evaluate.py`` combines the same files (:func:`experiments.model_files.report`:
the mean of their softmax outputs, and their majority vote), and the ensemble's summary, with each
member's folder and test scores, is written to ``OUTPUT_DIR/ensemble_<preset>/summary.json`` beside the
confusion matrix. A member that does not finish (diverged, interrupted) stops the ensemble: its result is
returned and nothing is combined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import presets
from .run import RunResult, run


def train_ensemble(explicit: Mapping[str, Any], members: list[dict], say: Callable[[str], None]) -> RunResult:
    """Train every member of the preset named in ``explicit``, then evaluate their ensemble on the test set."""
    from tracking.files import write_json
    from tracking.local import unique_dir

    from .model_files import report

    name = str(explicit["preset"])
    configs = [presets.resolve(explicit, {**member, "save_model": True}) for member in members]
    results = []
    for k, config in enumerate(configs, start=1):
        say(f"ensemble {name}: member {k} of {len(configs)}")
        result = run(config, say=say, group=name)
        if result.status != "finished":
            result.message = f"ensemble {name}: member {k} did not finish: {result.message}"
            return result
        results.append(result)
    first = configs[0]
    folder = unique_dir(first.tracking.output_dir, f"ensemble_{name}")
    paths = [result.folder / "model.npz" for result in results if result.folder is not None]
    scores = report(paths, data_dir=first.data.data_dir, output_dir=folder)
    members_summary = [
        {"folder": str(result.folder), **{k: v for k, v in entry.items() if k != "per_class"}}
        for result, entry in zip(results, scores["members"])
    ]
    ensemble = scores.get("ensemble", scores["members"][0])
    summary: dict = {
        "preset": name,
        "members": members_summary,
        "ensemble": {k: v for k, v in ensemble.items() if k not in ("per_class", "model")},
    }
    if "vote" in scores:
        summary["vote"] = {k: v for k, v in scores["vote"].items() if k != "model"}
    write_json(folder / "summary.json", summary)
    for k, entry in enumerate(members_summary, start=1):
        say(f"member {k}: " + _scores_text(entry))
    say(f"ensemble of {len(paths)}: " + _scores_text(summary["ensemble"]))
    say(f"results: {folder}")
    return RunResult("finished", summary=summary, folder=folder)


def _scores_text(entry: Mapping[str, Any]) -> str:
    keys = ("accuracy", "macro_f1", "loss") if "accuracy" in entry else ("rmse", "mae", "r2")
    return " | ".join(f"test_{key} {entry[key]:.4f}" for key in keys if key in entry)
