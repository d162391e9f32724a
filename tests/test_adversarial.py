"""FGSM and adversarial training against the formulas written out here."""

import json

import numpy as np
import pytest

import datasets
import nn
from experiments.plugins.adversarial import PixelSpace, adversarial_step, fgsm
from tests.test_cli import run_cli


@pytest.fixture(scope="module")
def scrambled_digits():
    """Standardised and pixel-permuted, so the gradient must go through both."""
    return datasets.load("digits", scaling="standard", permute_pixels=True, seed=1)


def test_fgsm_moves_each_pixel_by_eps_along_the_sign_of_the_pixel_gradient(scrambled_digits):
    data = scrambled_digits
    model = nn.mlp([64, 12, 10], activation="tanh", weight_init="Xavier", seed=0, dtype=np.float64)
    x, y, eps = data.x_test[:3].astype(np.float64), data.y_test[:3], 0.05
    space = PixelSpace(data.preprocessing)
    pixels = data.preprocessing.invert(x) / 255.0

    def loss_at(p):  # the loss as a function of the [0, 1] pixels, through scaling and permutation
        return nn.evaluate(model, "cross_entropy", space.to_model(p).astype(np.float64), y)["loss"] * len(y)

    numeric = np.zeros_like(pixels)
    for index in np.ndindex(pixels.shape):
        step = np.zeros_like(pixels)
        step[index] = 1e-6
        numeric[index] = (loss_at(pixels + step) - loss_at(pixels - step)) / 2e-6
    expected = np.clip(pixels + eps * np.sign(numeric), 0.0, 1.0)
    _, p, adversarial = fgsm(model, nn.LOSSES["cross_entropy"], x, y, eps, space)
    np.testing.assert_allclose(p, pixels, atol=1e-9)
    clear = np.abs(numeric) > 1e-7  # where the sign is defined
    np.testing.assert_allclose(adversarial[clear], expected[clear], atol=1e-6)
    assert np.all(np.abs(adversarial - pixels) <= eps + 1e-9) and adversarial.min() >= 0 and adversarial.max() <= 1


def test_the_adversarial_step_is_half_the_clean_and_half_the_adversarial_gradient(scrambled_digits):
    data = scrambled_digits
    loss = nn.LOSSES["cross_entropy"]
    x, y, eps = data.x_train[:16].astype(np.float64), data.y_train[:16], 0.1
    space = PixelSpace(data.preprocessing)
    model = nn.mlp([64, 12, 10], activation="ReLU", weight_init="He", seed=3, dtype=np.float64)
    clean, g_clean = nn.objective_and_grads(model, loss, x, y)
    _, grad_x = nn.input_gradient(model, loss, x, y, training=True)
    pixels = data.preprocessing.invert(x) / 255.0
    x_adv = space.to_model(np.clip(pixels + eps * space.pixel_gradient_sign(grad_x), 0, 1)).astype(np.float64)
    adversarial, g_adv = nn.objective_and_grads(model, loss, x_adv, y)
    value, outputs = adversarial_step(eps, space)(model, loss, x, y)
    assert value == pytest.approx(0.5 * (clean + adversarial), rel=1e-12)
    for name, grad in model.grads.items():
        np.testing.assert_allclose(grad, 0.5 * (g_clean[name] + g_adv[name]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(outputs, model.predict(x), rtol=1e-10)  # the clean outputs feed the metrics


@pytest.mark.slow
def test_a_run_reports_fgsm_accuracy_and_adversarial_training_raises_it(tmp_path):
    common = [
        "-d",
        "digits",
        "-e",
        "8",
        "-nhl",
        "1",
        "-sz",
        "64",
        "--fgsm_eps",
        "0.1",
        "--wandb_mode",
        "disabled",
        "--output_dir",
    ]
    plain = run_cli([*common, "plain"], tmp_path)
    robust = run_cli([*common, "robust", "--adv_train", "True"], tmp_path)
    assert plain.returncode == 0 and robust.returncode == 0, plain.stderr + robust.stderr
    summaries = [
        json.loads((next((tmp_path / name).iterdir()) / "summary.json").read_text()) for name in ("plain", "robust")
    ]
    assert all("test_accuracy_fgsm" in s and s["fgsm_eps"] == 0.1 for s in summaries)
    assert summaries[0]["test_accuracy_fgsm"] < summaries[0]["test_accuracy"] - 0.2  # the attack works
    assert summaries[1]["test_accuracy_fgsm"] > summaries[0]["test_accuracy_fgsm"] + 0.05  # training helps
    assert (next((tmp_path / "plain").iterdir()) / "fgsm.png").is_file()


@pytest.mark.parametrize(
    "args", [["-d", "digits", "--adv_train", "True"], ["-d", "sine", "-l", "mean_squared_error", "--fgsm_eps", "0.1"]]
)
def test_adversarial_options_that_cannot_apply_exit_2(args, tmp_path):
    result = run_cli([*args, "--wandb_mode", "disabled"], tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
