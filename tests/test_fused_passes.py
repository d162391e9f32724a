"""The compiled passes that fuse two layers while training (dense then ReLU, ReLU then max pooling,
nn.layers.dense and nn.layers.pooling) change no bit of what training computes: whole trainings with
them and with the NumPy passes (``nn.jit.ENABLED`` off: the layers computed apart) end with the same
parameters, bit for bit."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import optimizers
from nn import jit

pytest.importorskip("numba")


def _digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype(np.float32), y


def _trained(build, x, y, fused, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(jit, "ENABLED", fused)
        model = build()
        optimizer = optimizers.make("adam", learning_rate=0.003)
        history = nn.fit(model, "cross_entropy", optimizer, nn.Batches(x, y, 32, seed=0), epochs=2)
        return model, history


def _mlp():
    return nn.mlp([64, 32, 32, 10], activation="ReLU", weight_init="He", seed=1)


def _cnn():
    return nn.convnet((8, 8), 10, filters=[4, 8], hidden=[16], activation="ReLU", weight_init="He", seed=1)


@pytest.mark.parametrize("build", [_mlp, _cnn], ids=["mlp", "cnn"])
def test_training_gives_the_same_bits_with_the_fused_passes_and_without(build, monkeypatch):
    x, y = _digits()
    fused, fused_history = _trained(build, x[:600], y[:600], True, monkeypatch)
    apart, apart_history = _trained(build, x[:600], y[:600], False, monkeypatch)
    relus = [layer for layer in fused.layers if isinstance(layer, nn.layers.ActivationLayer)]
    assert relus and all(layer.absorbed_by is not None for layer in relus)  # every ReLU was fused
    assert all(layer.deferred for layer in relus)  # and the last training pass took the fused path
    convolutions = [layer for layer in fused.layers if isinstance(layer, nn.layers.Conv2D)]
    assert all(layer.bias_deferred for layer in convolutions)  # their bias added by the pooling's pass
    assert np.array_equal(fused.flat_params, apart.flat_params)
    assert [row["train_loss"] for row in fused_history] == [row["train_loss"] for row in apart_history]


def test_dense_relu_fused_pass_equals_the_equations():
    """``a = max(xW + b, 0)``; backward ``dz = da * (a > 0)``, ``db = sum_n dz``, ``dW = x^T dz``,
    ``dx = dz W^T``: written out in float64."""
    from nn.layers import ActivationLayer, Dense
    from nn.layers.dense import fuse_dense_relu

    rng = np.random.default_rng(3)
    dense, relu = Dense(5, 4), ActivationLayer("relu")
    fuse_dense_relu([dense, relu])
    W, b = rng.normal(size=(5, 4)), rng.normal(size=4)
    dense.bind({"W": W, "b": b}, {"W": np.zeros((5, 4)), "b": np.zeros(4)})
    x, da = rng.normal(size=(7, 5)), rng.normal(size=(7, 4))
    a = relu.forward(dense.forward(x, training=True), training=True).copy()
    np.testing.assert_allclose(a, np.maximum(x @ W + b, 0), rtol=1e-12)
    dx = dense.backward(relu.backward(da.copy()))
    dz = da * (x @ W + b > 0)
    np.testing.assert_allclose(dense.grads["b"], dz.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(dense.grads["W"], x.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(dx, dz @ W.T, rtol=1e-12)


def test_a_layer_reused_in_another_model_never_keeps_a_stale_partner():
    """Layers taken into a second model (the first layers of a network, say): each model links its own
    neighbours when it is built, and a pass is fused only when both sides of a link agree, so each model
    computes its own layers, in training as in evaluation."""
    from nn.layers import ActivationLayer, Dense

    rng = np.random.default_rng(2)
    d1, r1, d2, r2 = Dense(6, 5), ActivationLayer("relu"), Dense(5, 4), ActivationLayer("relu")
    first = nn.Sequential([d1, r1, d2, r2, Dense(4, 3)], seed=0, dtype=np.float64)
    second = nn.Sequential([d1, r1, d2], seed=1, dtype=np.float64)  # d2 is its last layer: no ReLU after it
    x = rng.normal(size=(4, 6))
    for model in (first, second, first):
        np.testing.assert_array_equal(model.forward(x, training=True).copy(), model.forward(x))
    assert d2.relu is None and r2.absorbed_by is d2  # one side only: r2 applies itself in the first model
    first.forward(x, training=True)
    assert r1.deferred and not r2.deferred and not d2._fused


def test_a_one_unit_dense_layer_before_a_relu_keeps_numpys_bias_sum():
    """np.sum(axis=0) over a single column sums pairwise, not row by row as the fused pass does, so such a
    layer is left unfused: one step's gradients are the same bits either way."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    grads = []
    for fused in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(jit, "ENABLED", fused)
            model = nn.mlp([4, 1, 2], activation="ReLU", weight_init="He", seed=1)
            nn.default_step(model, nn.losses.for_task("cross_entropy", "classification"), x, y)
            grads.append(model.flat_grads.copy())
    assert model.layers[0].relu is None
    np.testing.assert_array_equal(grads[0].view(np.uint32), grads[1].view(np.uint32))
