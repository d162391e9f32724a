"""train.py: the course's flags, validation, and whole runs on small data (offline W&B)."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import datasets
import nn
import optimizers
import train
from experiments import config as configuration
from experiments import naming, presets
from experiments.lifecycle import reconcile
from tests.conftest import ROOT

COURSE_FLAGS = [
    "-wp",
    "--wandb_project",
    "-we",
    "--wandb_entity",
    "-d",
    "--dataset",
    "-e",
    "--epochs",
    "-b",
    "--batch_size",
    "-l",
    "--loss",
    "-o",
    "--optimizer",
    "-lr",
    "--learning_rate",
    "-m",
    "--momentum",
    "-beta",
    "--beta",
    "-beta1",
    "--beta1",
    "-beta2",
    "--beta2",
    "-eps",
    "--epsilon",
    "-w_d",
    "--weight_decay",
    "-w_i",
    "--weight_init",
    "-nhl",
    "--num_layers",
    "-sz",
    "--hidden_size",
    "-a",
    "--activation",
]


def run_cli(args, cwd, timeout=180, **env):
    environment = {**os.environ, "WANDB_DIR": str(cwd), "WANDB_SILENT": "true", **env}
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


def wandb_summary(run_dir: Path) -> str:
    """What `wandb leet inspect --summary` shows for an offline run."""
    wandb_cli = Path(sys.executable).parent / "wandb"
    result = subprocess.run(
        [str(wandb_cli), "leet", "inspect", "--summary", str(run_dir)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def offline_run(cwd: Path) -> Path:
    runs = sorted((cwd / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, runs
    return runs[0]


def test_help_lists_every_flag_and_every_registered_name():
    result = CliRunner().invoke(train.cli, ["--help"])
    assert result.exit_code == 0
    for flag in [
        *COURSE_FLAGS,
        "--seed",
        "--data_dir",
        "--val_fraction",
        "--wandb_mode",
        "--output_dir",
        "--save_model",
    ]:
        assert re.search(rf"(^|[\s,]){re.escape(flag)}[\s,]", result.output), flag
    for name in optimizers.names() + list(nn.ACTIVATIONS) + list(nn.INITIALIZERS) + list(nn.LOSSES):
        assert name in result.output, name
    for name in datasets.names():
        assert name in result.output, name
    options = [line.split()[0] for line in result.output.splitlines() if line.startswith("  -")]
    assert options[-1] == "-h," and options.count("-h,") == 1  # the last line of the list, as in any tool


def test_help_imports_nothing_heavy():
    code = (
        "import sys; sys.argv = ['train.py', '--help']; import train;"
        "bad = {'tensorflow', 'keras', 'wandb', 'matplotlib', 'sklearn'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.parametrize(
    "args",
    [
        ["-e", "0"],
        ["-b", "-3"],
        ["-lr", "-1"],
        ["-beta1", "1.5"],
        ["-a", "relu6"],
        ["-o", "adamax"],
        ["--val_fraction", "1"],
        ["-nhl", "x"],
    ],
)
def test_bad_values_exit_2_with_one_line(args):
    result = CliRunner().invoke(train.cli, args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: Invalid value"), result.output


def test_choices_are_case_insensitive_and_normalised():
    assert configuration.convert("activation", "relu") == "ReLU"
    assert configuration.convert("weight_init", "XAVIER") == "Xavier"
    assert configuration.convert("optimizer", "NAdam") == "nadam"


def test_run_name_says_what_the_run_is():
    config = presets.resolve(
        {
            "num_layers": 3,
            "hidden_size": 128,
            "batch_size": 64,
            "activation": "ReLU",
            "optimizer": "nadam",
            "learning_rate": 0.001,
        }
    )
    assert naming.run_name(config) == "hl_3_sz_128_bs_64_ac_ReLU_o_nadam_lr_0.001"
    assert naming.run_name(config.replace(loss="mean_squared_error")).endswith("_mse")
    assert naming.run_name(config.replace(norm="batch", dropout=0.2)).endswith("_batchnorm_do_0.2")
    # question 7's final model (all of the training split) is not named as the default run it follows
    assert naming.run_name(config.replace(val_fraction=0.0)) == "hl_3_sz_128_bs_64_ac_ReLU_o_nadam_lr_0.001_vf_0"
    assert naming.run_name(config.replace(dtype="float64")).endswith("_dtype_float64")
    assert naming.run_name(config.replace(num_layers=0)) == "hl_0_bs_64_o_nadam_lr_0.001"  # no size, no activation


def test_values_injected_by_wandb_win_and_are_coerced():
    said = []
    config = reconcile(
        presets.resolve({}),
        {"learning_rate": "0.01", "epochs": 10, "batch_size": 32, "not_an_option": 1},
        said.append,
    )
    assert config.learning_rate == 0.01 and config.training.batch_size == 32 and config.training.epochs == 10
    assert len(said) == 2 and "learning_rate" in said[0]


@pytest.mark.slow
def test_missing_data_gives_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli(
        ["-d", "fashion_mnist", "--data_dir", str(empty), "--wandb_mode", "disabled"],
        tmp_path,
        HOME=str(empty),
        KERAS_HOME=str(empty / "keras"),
        FFNN_DATA_DIR="",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: no local copy of fashion_mnist") and "--data_dir" in last


def test_corrupt_data_gives_a_clear_error(tiny_idx, tmp_path):
    path = tiny_idx / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-9])
    result = run_cli(["--data_dir", str(tiny_idx), "--wandb_mode", "disabled"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr  # a damaged file is bad input
    assert "train-labels-idx1-ubyte.gz" in result.stderr


def test_a_tiny_run_in_this_process_reports_what_its_saved_model_scores(tiny_idx, tmp_path):
    """The fast tier's whole run: train.py's command in the test's own process (W&B off), two epochs on
    tiny data; the reported test metrics are those scikit-learn computes from the saved model."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    args = ["--data_dir", str(tiny_idx), "-e", "2", "-b", "16", "-nhl", "1", "-sz", "16", "--save_model"]
    result = CliRunner().invoke(train.cli, [*args, "--wandb_mode", "disabled", "--output_dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    history = json.loads((folder / "history.json").read_text())
    assert summary["status"] == "finished" and [row["epoch"] for row in history] == [1, 2]
    assert summary["best_val_accuracy"] == max(row["val_accuracy"] for row in history)
    data = datasets.load("fashion_mnist", tiny_idx)
    predicted = nn.Sequential.load(folder / "model.npz").predict(data.x_test).argmax(axis=1)
    assert summary["test_accuracy"] == pytest.approx(accuracy_score(data.y_test, predicted), abs=1e-12)
    macro_f1 = f1_score(data.y_test, predicted, labels=range(10), average="macro", zero_division=0)
    assert summary["test_macro_f1"] == pytest.approx(macro_f1, abs=1e-12)
    counts = np.loadtxt(folder / "confusion_matrix.csv", delimiter=",")
    np.testing.assert_array_equal(counts, confusion_matrix(data.y_test, predicted, labels=range(10)))
    assert f"test_acc {summary['test_accuracy']:.4f}" in result.output


@pytest.mark.slow
def test_one_epoch_run_writes_local_results_and_an_offline_wandb_run(tiny_idx, tmp_path):
    result = run_cli(
        [
            "--data_dir",
            str(tiny_idx),
            "-e",
            "2",
            "-b",
            "16",
            "-nhl",
            "1",
            "-sz",
            "32",
            "--wandb_mode",
            "offline",
            "--output_dir",
            "out",
            "--save_model",
            "--plots",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 2/2" in result.stdout and "wandb sync" in result.stdout
    folder = tmp_path / "out" / "hl_1_sz_32_bs_16_ac_ReLU_o_adam_lr_0.001_ep_2"  # epochs: not the default
    for name in (
        "config.json",
        "history.json",
        "history.csv",
        "summary.json",
        "samples.png",
        "curves.png",
        "confusion_matrix.png",
        "confusion_matrix.csv",
        "model.npz",
        "first_layer_weights.png",
        "weight_histograms.png",
    ):
        assert (folder / name).is_file(), name
    summary = json.loads((folder / "summary.json").read_text())
    history = json.loads((folder / "history.json").read_text())
    assert summary["status"] == "finished" and len(history) == 2
    assert history[0]["grad_norm/0"] > 0 and history[0]["grad_norm/1"] > 0  # per-layer gradient norms
    assert summary["best_val_accuracy"] == max(h["val_accuracy"] for h in history)
    # the saved model reproduces the reported test accuracy
    model = nn.Sequential.load(folder / "model.npz")
    assert model.metadata["task"] == "classification" and model.metadata["dataset"] == "fashion_mnist"
    data = datasets.load("fashion_mnist", tiny_idx)
    scores = nn.evaluate(model, model.metadata["loss"], data.x_test, data.y_test)
    assert scores["accuracy"] == pytest.approx(summary["test_accuracy"])
    assert np.loadtxt(folder / "confusion_matrix.csv", delimiter=",").sum() == len(data.y_test)
    shown = wandb_summary(offline_run(tmp_path))
    assert "finished" in shown
    for key in (
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "best_val_accuracy",
        "test_accuracy",
        "test_loss",
        "confusion_matrix_table",
        "confusion_matrix_image",
        "samples",
        "misclassified_test_examples",
        "worst_mistakes",
    ):
        assert re.search(rf"^\s+{key}\s", shown, re.MULTILINE), key
    assert f"{summary['test_accuracy']}"[:6] in shown


@pytest.mark.slow
def test_diverging_run_stops_cleanly_and_marks_wandb_failed(tiny_idx, tmp_path):
    result = run_cli(
        [
            "--data_dir",
            str(tiny_idx),
            "-o",
            "sgd",
            "-lr",
            "1000",
            "-a",
            "identity",
            "-e",
            "3",
            "--wandb_mode",
            "offline",
            "--output_dir",
            "out",
        ],
        tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "diverged" in result.stderr.strip().splitlines()[-1]
    folder = next((tmp_path / "out").iterdir())
    assert json.loads((folder / "summary.json").read_text())["status"] == "diverged"
    assert (folder / "history.json").is_file()
    assert re.search(r"state\s+failed|exit code 1", wandb_summary(offline_run(tmp_path)))


def test_save_model_accepts_sweep_style_values():
    assert configuration.convert("save_model", "True") is True
    assert configuration.convert("save_model", "false") is False


def signal_during_training(tmp_path, signum, *args):
    """Start a long digits run, send ``signum`` once epoch 3 is printed; ``(process, out, err)``."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "train.py"),
            "-d",
            "digits",
            "-e",
            "2000",
            "--wandb_mode",
            "offline",
            "--output_dir",
            "out",
            *args,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "WANDB_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"},
    )
    for line in process.stdout:
        if line.startswith("epoch    3/"):
            break
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    return process, out, err


@pytest.mark.slow
def test_ctrl_c_keeps_what_was_computed(tmp_path):
    process, out, err = signal_during_training(tmp_path, signal.SIGINT)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    folder = next((tmp_path / "out").iterdir())
    history = json.loads((folder / "history.json").read_text())
    assert len(history) >= 3
    assert json.loads((folder / "summary.json").read_text())["status"] == "interrupted"
    assert "interrupted" in out and "wandb sync" in out
    assert "exit code" in wandb_summary(offline_run(tmp_path))


def test_defaults_are_the_sweeps_best_configuration():
    best = presets.load_presets()["fmnist_top1"]
    assert {key: configuration.defaults()[key] for key in best} == {
        key: configuration.convert(key, v) for key, v in best.items()
    }


def test_preset_values_yield_to_explicit_flags():
    config = presets.resolve({"preset": "fmnist_top3", "epochs": 2})
    assert config.model.activation == "tanh" and config.model.hidden_size == 32 and config.training.epochs == 2
    result = CliRunner().invoke(train.cli, ["--preset", "nope"])
    assert result.exit_code == 2 and "unknown preset 'nope'" in result.output


@pytest.mark.slow
def test_patience_stops_early_and_reports_the_restored_best_epoch(tiny_idx, tmp_path):
    result = run_cli(
        [
            "--data_dir",
            str(tiny_idx),
            "-e",
            "40",
            "-b",
            "16",
            "--patience",
            "2",
            "--save_model",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
            "--l1",
            "0.0001",
            "--scaling",
            "standard",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    folder = next((tmp_path / "out").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    history = json.loads((folder / "history.json").read_text())
    assert summary["stopped_by"] == "EarlyStopping"
    assert summary["stopped_early_at_epoch"] == len(history) == summary["best_epoch"] + 2 < 40
    assert summary["restored_weights_of_epoch"] == summary["best_epoch"]
    # the saved model is the restored one: it scores the best validation accuracy
    model = nn.Sequential.load(folder / "model.npz")
    data = datasets.load("fashion_mnist", tiny_idx, scaling="standard")
    assert nn.evaluate(model, "cross_entropy", data.x_val, data.y_val)["accuracy"] == pytest.approx(
        summary["best_val_accuracy"]
    )


@pytest.mark.slow
def test_patience_without_a_validation_set_says_it_is_off(tmp_path):
    result = run_cli(
        [
            "-d",
            "digits",
            "-e",
            "2",
            "--patience",
            "1",
            "--val_fraction",
            "0",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "early stopping is off" in result.stdout
    history = json.loads(next((tmp_path / "out").glob("*/history.json")).read_text())
    assert len(history) == 2


def test_summary_prints_the_layers_and_trains_nothing(tmp_path):
    """``--summary``: the network's table for these options (the parameter count checked against the
    formula of each layer: conv k*k*c_in*f + f, dense n_in*n_out + n_out), and nothing is written."""
    result = run_cli(
        ["-d", "digits", "--arch", "cnn", "--filters", "4", "-nhl", "1", "-sz", "16", "--summary", "--output_dir", "o"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    conv, dense, out = 3 * 3 * 1 * 4 + 4, (4 * 4 * 4) * 16 + 16, 16 * 10 + 10  # 8x8 -> pool -> 4x4x4
    assert f"Total params: {conv + dense + out:,}" in result.stdout
    assert "(4, 4, 4)" in result.stdout and "Conv2D" in result.stdout
    assert not (tmp_path / "o").exists()


def test_every_preset_and_every_ensemble_member_resolves():
    """Each preset of presets.yaml (and each member of an ensemble preset) is a valid configuration."""
    from experiments import presets

    for name in presets.load_presets():
        presets.resolve({"preset": name})
        for member in presets.ensemble_members({"preset": name}):
            resolved = presets.resolve({"preset": name}, member)
            assert all(resolved.flat()[key] == value for key, value in member.items()), (name, member)
