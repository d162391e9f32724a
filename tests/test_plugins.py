"""The study plugins' contract: every registered plugin runs on tiny data with the options it says
switch it on, its hooks' outputs land where it says, its configuration section is well formed, and
the run orders plugins by their declared priority. A new plugin is picked up without editing this file."""

import dataclasses
import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_idx_folder

from experiments import config as configuration
from experiments import presets
from experiments import run as run_module
from experiments.plugin import Changes, Plugin, Priority
from experiments.plugins import PLUGINS, active
from experiments.run import run

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "dataset": "digits",
    "epochs": 2,
    "num_layers": 1,
    "hidden_size": 16,
    "batch_size": 64,
    "wandb_mode": "disabled",
}


def test_plugin_names_are_unique_and_every_section_is_a_frozen_dataclass_of_documented_options():
    assert len({p.name for p in PLUGINS}) == len(PLUGINS)
    for plugin in PLUGINS:
        assert plugin.name and isinstance(plugin, Plugin)
        if plugin.section is None:
            continue
        assert dataclasses.is_dataclass(plugin.section) and plugin.section.__dataclass_params__.frozen
        assert plugin.section.title, plugin.name
        for field in dataclasses.fields(plugin.section):
            assert field.metadata["help"], f"{plugin.name}.{field.name} has no help"
            assert f"--{field.name}" in field.metadata["flags"], f"{plugin.name}.{field.name}: flag != name"


def test_every_flag_belongs_to_exactly_one_option():
    flags = [flag for _, (_, field) in configuration.FIELDS.items() for flag in field.metadata["flags"]]
    assert len(flags) == len(set(flags))


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_each_plugin_runs_on_tiny_data_and_changes_what_it_declares(plugin, tmp_path, monkeypatch):
    """The plugin's example run against the same run without the plugin (same options, same seed): every
    summary key, file and trajectory change it declares (``plugin.changes``) is there, and only with it;
    what its hooks return lands in the summary and the run folder."""
    assert plugin.changes, f"{plugin.name} declares no change (Plugin.changes): what does it do?"
    config = presets.resolve({**TINY, **plugin.example, "output_dir": str(tmp_path / "with")})
    assert plugin in active(config), f"{plugin.name}.example does not switch it on"
    figures, reports = [], []

    def recording(method, into):
        def wrapper(run_context):
            value = method(run_context)
            into.append(value)
            return value

        return wrapper

    monkeypatch.setattr(plugin, "figures", recording(plugin.figures, figures))
    monkeypatch.setattr(plugin, "after_training", recording(plugin.after_training, reports))
    result = run(config, say=lambda line: None, progress=False)
    assert result.status == "finished", result.message
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["status"] == "finished"
    for report in reports:
        for key, value in report.items():
            assert summary[key] == pytest.approx(value), key
    for drawn in figures:
        for name, path in drawn.items():
            assert Path(path).is_file() and Path(path).stat().st_size > 1000, f"{plugin.name}: {name} {path}"
            assert Path(path).parent == result.folder or Path(path).parent.parent == result.folder
    monkeypatch.setattr(run_module, "active", lambda c: [p for p in active(c) if p is not plugin])
    without = run(config.replace(output_dir=str(tmp_path / "without")), say=lambda line: None, progress=False)
    assert without.status == "finished", without.message
    assert_changes(plugin.changes, result, without)


def matching(patterns, names) -> dict[str, list[str]]:
    return {pattern: [name for name in names if fnmatch.fnmatchcase(name, pattern)] for pattern in patterns}


def assert_changes(changes: Changes, result, without) -> None:
    """Each declared change is in ``result`` and not in ``without``."""
    summaries = [json.loads((r.folder / "summary.json").read_text()) for r in (result, without)]
    files = [{path.name for path in r.folder.iterdir()} for r in (result, without)]
    for kind, patterns, (with_it, without_it) in (
        ("summary key", changes.summary, summaries),
        ("file", changes.files, files),
    ):
        for pattern, names in matching(patterns, with_it).items():
            assert names, f"no {kind} {pattern} in the run"
            assert not matching([pattern], without_it)[pattern], f"{kind} {pattern} is there without the plugin too"
    if changes.trajectory:
        losses = [[row["train_loss"] for row in r.history] for r in (result, without)]
        assert losses[0] != losses[1], "the same training losses without the plugin"


def test_hooks_and_callbacks_follow_the_declared_priorities(tmp_path, monkeypatch):
    import nn
    from experiments import lifecycle

    seen = []
    config = presets.resolve(
        {**TINY, "epochs": 1, "augment": 1, "patience": 1, "log_every": 5, "output_dir": str(tmp_path)}
    )
    plugins = active(config)
    assert [int(p.priority) for p in plugins] == sorted(int(p.priority) for p in plugins)
    real_fit = nn.fit

    def spy(*args, callbacks, **kwargs):
        seen.extend(type(c).__name__ for c in callbacks)
        return real_fit(*args, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(lifecycle.nn, "fit", spy)
    run(config, say=lambda line: None, progress=False)
    order = {name: seen.index(name) for name in seen}
    assert order["LearningRateSchedule"] < order["Augmentation"] < order["BatchLoss"] < order["LocalRun"]
    assert order["LocalRun"] < order["BestWeights"] < order["Checkpoint"] < order["EarlyStopping"]
    assert Priority.SCHEDULE < Priority.DATA < Priority.MEASURE < Priority.RECORD < Priority.REPORT < Priority.STOP


def test_a_plain_run_imports_no_study_library(tmp_path):
    """Pay for what you use: a default mlp run loads none of scikit-learn, scipy's modules, optuna,
    TensorFlow or Keras (matplotlib comes in for the figures, after the result is saved; numba, for
    Adam's fused update, loads scipy's top-level package only)."""
    data = make_idx_folder(tmp_path / "data" / "fashion-mnist").parent
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "train.py"), "--data_dir", str(data), "-e", "1",
         "-nhl", "1", "-sz", "8", "--wandb_mode", "disabled", "--output_dir", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    for heavy in ("sklearn", "scipy.special", "scipy.stats", "optuna", "tensorflow", "keras", "wandb", "torch"):
        assert heavy not in imported, f"a plain run imported {heavy}"
    assert "matplotlib" in imported  # the figures are on by default
