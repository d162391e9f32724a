"""The study plugins' contract: every registered plugin runs on tiny data with the options it says
switch it on, its hooks' outputs land where it says, its configuration section is well formed, and
the run orders plugins by their declared priority. A new plugin is picked up without editing this file."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_idx_folder

from experiments import config as configuration
from experiments.plugins import PLUGINS, Plugin, Priority, active
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
def test_each_plugin_runs_on_tiny_data_and_delivers_what_its_hooks_return(plugin, tmp_path, monkeypatch):
    config = configuration.resolve({**TINY, **plugin.example, "output_dir": str(tmp_path)})
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


def test_hooks_and_callbacks_follow_the_declared_priorities(tmp_path, monkeypatch):
    import nn
    from experiments import lifecycle

    seen = []
    config = configuration.resolve(
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
