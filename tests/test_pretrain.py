"""Greedy layer-wise autoencoder pretraining."""

import json

import numpy as np
import pytest

import datasets
import nn
from experiments import build, presets, session
from experiments.plugins.pretrain import RECONSTRUCTION, hidden_blocks, pretrain
from tests.test_cli import run_cli


def test_the_reconstruction_error_is_the_mean_over_samples_and_values():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    value, grad = RECONSTRUCTION.value_and_grad(z, y.copy())
    assert value == pytest.approx(np.mean((z - y) ** 2))
    np.testing.assert_allclose(grad, 2 * (z - y) / z.size)


def test_each_hidden_layer_is_trained_to_reconstruct_the_codes_below_it():
    data = datasets.load("digits")
    config = presets.resolve(
        {
            "dataset": "digits",
            "num_layers": 2,
            "hidden_size": 16,
            "activation": "sigmoid",
            "pretrain": "autoencoder",
            "pretrain_epochs": 4,
            "learning_rate": 0.01,
        }
    )
    model = nn.mlp([64, 16, 16, 10], activation="sigmoid", weight_init="Xavier", seed=0)
    before = {name: model.params[name].copy() for name in model.decayed_names()}
    rows = []

    class Collect:
        def log_scalars(self, series, row, step):
            assert (series, step) == ("pretraining", "pretrain_epoch")
            rows.append(row)

    summary = pretrain(model, data, config, [Collect()], say=lambda line: None)
    assert set(summary) == {"pretrain/reconstruction_loss/0", "pretrain/reconstruction_loss/1"}
    for layer in (0, 1):
        losses = [
            r[f"pretrain/reconstruction_loss/{layer}"] for r in rows if f"pretrain/reconstruction_loss/{layer}" in r
        ]
        assert len(losses) == 4 and losses[-1] < losses[0]  # it learned to reconstruct
    assert not np.allclose(model.params["dense_0.W"], before["dense_0.W"])  # the encoders went back in
    assert not np.allclose(model.params["dense_1.W"], before["dense_1.W"])
    np.testing.assert_array_equal(model.params["dense_2.W"], before["dense_2.W"])  # the output layer is not pretrained
    assert len(hidden_blocks(model)) == 2


@pytest.mark.slow
def test_a_pretrained_run_logs_its_reconstruction_losses(tmp_path):
    """The run's summary holds, per hidden layer, the last epoch's reconstruction loss of pretraining
    the run's own network on the run's data (3 epochs, not the default 2): the one an autoencoder
    trained here, with the same settings, logs for its last epoch."""
    settings = {
        "dataset": "digits",
        "epochs": 1,
        "num_layers": 2,
        "hidden_size": 16,
        "activation": "sigmoid",
        "pretrain": "autoencoder",
        "pretrain_epochs": 3,
    }
    result = run_cli(
        [
            "-d",
            "digits",
            "-e",
            "1",
            "-nhl",
            "2",
            "-sz",
            "16",
            "-a",
            "sigmoid",
            "--pretrain",
            "autoencoder",
            "--pretrain_epochs",
            "3",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((next((tmp_path / "out").iterdir()) / "summary.json").read_text())

    config = presets.resolve(settings)
    data = session.load_data(config)
    model = build.model_for(config, data.n_features, data.n_outputs, data.image_shape)
    rows = []

    class Collect:
        def log_scalars(self, series, row, step):
            assert (series, step) == ("pretraining", "pretrain_epoch")
            rows.append(row)

    pretrain(model, data, config, [Collect()], say=lambda line: None)
    for layer in (0, 1):
        key = f"pretrain/reconstruction_loss/{layer}"
        losses = [row[key] for row in rows if key in row]
        assert len(losses) == 3 and losses[-1] < losses[0]
        assert summary[key] == pytest.approx(losses[-1], rel=1e-9)
        assert f"reconstruction loss {losses[0]:.4f} -> {losses[-1]:.4f} in 3 epochs" in result.stdout
    assert sorted(k for k in summary if "pretrain" in k and "reconstruction" in k) == [
        "pretrain/reconstruction_loss/0",
        "pretrain/reconstruction_loss/1",
    ]
    refused = run_cli(
        ["-d", "digits", "--pretrain", "autoencoder", "--norm", "batch", "--wandb_mode", "disabled"], tmp_path
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
