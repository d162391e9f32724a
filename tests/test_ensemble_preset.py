"""``train.py --preset NAME`` with ``members:``: every member trained and saved, then their ensemble, whose
test accuracy is recomputed here from the members' model files (mean of their softmax outputs)."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import datasets
import nn
from experiments import presets as preset_files

PRESET = {
    "dataset": "digits",
    "epochs": 2,
    "num_layers": 1,
    "hidden_size": 16,
    "members": [{"seed": 0}, {"seed": 1}, {"seed": 2, "hidden_size": 24}],
}


@pytest.fixture
def presets(tmp_path, monkeypatch):
    path = tmp_path / "presets.yaml"
    path.write_text(yaml.safe_dump({"tiny_ensemble": PRESET, "broken": {**PRESET, "members": [{"sed": 1}]}}))
    monkeypatch.setattr(preset_files, "PRESETS_FILE", path)
    return path


def train(args, folder):
    import train as train_module

    return CliRunner().invoke(
        train_module.cli, [*args, "--wandb_mode", "disabled", "--output_dir", str(folder / "o")], catch_exceptions=False
    )


def test_every_member_is_trained_and_the_ensemble_is_their_mean_softmax(presets, tmp_path):
    result = train(["--preset", "tiny_ensemble"], tmp_path)
    assert result.exit_code == 0, result.output
    (ensemble,) = (tmp_path / "o").glob("ensemble_tiny_ensemble")
    summary = json.loads((ensemble / "summary.json").read_text())
    folders = [member["folder"] for member in summary["members"]]
    assert len(folders) == 3
    configs = [json.loads((Path(folder) / "config.json").read_text()) for folder in folders]
    assert [(c["seed"], c["hidden_size"], c["save_model"]) for c in configs] == [
        (0, 16, True),
        (1, 16, True),
        (2, 24, True),
    ]
    data = datasets.load("digits", val_fraction=0.0, scaling="none")
    pixels = data.x_test / 255.0  # every member was trained with min-max scaling of 0..255 pixels
    probabilities = []
    for folder in folders:
        model = nn.Sequential.load(f"{folder}/model.npz")
        prep = datasets.Preprocessing.from_dict(model.metadata["preprocessing"])
        probabilities.append(
            nn.softmax(model.predict(prep.apply((pixels * 255).astype(np.float32))).astype(np.float64))
        )
    expected = float(np.mean(np.mean(probabilities, axis=0).argmax(axis=1) == data.y_test))
    assert summary["ensemble"]["accuracy"] == pytest.approx(expected, abs=1e-12)
    assert f"ensemble of 3: test_accuracy {expected:.4f}" in result.output
    assert (ensemble / "confusion_matrix.png").is_file()


def test_flags_on_the_command_line_override_every_member(presets, tmp_path):
    result = train(["--preset", "tiny_ensemble", "--epochs", "1"], tmp_path)
    assert result.exit_code == 0, result.output
    histories = [json.loads(p.read_text()) for p in (tmp_path / "o").glob("*/history.json")]
    assert len(histories) == 3 and all(len(history) == 1 for history in histories)


def test_an_unknown_option_in_a_member_is_one_line_and_exit_2(presets, tmp_path):
    result = train(["--preset", "broken"], tmp_path)
    assert result.exit_code == 2
    assert "preset 'broken' sets unknown options sed" in result.output
    assert not (tmp_path / "o").exists()
