"""evaluate.py: saved models on their test set, alone and as an ensemble."""

import json
import subprocess
import sys

import numpy as np
import pytest

import datasets
import nn
from experiments.model_files import confusion_file_name
from tests.conftest import ROOT
from tests.test_cli import run_cli

pytestmark = pytest.mark.slow  # every test reads the models four train.py processes make (module fixture)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Three digits models from three seeds (one with another scaling) and a breast_cancer model."""
    folder = tmp_path_factory.mktemp("models")
    paths = []
    for seed, scaling in ((0, "minmax"), (1, "standard"), (2, "minmax")):
        result = run_cli(
            [
                "-d",
                "digits",
                "-e",
                "4",
                "-nhl",
                "1",
                "-sz",
                "32",
                "--seed",
                str(seed),
                "--scaling",
                scaling,
                "--save_model",
                "--wandb_mode",
                "disabled",
                "--output_dir",
                f"s{seed}",
            ],
            folder,
        )
        assert result.returncode == 0, result.stderr
        paths.append(next((folder / f"s{seed}").iterdir()))
    other = run_cli(
        [
            "-d",
            "breast_cancer",
            "-e",
            "2",
            "-nhl",
            "1",
            "-sz",
            "8",
            "--save_model",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "bc",
        ],
        folder,
    )
    assert other.returncode == 0, other.stderr
    return folder, paths, next((folder / "bc").iterdir())


def evaluate(args, cwd):
    result = subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result


def test_one_model_reproduces_its_runs_test_metrics(trained, tmp_path):
    _, paths, _ = trained
    result = evaluate([paths[1] / "model.npz", "--json", "--output_dir", tmp_path / "e"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    summary = json.loads((paths[1] / "summary.json").read_text())
    assert report["accuracy"] == pytest.approx(summary["test_accuracy"])
    assert report["macro_f1"] == pytest.approx(summary["test_macro_f1"])
    assert report["per_class"]["3"]["f1"] == pytest.approx(summary["test_f1/3"])
    figure = tmp_path / "e" / confusion_file_name([paths[1] / "model.npz"])
    assert figure.name.startswith(paths[1].name) and figure.is_file()
    assert f"confusion matrix: {figure}" in result.stdout
    assert "precision  recall" in result.stdout  # the per-class table, also with --json


def test_the_ensemble_is_the_mean_of_the_members_softmax(trained, tmp_path):
    _, paths, _ = trained
    result = evaluate([p / "model.npz" for p in paths] + ["-d", "digits", "--json", "--output_dir", tmp_path], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    raw = datasets.load("digits", val_fraction=0, scaling="none")
    probabilities = []
    for path in paths:  # written out here: each model's own preprocessing, then the softmax of its outputs
        model = nn.Sequential.load(path / "model.npz")
        x = datasets.Preprocessing.from_dict(model.metadata["preprocessing"]).apply(raw.x_test.copy())
        z = model.predict(x).astype(np.float64)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        probabilities.append(e / e.sum(axis=1, keepdims=True))
    mean = np.mean(probabilities, axis=0)
    assert report["ensemble"]["accuracy"] == pytest.approx(np.mean(mean.argmax(axis=1) == raw.y_test))
    assert report["ensemble"]["loss"] == pytest.approx(-np.mean(np.log(mean[np.arange(len(raw.y_test)), raw.y_test])))
    assert [m["accuracy"] for m in report["members"]] == pytest.approx(
        [np.mean(p.argmax(axis=1) == raw.y_test) for p in probabilities]
    )
    assert report["accuracy"] == report["ensemble"]["accuracy"] and "ensemble of 3" in result.stdout


def test_fgsm_lowers_every_accuracy(trained, tmp_path):
    _, paths, _ = trained
    result = evaluate(
        [paths[0] / "model.npz", paths[2] / "model.npz", "--fgsm_eps", "0.1", "--json", "--output_dir", tmp_path],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for entry in report["members"] + [report["ensemble"]]:
        assert entry["accuracy_fgsm"] < entry["accuracy"]


def test_models_that_do_not_fit_together_or_the_data_exit_2(trained, tmp_path):
    _, paths, cancer = trained
    mixed = evaluate([paths[0] / "model.npz", cancer / "model.npz"], tmp_path)
    other_set = evaluate([paths[0] / "model.npz", "-d", "mnist"], tmp_path)
    (tmp_path / "broken.npz").write_bytes((paths[0] / "model.npz").read_bytes()[:300])
    broken = evaluate([tmp_path / "broken.npz"], tmp_path)
    for result, words in ((mixed, "disagree"), (other_set, "trained on digits"), (broken, "broken.npz")):
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], lines


def test_the_run_folder_lists_every_misclassified_test_example(trained):
    import csv

    _, paths, _ = trained
    model = nn.Sequential.load(paths[0] / "model.npz")
    data = datasets.load("digits", seed=0)
    predictions = model.predict(data.x_test).argmax(axis=1)
    with open(paths[0] / "mistakes.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(r["index"]) for r in rows) == np.flatnonzero(predictions != data.y_test).tolist()
    first = rows[0]
    assert first["predicted"] == str(predictions[int(first["index"])]) != first["true"]
    confidence = [float(r[f"p({r['predicted']})"]) for r in rows]
    assert confidence == sorted(confidence, reverse=True)  # most confident mistakes first
    assert (paths[0] / "worst_mistakes.png").is_file()
