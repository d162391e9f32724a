"""--arch cnn / localnet through the whole tool: CLI, figures, W&B, saved models, evaluate.py,
FGSM, every optimizer and loss, and the one-line refusals."""

import json

import numpy as np
import pytest

import nn
import optimizers
from tests.conftest import CLASSIFICATION_LOSSES
from tests.test_cli import offline_run, run_cli, wandb_summary
from tests.test_evaluate import evaluate

SMALL = ["-d", "digits", "--filters", "4", "8", "-nhl", "1", "-sz", "16", "-e", "2"]


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cnn")
    result = run_cli(
        [
            *SMALL,
            "--arch",
            "cnn",
            "--save_model",
            "True",
            "--fgsm_eps",
            "0.1",
            "--plots",
            "True",
            "--wandb_mode",
            "offline",
            "--output_dir",
            "runs",
        ],
        folder,
    )
    assert result.returncode == 0, result.stderr
    return folder, next((folder / "runs").iterdir()), result


@pytest.mark.slow
def test_a_cnn_run_draws_filters_and_activation_maps_and_logs_them(cnn_run):
    folder, run, result = cnn_run
    assert run.name.startswith("cnn_f_4-8_k_3_p_2_hl_1_sz_16")
    assert "cnn 4-8 filters 3x3, pool 2, dense 16-10" in result.stdout
    for name in ("filters.png", "activation_maps.png", "saliency.png", "fgsm.png", "confusion_matrix.png"):
        assert (run / name).stat().st_size > 1000, name
    summary = json.loads((run / "summary.json").read_text())
    assert summary["n_params"] == (9 * 4 + 4) + (9 * 4 * 8 + 8) + (2 * 2 * 8 * 16 + 16) + (16 * 10 + 10)
    assert summary["test_accuracy_fgsm"] < summary["test_accuracy"]
    logged = wandb_summary(offline_run(folder))
    for key in ("filters", "activation_maps", "test_accuracy", "grad_norm/0"):
        assert key in logged, key


@pytest.mark.slow
def test_a_saved_cnn_reloads_and_evaluate_py_reproduces_its_test_metrics(cnn_run, tmp_path):
    _, run, _ = cnn_run
    model = nn.Sequential.load(run / "model.npz")
    assert [layer.kind for layer in model.layers][:4] == ["reshape", "conv2d", "activation", "max_pool2d"]
    report = evaluate([run / "model.npz", "--json", "--output_dir", tmp_path / "e"], tmp_path)
    assert report.returncode == 0, report.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert json.loads(report.stdout.strip().splitlines()[-1])["accuracy"] == pytest.approx(summary["test_accuracy"])


@pytest.mark.slow
def test_localnet_with_batch_norm_and_dropout_learns_digits(tmp_path):
    result = run_cli(
        [
            *SMALL[:-1],
            "4",
            "--arch",
            "localnet",
            "--norm",
            "batch",
            "--dropout",
            "0.1",
            "-lr",
            "0.005",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "runs",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run = next((tmp_path / "runs").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert run.name.startswith("localnet_") and summary["test_accuracy"] > 0.8
    assert (run / "filters.png").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["-d", "diabetes", "-l", "mean_squared_error", "--arch", "cnn"], "needs an image data set"),
        (["-d", "digits", "--arch", "cnn", "--pretrain", "autoencoder"], "--pretrain autoencoder takes an mlp"),
        (
            ["-d", "digits", "--arch", "cnn", "--filters", "4", "4", "--kernel_size", "9", "--padding", "valid"],
            "kernel does not fit",
        ),
        (["-d", "digits", "--arch", "localnet", "--filters", "4000000"], "GiB available"),
        (["-d", "digits", "--arch", "cnn", "--filters", "0"], "sizes must be at least 1"),
        (["-d", "diabetes", "-l", "mean_squared_error", "--elastic", "8"], "--elastic distorts images"),
        (["-d", "digits", "--elastic", "-1"], "--elastic"),
        (["-d", "digits", "--elastic", "8", "--elastic_sigma", "0"], "--elastic_sigma"),
    ],
)
def test_architectures_that_cannot_run_exit_2_with_one_line(tmp_path, args, message):
    result = run_cli([*args, "--wandb_mode", "disabled", "--output_dir", "runs"], tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def tiny_images(n=96, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 36)), rng.integers(0, 3, n)


@pytest.mark.parametrize("name", optimizers.names())
def test_every_optimizer_trains_a_cnn(name):
    x, y = tiny_images()
    model = nn.convnet((6, 6), 3, filters=[3], activation="tanh", weight_init="Xavier", dtype=np.float64)
    before = nn.evaluate(model, "cross_entropy", x, y)["loss"]
    nn.fit(model, "cross_entropy", optimizers.make(name, learning_rate=0.01), nn.Batches(x, y, 16), epochs=5)
    assert nn.evaluate(model, "cross_entropy", x, y)["loss"] < before


@pytest.mark.parametrize("loss", [*CLASSIFICATION_LOSSES, "perceptron"])
def test_every_classification_loss_trains_a_localnet(loss):
    x, y = tiny_images(seed=1)
    model = nn.convnet((6, 6), 3, filters=[3], activation="ReLU", weight_init="He", locally_connected=True)
    history = nn.fit(model, loss, optimizers.make("adam", learning_rate=0.01), nn.Batches(x, y, 16), epochs=6)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
