"""Backpropagation through whole networks checked against central finite differences (float64):
every activation with every classification loss, penalties, input gradients, saliency.

Each layer, activation and loss on its own (any input rank, both modes) is checked in
tests/test_contracts.py, over the registries."""

import itertools

import numpy as np
import pytest

import nn
from tests.conftest import CLASSIFICATION_LOSSES

H = 1e-6


def numeric_gradient(model, x, y, loss, weight_decay):
    grads = {}
    for name, param in model.params.items():
        g = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + H
            plus = nn.objective_and_grads(model, loss, x, y, weight_decay)[0]
            param[index] = saved - H
            minus = nn.objective_and_grads(model, loss, x, y, weight_decay)[0]
            param[index] = saved
            g[index] = (plus - minus) / (2 * H)
        grads[name] = g
    return grads


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


@pytest.mark.parametrize(
    "activation, loss, weight_decay", list(itertools.product(sorted(nn.ACTIVATIONS), CLASSIFICATION_LOSSES, [0.0, 0.3]))
)
def test_backprop_matches_finite_differences(activation, loss, weight_decay):
    rng = np.random.default_rng(7)
    model = nn.mlp([5, 4, 3, 3], activation=activation, weight_init="Xavier", seed=3, dtype=np.float64)
    for p in model.params.values():  # non-zero biases, so their gradients are exercised too
        p += rng.normal(scale=0.3, size=p.shape)
    x = rng.normal(size=(6, 5))
    y = np.array([0, 1, 2, 2, 1, 0])
    _, analytic = nn.objective_and_grads(model, loss, x, y, weight_decay)
    numeric = numeric_gradient(model, x, y, loss, weight_decay)
    assert analytic.keys() == numeric.keys() == model.params.keys()
    for name in analytic:
        assert analytic[name].shape == model.params[name].shape
        assert relative_error(analytic[name], numeric[name]) < 1e-6, name


@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
def test_l1_and_l2_together_match_finite_differences(loss):
    rng = np.random.default_rng(11)
    model = nn.mlp([4, 5, 3], activation="tanh", weight_init="Xavier", seed=2, dtype=np.float64)
    x, y = rng.normal(size=(5, 4)), np.array([0, 1, 2, 1, 0])
    _, analytic = nn.objective_and_grads(model, loss, x, y, weight_decay=0.2, l1=0.05)

    def objective():
        return nn.objective_and_grads(model, loss, x, y, weight_decay=0.2, l1=0.05)[0]

    for name, param in model.params.items():
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + H
            plus = objective()
            param[index] = saved - H
            numeric[index] = (plus - objective()) / (2 * H)
            param[index] = saved
        assert relative_error(analytic[name], numeric) < 1e-6, name
    weights = sum(np.abs(model.params[k]).sum() for k in ("dense_0.W", "dense_1.W"))
    squares = sum((model.params[k] ** 2).sum() for k in ("dense_0.W", "dense_1.W"))
    base = nn.objective_and_grads(model, loss, x, y)[0]
    assert objective() == pytest.approx(base + 0.1 * squares + 0.05 * weights, rel=1e-12)


def test_weight_decay_penalises_weights_not_biases():
    model = nn.mlp([3, 2, 2], activation="identity", weight_init="Xavier", seed=0, dtype=np.float64)
    x, y = np.ones((1, 3)), np.array([1])
    base, g0 = nn.objective_and_grads(model, "cross_entropy", x, y, weight_decay=0.0)
    decayed, g1 = nn.objective_and_grads(model, "cross_entropy", x, y, weight_decay=0.5)
    weights = sum(np.sum(model.params[k] ** 2) for k in ("dense_0.W", "dense_1.W"))
    assert decayed == pytest.approx(base + 0.25 * weights, rel=1e-12)
    np.testing.assert_allclose(g1["dense_0.W"] - g0["dense_0.W"], 0.5 * model.params["dense_0.W"], atol=1e-12)
    np.testing.assert_array_equal(g1["dense_0.b"], g0["dense_0.b"])


def numeric_input_gradient(model, loss, x, y):
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + H
        plus = nn.evaluate(model, loss, x, y)["loss"]
        x[index] = saved - H
        minus = nn.evaluate(model, loss, x, y)["loss"]
        x[index] = saved
        numeric[index] = (plus - minus) / (2 * H)
    return numeric


@pytest.mark.parametrize("norm", ["none", "batch", "layer"])
@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
def test_input_gradient_matches_finite_differences(norm, loss):
    """dL/dx, what FGSM and saliency maps use: evaluation mode (batch norm on its running statistics)."""
    rng = np.random.default_rng(3)
    model = nn.mlp([5, 4, 3], activation="tanh", weight_init="Xavier", norm=norm, seed=2, dtype=np.float64)
    for p in model.params.values():
        p += rng.normal(scale=0.3, size=p.shape)
    for array in model.state().values():  # running statistics far from their start
        array += rng.uniform(0.2, 0.8, size=array.shape)
    x, y = rng.normal(size=(6, 5)), np.array([0, 1, 2, 2, 1, 0])
    value, analytic = nn.input_gradient(model, loss, x, y)
    assert value == pytest.approx(nn.evaluate(model, loss, x, y)["loss"], rel=1e-12)
    assert relative_error(analytic, numeric_input_gradient(model, loss, x, y)) < 1e-6


def test_squared_error_regression_gradients_match_finite_differences():
    """The regression loss on a linear output, two targets per sample, through the whole network."""
    rng = np.random.default_rng(4)
    model = nn.mlp([3, 5, 2], activation="sigmoid", weight_init="He", seed=1, dtype=np.float64)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    _, analytic = nn.objective_and_grads(model, "squared_error", x, y, weight_decay=0.1)
    numeric = numeric_gradient(model, x, y, "squared_error", 0.1)
    for name in analytic:
        assert relative_error(analytic[name], numeric[name]) < 1e-6, name


def test_saliency_is_the_gradient_of_the_true_class_logit():
    rng = np.random.default_rng(12)
    model = nn.mlp([6, 5, 4], activation="swish", weight_init="He", norm="batch", seed=1, dtype=np.float64)
    x, y = rng.normal(size=(3, 6)), np.array([2, 0, 3])
    analytic = nn.output_gradient(model, x, y)
    numeric = np.zeros_like(x)
    for n, j in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[n, j] = H
        numeric[n, j] = (model.predict(x + step)[n, y[n]] - model.predict(x - step)[n, y[n]]) / (2 * H)
    assert relative_error(analytic, numeric) < 1e-6
