"""Regression and tabular data, k-fold cross-validation, the perceptron, pattern order, the 2026 interface."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

import datasets
import nn
import optimizers
import train
from experiments import config as configuration
from nn.layers import Dense
from tests.test_cli import run_cli


def test_the_tabular_and_synthetic_sets():
    sine = datasets.load("sine", val_fraction=0, scaling="none")
    assert sine.task == "regression" and sine.x_train.shape == (1000, 1) and sine.x_test.shape == (1000, 1)
    assert np.abs(sine.x_train).max() <= 2 * np.pi
    noise = sine.y_train[:, 0] - np.sin(sine.x_train[:, 0])
    assert abs(noise.std() - 0.1) < 0.01  # y = sin(x) + 0.1 N(0, 1)
    np.testing.assert_array_equal(datasets.load("sine", val_fraction=0, scaling="none", seed=7).x_train, sine.x_train)
    diabetes = datasets.load("diabetes", val_fraction=0)
    assert diabetes.task == "regression" and diabetes.n_features == 10 and diabetes.n_outputs == 1
    cancer = datasets.load("breast_cancer", val_fraction=0)
    assert cancer.task == "classification" and cancer.n_features == 30 and cancer.class_names == ["malignant", "benign"]


def test_tabular_minmax_is_per_feature_like_scikit_learn():
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    raw = datasets.load("breast_cancer", val_fraction=0, scaling="none")
    for scaling, oracle in (("minmax", MinMaxScaler()), ("standard", StandardScaler())):
        scaled = datasets.load("breast_cancer", val_fraction=0, scaling=scaling)
        np.testing.assert_allclose(scaled.x_train, oracle.fit_transform(raw.x_train.astype(np.float64)), atol=2e-5)
        np.testing.assert_allclose(scaled.x_test, oracle.transform(raw.x_test.astype(np.float64)), atol=2e-5)


@pytest.mark.slow
def test_a_regression_run_reports_rmse_mae_r2_and_a_fit_plot(tmp_path):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    result = run_cli(
        [
            "-d",
            "sine",
            "-l",
            "mean_squared_error",
            "--scaling",
            "standard",
            "-e",
            "40",
            "-nhl",
            "2",
            "-sz",
            "32",
            "-a",
            "tanh",
            "-lr",
            "0.01",
            "-b",
            "32",
            "--save_model",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    folder = next((tmp_path / "out").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    history = json.loads((folder / "history.json").read_text())
    assert {"train_rmse", "train_r2", "val_rmse", "val_mae", "val_r2"} <= set(history[-1])
    assert "test_accuracy" not in summary and not (folder / "confusion_matrix.png").exists()
    assert (folder / "fit.png").is_file() and summary["best_epoch"] >= 1 and "best_val_rmse" in summary
    model = nn.Sequential.load(folder / "model.npz")
    data = datasets.load("sine", scaling="standard")
    predictions = model.predict(data.x_test)
    assert summary["test_rmse"] == pytest.approx(np.sqrt(mean_squared_error(data.y_test, predictions)), rel=1e-5)
    assert summary["test_mae"] == pytest.approx(mean_absolute_error(data.y_test, predictions), rel=1e-5)
    assert summary["test_r2"] == pytest.approx(r2_score(data.y_test, predictions), rel=1e-5)
    assert summary["test_r2"] > 0.8  # it learned the sine


@pytest.mark.parametrize(
    "args",
    [
        ["-d", "sine", "-l", "cross_entropy"],
        ["-d", "sine", "-l", "perceptron"],
        ["-d", "digits", "-l", "squared_error"],
    ],
)
def test_a_loss_of_the_other_task_exits_2(args, tmp_path):
    result = run_cli([*args, "--wandb_mode", "disabled", "--output_dir", "out"], tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "task" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_cross_validation_trains_one_model_per_fold_and_reports_mean_and_std(tmp_path):
    result = run_cli(
        [
            "-d",
            "breast_cancer",
            "--folds",
            "4",
            "-e",
            "3",
            "-nhl",
            "1",
            "-sz",
            "16",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    folder = next((tmp_path / "out").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    folds = [json.loads((folder / f"fold{i}" / "summary.json").read_text()) for i in range(1, 5)]
    values = [f["best_val_accuracy"] for f in folds]
    assert [summary[f"fold{i}_val_accuracy"] for i in range(1, 5)] == values
    assert summary["cv_val_accuracy_mean"] == pytest.approx(np.mean(values))
    assert summary["cv_val_accuracy_std"] == pytest.approx(np.std(values))
    cancer = datasets.load("breast_cancer", val_fraction=0)
    # stratified: each validation fold keeps the class balance of the training set
    for _train_index, val_index in datasets.kfold(cancer.y_train, 4, 0):
        share = np.mean(cancer.y_train[val_index])
        assert abs(share - np.mean(cancer.y_train)) < 0.02


@pytest.mark.slow
def test_cross_validation_of_regression_reports_rmse(tmp_path):
    result = run_cli(
        [
            "-d",
            "diabetes",
            "-l",
            "mean_squared_error",
            "--folds",
            "3",
            "-e",
            "2",
            "-nhl",
            "1",
            "-sz",
            "8",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((next((tmp_path / "out").iterdir()) / "summary.json").read_text())
    assert {"cv_val_rmse_mean", "cv_val_rmse_std", "fold3_val_rmse"} <= set(summary)


def test_one_perceptron_update_is_rosenblatts_rule():
    """SGD, batch 1, learning rate 1 on the perceptron criterion: on a mistake,
    w_y += x and w_j* -= x (j* the best-scoring wrong class), biases +1 / -1."""
    W = np.array([[0.5, -0.2, 0.1], [0.3, 0.4, -0.6]])  # 2 inputs, 3 classes
    b = np.array([0.0, 0.1, 0.0])
    x, y = np.array([[1.0, 2.0]]), np.array([2])
    scores = x @ W + b  # [1.1, 0.7, -1.1]: predicts class 0, a mistake
    model = nn.Sequential([Dense(2, 3, "zero")], dtype=np.float64)
    model.params["dense_0.W"][...], model.params["dense_0.b"][...] = W, b
    nn.fit(model, "perceptron", optimizers.make("sgd", learning_rate=1.0), nn.Batches(x, y, 1), epochs=1)
    expected_W, expected_b = W.copy(), b.copy()
    expected_W[:, 2] += x[0]
    expected_W[:, int(scores.argmax())] -= x[0]
    expected_b[2] += 1
    expected_b[0] -= 1
    np.testing.assert_allclose(model.params["dense_0.W"], expected_W)
    np.testing.assert_allclose(model.params["dense_0.b"], expected_b)
    x2 = np.array([[-5.0, 1.0]])
    y2 = (x2 @ expected_W + expected_b).argmax(axis=1)  # classified right (uniquely): no update
    nn.fit(model, "perceptron", optimizers.make("sgd", learning_rate=1.0), nn.Batches(x2, y2, 1), epochs=1)
    np.testing.assert_allclose(model.params["dense_0.W"], expected_W)


def test_the_perceptron_separates_a_separable_set_in_finitely_many_epochs():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(200, 2))
    margin = x @ np.array([1.0, -2.0]) + 0.3
    keep = np.abs(margin) > 0.1  # a margin, so the convergence theorem bounds the mistakes
    x, y = x[keep], (margin[keep] > 0).astype(np.int64)
    model = nn.mlp([2, 2], activation="identity", weight_init="zero", dtype=np.float64)
    history = nn.fit(
        model,
        "perceptron",
        optimizers.make("sgd", learning_rate=1.0),
        nn.Batches(x, y, 1, order="fixed"),
        epochs=100,
        callbacks=[StopWhenSeparated()],
    )
    assert len(history) < 100 and history[-1]["train_loss"] == 0.0 and history[-1]["train_accuracy"] == 1.0


class StopWhenSeparated(nn.Callback):
    def on_epoch_end(self, epoch, metrics):
        if metrics["train_loss"] == 0.0:
            raise nn.StopTraining


def test_pattern_orders():
    y = np.array([2, 0, 1, 0, 2, 1])
    x = np.arange(6, dtype=np.float32)[:, None]
    assert [int(yb[0]) for _, yb in nn.Batches(x, y, 1, order="sorted")] == [0, 0, 1, 1, 2, 2]
    assert [int(xb[0, 0]) for xb, _ in nn.Batches(x, y, 1, order="fixed")] == [0, 1, 2, 3, 4, 5]
    shuffled = [int(xb[0, 0]) for xb, _ in nn.Batches(x, y, 1, seed=3)]
    assert sorted(shuffled) == list(range(6)) and shuffled != list(range(6))


@pytest.mark.slow
def test_log_every_writes_the_within_epoch_loss(tmp_path):
    """Every 10th mini-batch's loss in batch_loss.csv; with --log_every 1, every mini-batch's, whose mean
    over an epoch (weighted by the batch sizes) is the epoch's train_loss. Weight decay is on, so a
    penalty in the batch loss would show."""

    def batch_losses(every):
        output = f"every_{every}"
        result = run_cli(
            [
                "-d",
                "digits",
                "-e",
                "2",
                "-b",
                "16",
                "--order",
                "sorted",
                "--log_every",
                str(every),
                "-w_d",
                "0.01",
                "-nhl",
                "1",
                "-sz",
                "16",
                "--wandb_mode",
                "disabled",
                "--output_dir",
                output,
            ],
            tmp_path,
        )
        assert result.returncode == 0, result.stderr
        folder = next((tmp_path / output).iterdir())
        assert folder.name.endswith("_sorted")
        with open(folder / "batch_loss.csv") as handle:
            rows = [(int(r["batch"]), int(r["epoch"]), float(r["batch_loss"])) for r in csv.DictReader(handle)]
        return rows, json.loads((folder / "history.json").read_text())

    sizes = [16] * (1293 // 16) + [1293 % 16]  # 1,293 training images in mini-batches of 16, the rest last
    n_batches = len(sizes)
    every_10th, _ = batch_losses(10)
    every_one, history = batch_losses(1)
    assert [batch for batch, _, _ in every_one] == list(range(1, 2 * n_batches + 1))
    assert [epoch for _, epoch, _ in every_one] == [1] * n_batches + [2] * n_batches
    assert every_10th == [row for row in every_one if row[0] % 10 == 0]  # the same losses, every 10th batch
    assert len(history) == 2
    for epoch, row in enumerate(history):
        losses = [loss for _, _, loss in every_one[epoch * n_batches : (epoch + 1) * n_batches]]
        mean = sum(size * loss for size, loss in zip(sizes, losses)) / 1293
        assert row["train_loss"] == pytest.approx(mean, rel=1e-12) and row["train_penalty"] > 0


def test_the_2026_interface_aliases():
    explicit = CliRunner().invoke(train.cli, ["--help"])
    for flag in ("-wd", "-wi", "-sz"):
        assert flag in explicit.output
    ctx = train.cli.make_context(
        "train.py", ["-wd", "0.01", "-wi", "he", "-nhl", "3", "-sz", "128", "64", "32", "-a", "relu"]
    )
    assert ctx.params["weight_decay"] == 0.01 and ctx.params["weight_init"] == "He"
    assert ctx.params["hidden_size"] == (128, 64, 32) and ctx.params["activation"] == "ReLU"
    assert train.cli.make_context("train.py", ["-sz", "64"]).params["hidden_size"] == 64
    assert configuration.convert("hidden_size", [32, 16]) == (32, 16)  # as a sweep file may give it


@pytest.mark.slow
def test_layer_sizes_per_layer_and_a_mismatch(tmp_path):
    ok = run_cli(
        [
            "-d",
            "digits",
            "-e",
            "1",
            "-nhl",
            "3",
            "-sz",
            "32",
            "16",
            "8",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
            "--save_model",
        ],
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    model = nn.Sequential.load(next((tmp_path / "out").iterdir()) / "model.npz")
    assert [model.params[n].shape for n in model.decayed_names()] == [(64, 32), (32, 16), (16, 8), (8, 10)]
    bad = run_cli(["-d", "digits", "-nhl", "2", "-sz", "32", "16", "8", "--wandb_mode", "disabled"], tmp_path)
    assert bad.returncode == 2 and "3 sizes" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_classification_summary_has_per_class_precision_recall_f1(tmp_path):
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    result = run_cli(
        [
            "-d",
            "breast_cancer",
            "-e",
            "5",
            "-nhl",
            "1",
            "-sz",
            "16",
            "--save_model",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    folder = next((tmp_path / "out").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    data = datasets.load("breast_cancer")
    predictions = nn.Sequential.load(folder / "model.npz").predict(data.x_test).argmax(axis=1)
    precision, recall, f1, _ = precision_recall_fscore_support(data.y_test, predictions, zero_division=0)
    for k, name in enumerate(data.class_names):
        assert summary[f"test_precision/{name}"] == pytest.approx(precision[k])
        assert summary[f"test_recall/{name}"] == pytest.approx(recall[k])
        assert summary[f"test_f1/{name}"] == pytest.approx(f1[k])
    assert summary["test_macro_f1"] == pytest.approx(f1_score(data.y_test, predictions, average="macro"))


@pytest.mark.slow
def test_a_sweep_can_optimise_the_cross_validated_score(tmp_path):
    from tests.test_sweeps import run_sweep, trials_csv, write_sweep

    path = write_sweep(
        tmp_path / "cv.yaml",
        metric={"name": "cv_val_accuracy_mean", "goal": "maximize"},
        parameters={
            "dataset": {"value": "breast_cancer"},
            "folds": {"value": 3},
            "epochs": {"value": 2},
            "num_layers": {"value": 1},
            "hidden_size": {"value": 8},
            "learning_rate": {"values": [0.01, 0.001]},
        },
    )
    result = run_sweep([path, "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = trials_csv(tmp_path / "o" / "cv")
    assert [r["state"] for r in rows] == ["complete", "complete"]
    for row in rows:
        summary = json.loads(
            (
                tmp_path / "o" / "cv" / "runs" / f"lr_{row['learning_rate']}" / "summary.json"  # named by what varies
            ).read_text()
        )
        assert float(row["value"]) == pytest.approx(summary["cv_val_accuracy_mean"])
