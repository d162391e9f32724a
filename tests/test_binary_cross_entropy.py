"""``-l binary_cross_entropy``: one sigmoid output unit for two classes.

The loss and its gradients against central finite differences, scikit-learn's ``log_loss`` and
scipy's ``expit``; whole runs (breast_cancer; a two-class 8-bit image file for FGSM and saliency)
against scikit-learn's metrics of the saved model's outputs and against ``evaluate.py``; the
refusals (ten classes, a regression set, label smoothing) as one line and exit code 2."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.special import expit
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss

import datasets
import nn
import optimizers
from experiments import model_files
from nn import losses, metrics

BCE = losses.LOSSES["binary_cross_entropy"]
H = 1e-6


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def written_out(z, y):
    """``-(1/N) sum [y log p + (1 - y) log(1 - p)]`` with ``p = 1 / (1 + exp(-z))``, for moderate logits."""
    p = 1.0 / (1.0 + np.exp(-z[:, 0]))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


# -- the loss ---------------------------------------------------------------------------------
def test_value_is_the_written_out_formula_and_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    z = rng.normal(scale=3.0, size=(9, 1))
    y = rng.integers(0, 2, size=9)
    before = z.copy()
    value, grad = BCE.value_and_grad(z, y)
    np.testing.assert_array_equal(z, before)
    assert value == pytest.approx(written_out(z, y), rel=1e-12)
    assert grad.shape == z.shape and BCE.value_and_grad(z, y, need_grad=False) == (value, None)
    numeric = np.zeros_like(z)
    for i in range(len(z)):
        saved = z[i, 0]
        z[i, 0] = saved + H
        plus = BCE.value_and_grad(z, y, need_grad=False)[0]
        z[i, 0] = saved - H
        minus = BCE.value_and_grad(z, y, need_grad=False)[0]
        z[i, 0] = saved
        numeric[i, 0] = (plus - minus) / (2 * H)
    assert relative_error(grad, numeric) < 1e-7
    np.testing.assert_allclose(grad[:, 0], (expit(z[:, 0]) - y) / len(y), rtol=1e-12)


def test_value_equals_scikit_learns_log_loss_of_the_same_probabilities():
    rng = np.random.default_rng(5)
    z = rng.normal(scale=4.0, size=(200, 1))
    y = rng.integers(0, 2, size=200)
    p = expit(z[:, 0])
    two_columns = np.column_stack([1 - p, p])
    np.testing.assert_allclose(BCE.predict(z), two_columns, rtol=1e-12, atol=1e-15)
    assert BCE.value_and_grad(z, y)[0] == pytest.approx(log_loss(y, two_columns), rel=1e-12)
    assert metrics.log_loss(y, BCE.predict(z)) == pytest.approx(log_loss(y, two_columns), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_logits_stay_finite_and_exact(dtype):
    z = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0], [0.0]], dtype=dtype)
    y = np.array([1, 1, 0, 0, 1])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, grad = BCE.value_and_grad(z, y)
        probabilities = BCE.predict(z)
    # per example: -log p = 0, 1000, then -log(1 - p) = 1000, 0, and log 2 at z = 0
    assert value == pytest.approx((0 + 1000 + 1000 + 0 + np.log(2)) / 5, rel=1e-12)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad[:, 0], np.array([0.0, -1.0, 1.0, 0.0, -0.5]) / 5, rtol=1e-6)
    np.testing.assert_array_equal(probabilities[:4], [[0, 1], [1, 0], [0, 1], [1, 0]])
    np.testing.assert_array_equal(losses.predicted_classes(z), [1, 0, 1, 0, 0])  # z = 0 is class 0


def test_gradient_through_a_network_and_to_its_inputs_matches_finite_differences():
    rng = np.random.default_rng(11)
    model = nn.mlp([5, 4, 1], activation="tanh", weight_init="Xavier", seed=2, dtype=np.float64)
    for param in model.params.values():
        param += rng.normal(scale=0.3, size=param.shape)
    x, y = rng.normal(size=(7, 5)), rng.integers(0, 2, size=7)
    _, analytic = nn.objective_and_grads(model, BCE, x, y, weight_decay=0.1)
    for name, param in model.params.items():
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + H
            plus = nn.objective_and_grads(model, BCE, x, y, weight_decay=0.1)[0]
            param[index] = saved - H
            minus = nn.objective_and_grads(model, BCE, x, y, weight_decay=0.1)[0]
            param[index] = saved
            numeric[index] = (plus - minus) / (2 * H)
        assert relative_error(analytic[name], numeric) < 1e-6, name
    value, dx = nn.input_gradient(model, BCE, x, y)  # what FGSM follows
    assert value == pytest.approx(written_out(model.predict(x), y), rel=1e-12)
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[index] += H
        plus = written_out(model.predict(shifted), y)
        shifted[index] -= 2 * H
        numeric[index] = (plus - written_out(model.predict(shifted), y)) / (2 * H)
    assert relative_error(dx, numeric) < 1e-6


def test_units_targets_and_the_metrics_read_one_column_as_two_classes():
    assert BCE.units(2) == 1 and losses.LOSSES["cross_entropy"].units(10) == 10
    with pytest.raises(ValueError, match="two classes"):
        BCE.units(10)
    BCE.check_targets(np.array([0, 1, 1]), 1)
    for bad, outputs in ((np.array([0, 2]), None), (np.array([0.0, 1.0]), None), (np.array([0, 1]), 2)):
        with pytest.raises(ValueError):
            BCE.check_targets(bad, outputs)
    with pytest.raises(ValueError, match="one output unit"):
        BCE.value_and_grad(np.zeros((3, 2)), np.array([0, 1, 1]))
    rng = np.random.default_rng(2)
    z = np.vstack([rng.normal(size=(50, 1)), [[0.0]]])
    y = rng.integers(0, 2, size=51)
    accumulator = metrics.for_task("classification")
    accumulator.update(z[:20], y[:20])
    accumulator.update(z[20:], y[20:])
    assert accumulator.result()["accuracy"] == pytest.approx(accuracy_score(y, z[:, 0] > 0), abs=1e-15)
    np.testing.assert_array_equal(losses.class_logits(z), np.column_stack([np.zeros(51), z[:, 0]]))


# -- whole runs ---------------------------------------------------------------------------------
def train(tmp_path, *args):
    import train as command

    folder = tmp_path / "runs"
    result = CliRunner().invoke(command.cli, [*args, "--wandb_mode", "disabled", "--output_dir", str(folder)])
    return result, folder


def finished_run(tmp_path, *args):
    result, folder = train(tmp_path, *args)
    assert result.exit_code == 0, result.output
    (run,) = folder.iterdir()
    return run, json.loads((run / "summary.json").read_text())


def evaluate(*args):
    import evaluate as command

    result = CliRunner().invoke(command.cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


COMMON = ["-d", "breast_cancer", "-e", "10", "-b", "32", "-nhl", "1", "-sz", "16", "-lr", "0.01", "--save_model"]


def test_breast_cancer_trains_as_well_as_cross_entropy_and_evaluate_agrees(tmp_path):
    run, summary = finished_run(tmp_path / "bce", *COMMON, "-l", "binary_cross_entropy")
    _, softmax_summary = finished_run(tmp_path / "ce", *COMMON, "-l", "cross_entropy")
    assert summary["test_accuracy"] >= 0.9 and softmax_summary["test_accuracy"] >= 0.9
    assert abs(summary["test_accuracy"] - softmax_summary["test_accuracy"]) <= 0.05
    model = nn.Sequential.load(run / "model.npz")
    assert model.output_shape(30) == (1,) and model.metadata["loss"] == "binary_cross_entropy"
    data = datasets.load("breast_cancer")
    z = model.predict(data.x_test).astype(np.float64)
    predicted = (z[:, 0] > 0).astype(int)
    assert summary["test_accuracy"] == pytest.approx(accuracy_score(data.y_test, predicted), abs=1e-12)
    p = expit(z[:, 0])
    assert summary["test_loss"] == pytest.approx(log_loss(data.y_test, np.column_stack([1 - p, p])), rel=1e-6)
    counts = np.loadtxt(run / "confusion_matrix.csv", delimiter=",")
    np.testing.assert_array_equal(counts, confusion_matrix(data.y_test, predicted, labels=[0, 1]))
    assert (run / "confusion_matrix.png").is_file()
    report = evaluate(run / "model.npz", "--output_dir", tmp_path / "evaluate", "--json")
    assert report["accuracy"] == summary["test_accuracy"]
    assert report["loss"] == pytest.approx(summary["test_loss"], rel=1e-9)
    assert report["macro_f1"] == pytest.approx(summary["test_macro_f1"], abs=1e-12)


def save_breast_cancer_model(path, seed, data):
    """A one-unit model trained here with nn.fit and saved as train.py saves one; its test z."""
    model = nn.mlp([data.n_features, 8, 1], activation="tanh", weight_init="xavier", seed=seed)
    batches = nn.Batches(data.x_train, data.y_train, 32, seed=seed)
    nn.fit(model, BCE, optimizers.make("adam", learning_rate=0.01), batches, epochs=3)
    model.metadata = {
        "task": data.task,
        "dataset": data.name,
        "class_names": data.class_names,
        "loss": "binary_cross_entropy",
        "n_features": data.n_features,
        "image_shape": None,
        "pixels": False,
        "preprocessing": data.preprocessing.to_dict(),
        "config": {},
    }
    model.save(path)
    return model.predict(data.x_test).astype(np.float64)[:, 0]


def test_an_ensemble_of_one_unit_models_averages_their_two_class_probabilities(tmp_path):
    data = datasets.load("breast_cancer")
    paths = [tmp_path / f"seed{seed}.npz" for seed in (0, 1)]
    z = [save_breast_cancer_model(path, seed, data) for path, seed in zip(paths, (0, 1))]
    mean = np.mean([np.column_stack([1 - expit(v), expit(v)]) for v in z], axis=0)
    report = model_files.report(paths, output_dir=tmp_path / "evaluate")
    assert report["ensemble"]["accuracy"] == pytest.approx(accuracy_score(data.y_test, mean.argmax(axis=1)))
    assert report["ensemble"]["loss"] == pytest.approx(log_loss(data.y_test, mean), rel=1e-9)
    for entry, values in zip(report["members"], z):
        assert entry["accuracy"] == pytest.approx(accuracy_score(data.y_test, values > 0))
    refused = nn.Sequential.load(paths[0])
    refused.metadata["loss"] = "cross_entropy"  # two class names would need two outputs
    with pytest.raises(model_files.EvaluationError, match="class_names has 2 names; the network has 1 outputs"):
        model_files.checked_metadata(paths[0], refused)


def test_fgsm_and_saliency_on_two_class_images_and_evaluate_attacks_alike(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    chosen = digits.target < 2  # zeros and ones, as 8-bit images
    images = np.round(digits.images[chosen] * 255 / 16).astype(np.uint8)
    np.savez(tmp_path / "zero_one.npz", x=images, y=digits.target[chosen])
    args = ["-d", tmp_path / "zero_one.npz", "-l", "binary_cross_entropy", "-e", "3", "-nhl", "1", "-sz", "16"]
    run, summary = finished_run(tmp_path, *map(str, args), "--fgsm_eps", "0.1", "--plots", "True", "--save_model")
    assert summary["test_accuracy"] >= 0.9 and 0.0 <= summary["test_accuracy_fgsm"] < summary["test_accuracy"]
    assert all((run / name).is_file() for name in ("fgsm.png", "saliency.png", "confusion_matrix.png"))
    report = evaluate(run / "model.npz", "--fgsm_eps", "0.1", "--output_dir", tmp_path / "evaluate", "--json")
    assert report["accuracy"] == summary["test_accuracy"]
    assert report["accuracy_fgsm"] == summary["test_accuracy_fgsm"]


# -- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["-d", "digits"], "--loss binary_cross_entropy on digits: binary_cross_entropy is for two classes"),
        (["-d", "diabetes"], "--loss binary_cross_entropy on diabetes: loss 'binary_cross_entropy' is for"),
        (["-d", "breast_cancer", "--label_smoothing", "0.1"], "label smoothing applies to cross_entropy"),
    ],
    ids=["ten classes", "regression", "label smoothing"],
)
def test_what_binary_cross_entropy_cannot_do_is_one_line_and_exit_2(args, message, tmp_path):
    result, folder = train(tmp_path, *args, "-l", "binary_cross_entropy", "-e", "1")
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ") and message in line, line
    assert not folder.exists() or not list(folder.iterdir())
