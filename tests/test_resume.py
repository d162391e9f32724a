"""Checkpoints, resume and SIGTERM: an interrupted run continues to the very same result."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import nn
from experiments import presets
from experiments.errors import ConfigError
from experiments.run import resume, run
from tests.conftest import ROOT
from tests.test_cli import offline_run, signal_during_training, wandb_summary

pytestmark = pytest.mark.slow  # every test trains whole runs, several of them in train.py processes

CONFIG = {
    "dataset": "digits",
    "epochs": 5,
    "batch_size": 32,
    "num_layers": 2,
    "hidden_size": 32,
    "norm": "batch",
    "dropout": 0.2,
    "optimizer": "adam",
    "learning_rate": 0.003,
    "weight_decay": 1e-4,
    "wandb_mode": "disabled",
    "save_model": True,
    "patience": 10,
}


class StopAfter(nn.Callback):
    """Ctrl-C right after epoch ``k`` (and after its checkpoint) is written."""

    def __init__(self, k):
        self.k = k

    def on_epoch_end(self, epoch, metrics):
        if epoch == self.k:
            raise KeyboardInterrupt


def strip(history):
    return [{k: v for k, v in h.items() if "seconds" not in k} for h in history]


RECIPE = {"optimizer": "adamw", "lr_schedule": "cosine", "warmup_epochs": 1.5, "augment": 1, "label_smoothing": 0.1}


@pytest.mark.parametrize("stop_after, recipe", [(1, {}), (3, {}), (2, RECIPE)])
def test_an_interrupted_run_resumed_ends_bit_for_bit_like_the_uninterrupted_one(stop_after, recipe, tmp_path):
    say = lambda line: None
    config = {**CONFIG, **recipe}
    whole = run(presets.resolve({**config, "output_dir": str(tmp_path / "a")}), say=say, progress=False)
    cut = run(
        presets.resolve({**config, "output_dir": str(tmp_path / "b")}),
        callbacks=[StopAfter(stop_after)],
        say=say,
        progress=False,
    )
    assert cut.status == "interrupted" and len(cut.history) == stop_after
    assert (cut.folder / "checkpoint.npz").is_file()
    resumed = resume(cut.folder, {}, say=say, progress=False)
    assert resumed.status == "finished" and resumed.folder == cut.folder
    assert strip(resumed.history) == strip(whole.history)  # dropout masks, batch order, Adam, batch norm: all equal
    for key in ("test_accuracy", "test_loss", "best_val_accuracy", "best_epoch"):
        assert resumed.summary[key] == whole.summary[key], key
    np.testing.assert_array_equal(resumed.model.flat_params, whole.model.flat_params)
    saved = json.loads((cut.folder / "history.json").read_text())
    assert [h["epoch"] for h in saved] == [1, 2, 3, 4, 5]


def test_resume_may_extend_the_epochs_but_not_change_the_run(tmp_path):
    say = lambda line: None
    first = run(presets.resolve({**CONFIG, "epochs": 2, "output_dir": str(tmp_path)}), say=say, progress=False)
    longer = resume(first.folder, {"epochs": 4}, say=say, progress=False)
    assert [h["epoch"] for h in longer.history] == [1, 2, 3, 4]
    with pytest.raises(ConfigError, match="only --epochs, --wandb_mode.*--learning_rate"):
        resume(first.folder, {"learning_rate": 0.1}, say=say)
    with pytest.raises(ConfigError, match="not a run folder"):
        resume(tmp_path, {}, say=say)
    (first.folder / "checkpoint.npz").rename(tmp_path / "kept.npz")
    with pytest.raises(ConfigError, match="no checkpoint.npz there: the run stopped before its first epoch ended"):
        resume(first.folder, {}, say=say)


def test_a_run_started_with_a_relative_data_dir_resumes_from_elsewhere_given_data_dir(tmp_path, monkeypatch):
    say = lambda line: None
    (tmp_path / "a" / "data").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a")
    config = presets.resolve({**CONFIG, "epochs": 2, "data_dir": "data", "output_dir": str(tmp_path / "o")})
    first = run(config, say=say, progress=False)
    monkeypatch.chdir(tmp_path)  # ./data is not here
    with pytest.raises(ConfigError, match="data folder data is not there from here .* give --data_dir"):
        resume(first.folder, {"epochs": 3}, say=say)
    longer = resume(first.folder, {"epochs": 3, "data_dir": str(tmp_path / "a" / "data")}, say=say, progress=False)
    assert [h["epoch"] for h in longer.history] == [1, 2, 3]


def test_sigterm_keeps_the_best_model_and_resume_continues_it(tmp_path):
    """SIGTERM (timeout, Slurm, wandb agent) behaves as Ctrl-C: summary, best model, W&B closed; exit 143."""
    env = {**os.environ, "WANDB_DIR": str(tmp_path)}
    process, out, err = signal_during_training(tmp_path, signal.SIGTERM, "--save_model")
    assert process.returncode == 143, err
    assert "Traceback" not in err and "SIGTERM" in out
    folder = next((tmp_path / "out").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["epochs_completed"] >= 3
    model = nn.Sequential.load(folder / "model.npz")
    assert summary["saved_model_epoch"] == summary["best_epoch"] and model.metadata["dataset"] == "digits"
    shown = wandb_summary(offline_run(tmp_path))
    assert "exit code" in shown or "preempt" in shown.lower()
    done = summary["epochs_completed"]
    again = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "--resume",
            str(folder),
            "--epochs",
            str(done + 1),
            "--wandb_mode",
            "disabled",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert again.returncode == 0, again.stderr
    assert f"resuming {folder} after epoch {done}" in again.stdout
    history = json.loads((folder / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(1, done + 2))
    refused = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--resume", str(folder), "-lr", "0.5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


def test_saved_models_carry_their_preprocessing_and_are_logged_as_artifacts(tmp_path):
    import datasets

    env = {**os.environ, "WANDB_DIR": str(tmp_path)}
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "-d",
            "digits",
            "-e",
            "1",
            "--scaling",
            "standard",
            "--permute_pixels",
            "True",
            "--save_model",
            "--wandb_mode",
            "offline",
            "--output_dir",
            "out",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    folder = next((tmp_path / "out").iterdir())
    model = nn.Sequential.load(folder / "model.npz")
    meta = model.metadata
    assert meta["task"] == "classification" and meta["class_names"] == [str(d) for d in range(10)]
    assert meta["image_shape"] == [8, 8] and meta["n_features"] == 64 and meta["loss"] == "cross_entropy"
    # from raw pixels to the reported test accuracy with nothing but the file
    prep = datasets.Preprocessing.from_dict(meta["preprocessing"])
    raw = datasets.load("digits", scaling="none", val_fraction=0)
    scores = nn.evaluate(model, meta["loss"], prep.apply(raw.x_test.copy()), raw.y_test)
    summary = json.loads((folder / "summary.json").read_text())
    assert scores["accuracy"] == pytest.approx(summary["test_accuracy"], abs=1e-9)
    run_file = next(offline_run(tmp_path).glob("*.wandb"))
    run_id = run_file.stem.removeprefix("run-").encode()
    transaction_log = run_file.read_bytes()
    assert b"\x05model*" in transaction_log  # an artifact record of type "model" ...
    assert b"model-" + run_id in transaction_log and b"model.npz" in transaction_log  # ... holding the file
