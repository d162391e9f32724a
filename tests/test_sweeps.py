"""Sweep files (W&B's format) and their offline runner, sweep.py (Optuna)."""

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

import optimizers
from experiments import config as configuration
from experiments import presets
from sweeping import spec as specs
from tests.conftest import ROOT

SWEEP_FILES = [ROOT / "sweep.yaml", *sorted((ROOT / "sweeps").glob("*.yaml"))]


def run_sweep(args, cwd, timeout=300):
    env = {**os.environ, "WANDB_DIR": str(cwd), "WANDB_SILENT": "true", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def trials_csv(folder: Path) -> list[dict]:
    with open(folder / "trials.csv") as handle:
        return list(csv.DictReader(handle))


def write_sweep(path: Path, **content) -> Path:
    base = {
        "program": "train.py",
        "method": "grid",
        "metric": {"name": "val_accuracy", "goal": "maximize"},
        "command": ["${env}", "${interpreter}", "${program}", "${args}"],
    }
    path.write_text(yaml.safe_dump({**base, **content}))
    return path


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_every_key_is_a_cli_option_and_every_value_is_accepted(path):
    spec, _literal = specs.load(path)
    assert spec.parameters
    for name, parameter in spec.parameters.items():
        assert configuration.is_option(name), f"{path.name}: {name} is not a train.py option"
        for value in parameter.values:
            configuration.convert(name, value)  # raises click.BadParameter if train.py would reject it
        if name == "preset":
            for value in parameter.values:
                presets.resolve({"preset": value})


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_files_run_under_wandb_agent_unchanged(path):
    raw = yaml.safe_load(path.read_text())
    assert raw["program"] == "train.py"
    assert raw["command"] == ["${env}", "${interpreter}", "${program}", "${args}"]
    # logged every epoch by train.py (val_rmse: regression), or k-fold's summary of the folds
    assert raw["metric"]["name"] in ("val_accuracy", "val_loss", "val_rmse") or raw["metric"]["name"].startswith(
        "cv_val_"
    )
    for name, parameter in raw["parameters"].items():
        for value in parameter.get("values", [parameter.get("value")]):
            assert not (isinstance(value, str) and re.fullmatch(r"[-+0-9.eE]+", value)), (
                f"{path.name}: {name}={value!r} is a string to YAML; write decimals"
            )


def test_main_sweep_is_the_assignments_space():
    raw = yaml.safe_load((ROOT / "sweep.yaml").read_text())
    p = {k: v.get("values", [v.get("value")]) for k, v in raw["parameters"].items()}
    assert p["epochs"] == [5, 10] and p["num_layers"] == [3, 4, 5] and p["hidden_size"] == [32, 64, 128]
    assert p["weight_decay"] == [0, 0.0005, 0.5] and p["learning_rate"] == [0.001, 0.0001]
    assert p["optimizer"] == ["sgd", "momentum", "nag", "rmsprop", "adam", "nadam"]
    assert p["batch_size"] == [16, 32, 64] and p["weight_init"] == ["random", "Xavier"]
    assert p["activation"] == ["sigmoid", "tanh", "ReLU"]
    assert p["dataset"] == ["fashion_mnist"] and p["val_fraction"] == [0.1]
    assert raw["method"] in ("bayes", "random") and raw["early_terminate"]["type"] == "hyperband"


def agent_args(path: Path, pick=0) -> list[str]:
    """The arguments `wandb agent` builds: ${args} is --key=value for each parameter."""
    spec, _ = specs.load(path)
    return [f"--{name}={p.values[min(pick, len(p.values) - 1)]}" for name, p in spec.parameters.items()]


@pytest.mark.slow
def test_agent_command_line_runs_train_py(tiny_idx, tmp_path):
    args = [*agent_args(ROOT / "sweep.yaml", pick=2), "--save_model=True"]
    assert "--optimizer=nag" in args and "--activation=ReLU" in args
    env = {**os.environ, "FFNN_DATA_DIR": str(tiny_idx), "WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline"}
    # ${env} ${interpreter} ${program} ${args}
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args, "--output_dir=out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(next((tmp_path / "out").glob("*/config.json")).read_text())
    assert config["optimizer"] == "nag" and config["epochs"] == 10 and config["weight_decay"] == 0.5
    assert config["save_model"] is True and next((tmp_path / "out").glob("*/model.npz"))


def test_the_optimizer_sweep_compares_the_courses_rules_and_only_registered_ones():
    """Question 3's comparison holds the six rules the assignment names, every name a registered one; a
    new optimizer is one file and joins the comparison only when the file lists it (W&B needs the values
    written out)."""
    spec, _ = specs.load(ROOT / "sweeps" / "optimizers.yaml")
    values = spec.parameters["optimizer"].values
    assert {"sgd", "momentum", "nag", "rmsprop", "adam", "nadam"} <= set(values) <= set(optimizers.names())


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_every_sweep_file_passes_wandbs_own_validator(path):
    from sweeps import schema_violations_from_proposed_config

    violations = schema_violations_from_proposed_config(yaml.safe_load(path.read_text()))
    assert not violations, violations


@pytest.mark.parametrize(
    "content, message",
    [
        ({"parameters": {"epochs": {"values": [1], "probabilities": [1.0]}}}, "probabilities"),
        (
            {"method": "random", "parameters": {"learning_rate": {"distribution": "normal", "mu": 0, "sigma": 1}}},
            "mu|normal",
        ),
        ({"parameters": {"epochs": {"value": 1}}, "early_terminate": {"type": "envelope"}}, "hyperband"),
        (
            {
                "parameters": {"epochs": {"value": 1}},
                "early_terminate": {"type": "hyperband", "min_iter": 1, "strict": True},
            },
            "strict",
        ),
        ({"parameters": {"epochs": {"value": 1}}, "controller": {"type": "local"}}, "controller"),
        ({"parameters": {"learning_rate": {"min": 0.001, "max": 0.1}}}, "grid search needs values"),
        ({"method": "hyperopt", "parameters": {"epochs": {"value": 1}}}, "method"),
        ({"parameters": {"learning_rate": {"values": ["fast"]}}}, None),  # caught by the CLI check below
    ],
)
def test_unmappable_keys_are_rejected(content, message, tmp_path):
    path = write_sweep(tmp_path / "bad.yaml", **content)
    if message is None:
        result = run_sweep([path], tmp_path)
        assert result.returncode == 2 and "fast" in result.stderr and "Traceback" not in result.stderr
        return
    with pytest.raises(specs.SpecError, match=message):
        specs.load(path)
    result = run_sweep([path, "--wandb_mode", "disabled"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_distributions_map_exactly(tmp_path):
    path = write_sweep(
        tmp_path / "d.yaml",
        method="random",
        parameters={
            "learning_rate": {"distribution": "log_uniform_values", "min": 0.0001, "max": 0.1},
            "hidden_size": {"min": 8, "max": 64},
            "momentum": {"min": 0.5, "max": 0.99},
            "beta": {"distribution": "log_uniform", "min": -3.0, "max": -1.0},
        },
        early_terminate={"type": "hyperband", "max_iter": 27, "s": 2, "eta": 3},
    )
    spec, _ = specs.load(path)
    p = spec.parameters
    assert (p["learning_rate"].kind, p["learning_rate"].log) == ("float", True)
    assert p["hidden_size"].kind == "int" and p["momentum"].kind == "float"
    assert p["beta"].low == pytest.approx(0.049787, rel=1e-4)  # e^-3
    assert spec.min_iter == 3 and spec.eta == 3  # 27 / 3^2
    pruner = spec.pruner()
    assert isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(specs.load(ROOT / "sweep.yaml")[0].sampler(0), optuna.samplers.TPESampler)


@pytest.mark.slow
def test_offline_sweep_end_to_end(tiny_idx, tmp_path):
    result = run_sweep(
        [
            ROOT / "sweep.yaml",
            "--count",
            "3",
            "--set",
            "epochs=1",
            "--data_dir",
            tiny_idx,
            "--wandb_mode",
            "offline",
            "--output_dir",
            tmp_path / "out",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "TPE" in result.stdout and "successive halving" in result.stdout
    assert len(re.findall(r"^trial +\d+ ", result.stdout, re.MULTILINE)) == 3
    folder = tmp_path / "out" / "fashion_mnist_q4"  # sweep.yaml's name:
    rows = trials_csv(folder)
    assert len(rows) == 3 and {r["state"] for r in rows} <= {"complete", "pruned"}
    assert "python train.py" in (folder / "report.md").read_text()
    for name in ("best.json", "parallel_coordinates.png", "curves.png"):
        assert (folder / name).is_file(), name
    assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == 3  # each trial is a W&B run
    assert len(list((folder / "runs").iterdir())) == 3  # and has its local results


@pytest.mark.slow
def test_run_cap_is_honoured(tmp_path):
    path = write_sweep(
        tmp_path / "cap.yaml",
        run_cap=2,
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 1},
            "learning_rate": {"values": [0.01, 0.001, 0.0001]},
        },
    )
    result = run_sweep([path, "--count", "5", "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r["state"] for r in trials_csv(tmp_path / "o" / "cap")] == ["complete", "complete", "waiting"]


@pytest.mark.slow
def test_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    path = write_sweep(
        tmp_path / "fail.yaml",
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 3},
            "optimizer": {"value": "sgd"},
            "activation": {"value": "identity"},
            "learning_rate": {"values": [10000.0, 0.01]},
        },
    )
    result = run_sweep([path, "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path)
    assert result.returncode == 0, result.stderr
    states = {row["learning_rate"]: row["state"] for row in trials_csv(tmp_path / "o" / "fail")}
    assert states == {"10000.0": "fail", "0.01": "complete"}
    assert "diverged" in result.stdout


@pytest.mark.slow
def test_hyperband_prunes_runs_that_fall_behind(tmp_path):
    path = write_sweep(
        tmp_path / "hb.yaml",
        early_terminate={"type": "hyperband", "min_iter": 1, "eta": 2},
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 4},
            "optimizer": {"value": "sgd"},
            "learning_rate": {"values": [0.05, 0.02, 0.01, 0.003, 0.001, 0.0001]},
        },
    )
    result = run_sweep([path, "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = trials_csv(tmp_path / "o" / "hb")
    pruned = [r for r in rows if r["state"] == "pruned"]
    assert pruned and min(int(r["last_reported_epoch"]) for r in pruned) < 4  # stopped early
    assert "pruned at epoch" in result.stdout
    assert [r["state"] for r in rows if r["learning_rate"] == "0.05"] == ["complete"]


@pytest.mark.slow
def test_interrupted_sweep_resumes_where_it_stopped(tmp_path):
    path = write_sweep(
        tmp_path / "resume.yaml",
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 400},
            "learning_rate": {"values": [0.01, 0.001, 0.0001]},
        },
    )
    args = [
        sys.executable,
        str(ROOT / "sweep.py"),
        str(path),
        "--wandb_mode",
        "disabled",
        "--output_dir",
        str(tmp_path / "o"),
    ]
    process = subprocess.Popen(
        args,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in process.stdout:
        if line.startswith("trial   0 complete"):
            break
    time.sleep(2)  # trial 1 (about 8 s) is training now
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err
    assert "recorded as failed and will be run again" in out
    first = trials_csv(tmp_path / "o" / "resume")
    assert [r["state"] for r in first] == ["complete", "fail", "waiting", "waiting"]  # grid point, retry
    interrupted_lr = first[1]["learning_rate"]
    result = run_sweep([path, "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "resuming: 2 trials already run, 2 queued" in result.stdout
    rows = trials_csv(tmp_path / "o" / "resume")
    complete = [r for r in rows if r["state"] == "complete"]
    assert sorted(r["learning_rate"] for r in complete) == ["0.0001", "0.001", "0.01"]
    retry = [r for r in rows if r.get("retry_of")]
    assert retry and retry[0]["learning_rate"] == interrupted_lr and retry[0]["state"] == "complete"


@pytest.mark.slow
def test_a_repeated_configuration_is_not_trained_again(tmp_path):
    path = write_sweep(
        tmp_path / "dup.yaml",
        method="random",
        parameters={"dataset": {"value": "digits"}, "epochs": {"value": 1}, "learning_rate": {"values": [0.01, 0.001]}},
    )
    result = run_sweep([path, "--count", "6", "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = trials_csv(tmp_path / "o" / "dup")
    trained = [r for r in rows if not r.get("duplicate_of")]
    distinct = {r["learning_rate"] for r in rows}  # one or two: the random sampler's seed mixes in the pid
    assert len(rows) == 6 and len(trained) == len(distinct)  # each distinct configuration trained once
    assert len(list((tmp_path / "o" / "dup" / "runs").iterdir())) == len(distinct)
    by_lr = {r["learning_rate"]: r["value"] for r in trained}
    assert all(r["value"] == by_lr[r["learning_rate"]] for r in rows)
    assert "same as #" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted((ROOT / "sweeps").glob("study_*.yaml")), ids=lambda p: p.stem)
def test_each_study_runs_offline_end_to_end_on_tiny_data(path, tmp_path):
    from tests.conftest import make_idx_folder

    data = tmp_path / "data"
    make_idx_folder(data / "fashion-mnist", n_train=120, n_test=30)
    make_idx_folder(data / "mnist", n_train=120, n_test=30, seed=1)
    result = run_sweep(
        [
            path,
            "--count",
            "3",
            "--set",
            "epochs=1",
            "--set",
            "hidden_size=16",
            "--data_dir",
            data,
            "--wandb_mode",
            "disabled",
            "--output_dir",
            tmp_path / "o",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = [r for r in trials_csv(tmp_path / "o" / path.stem) if r["state"] != "waiting"]
    spec = specs.load(path)[0]
    size = spec.grid_size()  # None: not a grid (random or bayes over lists)
    finished = ("complete", "pruned") if spec.min_iter is not None else ("complete",)  # hyperband may stop one
    assert len(rows) == min(3, size or 3) and all(r["state"] in finished for r in rows), rows
    assert (tmp_path / "o" / path.stem / "curves.png").is_file()


def test_a_sweep_file_with_a_yaml_syntax_error_names_the_line(tmp_path):
    from sweeping import spec as specs

    path = tmp_path / "broken.yaml"
    path.write_text("program: train.py\nmethod: grid\nparameters:\n  epochs: {values: [1, 2]\n  seed: 1\n")
    with pytest.raises(specs.SpecError, match=r"broken.yaml, line 5: not valid YAML: .*from line 4"):
        specs.load(path)
