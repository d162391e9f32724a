"""Dropout, batch norm and layer norm: gradients by finite differences, training vs evaluation."""

import itertools

import numpy as np
import pytest

import nn
from nn.layers import BatchNorm, Dropout
from tests.conftest import CLASSIFICATION_LOSSES, fit_arrays, proba
from tests.test_gradients import H, relative_error


def numeric_check(model, x, y, loss, before_each=lambda: None):
    before_each()
    _, analytic = nn.objective_and_grads(model, loss, x, y, weight_decay=0.1)
    for name, param in model.params.items():
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + H
            before_each()
            plus = nn.objective_and_grads(model, loss, x, y, weight_decay=0.1)[0]
            param[index] = saved - H
            before_each()
            minus = nn.objective_and_grads(model, loss, x, y, weight_decay=0.1)[0]
            param[index] = saved
            numeric[index] = (plus - minus) / (2 * H)
        both_zero = max(np.abs(analytic[name]).max(), np.abs(numeric).max()) < 1e-8
        assert both_zero or relative_error(analytic[name], numeric) < 1e-6, name
    return analytic


@pytest.mark.parametrize(
    "norm, activation, loss", list(itertools.product(["batch", "layer"], ["tanh", "ReLU"], CLASSIFICATION_LOSSES))
)
def test_normalisation_gradients(norm, activation, loss):
    rng = np.random.default_rng(5)
    model = nn.mlp([5, 6, 4, 3], activation=activation, weight_init="Xavier", seed=1, dtype=np.float64, norm=norm)
    for p in model.params.values():  # move gamma and beta away from 1 and 0
        p += rng.normal(scale=0.3, size=p.shape)
    assert f"{norm}_norm_0.gamma" in model.params and f"{norm}_norm_1.beta" in model.params
    grads = numeric_check(model, rng.normal(size=(7, 5)), np.array([0, 1, 2, 0, 1, 2, 0]), loss)
    if norm == "batch":  # a bias before batch norm is cancelled by the mean: its gradient is exactly 0
        assert np.abs(grads["dense_0.b"]).max() < 1e-12 and np.abs(grads["dense_0.W"]).max() > 1e-3


@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
def test_dropout_gradients_with_the_mask_held_fixed(loss):
    rng = np.random.default_rng(6)
    model = nn.mlp([5, 6, 4, 3], activation="sigmoid", weight_init="Xavier", seed=1, dtype=np.float64, dropout=0.4)
    dropouts = [layer for layer in model.layers if isinstance(layer, Dropout)]
    assert len(dropouts) == 2

    def same_mask():
        for layer in dropouts:
            layer.rng = np.random.default_rng(9)

    numeric_check(model, rng.normal(size=(8, 5)), np.array([0, 1, 2, 0, 1, 2, 0, 1]), loss, same_mask)


def test_dropout_is_random_in_training_and_off_in_evaluation():
    x = np.random.default_rng(0).random((200, 10), dtype=np.float32)
    plain = nn.mlp([10, 50, 3], activation="ReLU", weight_init="Xavier", seed=3)
    dropped = nn.mlp([10, 50, 3], activation="ReLU", weight_init="Xavier", seed=3, dropout=0.5)
    np.testing.assert_array_equal(dropped.forward(x).copy(), plain.forward(x).copy())  # evaluation: no-op
    first = dropped.forward(x, training=True).copy()
    second = dropped.forward(x, training=True).copy()
    assert not np.allclose(first, second)
    layer = dropped.layers[2]
    hidden = dropped.layers[1].forward(dropped.layers[0].forward(x)).copy()  # the dropout's input
    kept = layer._mask != 0
    assert 0.4 < kept.mean() < 0.6  # about half the units are dropped
    np.testing.assert_allclose(
        layer.forward(hidden, training=True)[layer._mask != 0], (2 * hidden)[layer._mask != 0], rtol=1e-6
    )  # survivors scaled by 1/(1-p)


def test_batch_norm_uses_batch_statistics_in_training_and_running_ones_in_evaluation():
    rng = np.random.default_rng(1)
    layer = BatchNorm(4)
    layer.bind({"gamma": np.ones(4), "beta": np.zeros(4)}, {"gamma": np.zeros(4), "beta": np.zeros(4)})
    layer.initialise(None, None)
    batch = rng.normal(loc=3.0, scale=2.0, size=(64, 4))
    out = layer.forward(batch, training=True)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-4)
    for _ in range(200):
        layer.forward(batch, training=True)
    np.testing.assert_allclose(layer.running_mean[0], batch.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.running_var[0], batch.var(axis=0, ddof=1), rtol=1e-6)
    # evaluation: a sample's output no longer depends on the rest of its batch
    alone = layer.forward(batch[:1], training=False).copy()
    with_others = layer.forward(batch, training=False)[:1]
    np.testing.assert_allclose(alone, with_others)
    assert not np.allclose(layer.forward(batch[:2], training=True)[:1], alone)


def test_layer_norm_is_per_sample_and_the_same_in_both_modes():
    model = nn.mlp([6, 8, 3], activation="tanh", weight_init="Xavier", norm="layer", dtype=np.float64)
    x = np.random.default_rng(2).normal(size=(5, 6))
    np.testing.assert_allclose(model.forward(x, training=True).copy(), model.forward(x).copy())
    np.testing.assert_allclose(model.forward(x[:1]).copy(), model.forward(x)[:1].copy())


def test_models_with_normalisation_and_dropout_round_trip(tmp_path, blobs):
    import optimizers

    (x, y), validation = blobs
    model = nn.mlp([20, 16, 3], activation="ReLU", weight_init="He", seed=4, norm="batch", dropout=0.2)
    fit_arrays(model, optimizers.make("adam", learning_rate=0.01), x, y, epochs=2, batch_size=32)
    loaded = nn.Sequential.load(model.save(tmp_path / "m.npz"))
    assert loaded.config == model.config
    np.testing.assert_array_equal(proba(loaded, validation[0]), proba(model, validation[0]))
