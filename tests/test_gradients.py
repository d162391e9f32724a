"""Backpropagation checked against central finite differences (float64)."""
import itertools

import numpy as np
import pytest

import nn

H = 1e-6


def numeric_gradient(model, x, y, loss, weight_decay):
    grads = {}
    for name, param in model.params.items():
        g = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + H
            plus = model.loss_and_grads(x, y, loss, weight_decay)[0]
            param[index] = saved - H
            minus = model.loss_and_grads(x, y, loss, weight_decay)[0]
            param[index] = saved
            g[index] = (plus - minus) / (2 * H)
        grads[name] = g
    return grads


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


@pytest.mark.parametrize("activation, loss, weight_decay", list(itertools.product(
    sorted(nn.ACTIVATIONS), sorted(nn.LOSSES), [0.0, 0.3])))
def test_backprop_matches_finite_differences(activation, loss, weight_decay):
    rng = np.random.default_rng(7)
    model = nn.FeedForward([5, 4, 3, 3], activation, "Xavier", seed=3, dtype=np.float64)
    for p in model.params.values():  # non-zero biases, so their gradients are exercised too
        p += rng.normal(scale=0.3, size=p.shape)
    x = rng.normal(size=(6, 5))
    y = np.array([0, 1, 2, 2, 1, 0])
    _, analytic = model.loss_and_grads(x, y, loss, weight_decay)
    numeric = numeric_gradient(model, x, y, loss, weight_decay)
    assert analytic.keys() == numeric.keys() == model.params.keys()
    for name in analytic:
        assert analytic[name].shape == model.params[name].shape
        assert relative_error(analytic[name], numeric[name]) < 1e-6, name


@pytest.mark.parametrize("loss", sorted(nn.LOSSES))
def test_l1_and_l2_together_match_finite_differences(loss):
    rng = np.random.default_rng(11)
    model = nn.FeedForward([4, 5, 3], "tanh", "Xavier", seed=2, dtype=np.float64)
    x, y = rng.normal(size=(5, 4)), np.array([0, 1, 2, 1, 0])
    _, analytic = model.loss_and_grads(x, y, loss, weight_decay=0.2, l1=0.05)

    def objective():
        return model.loss_and_grads(x, y, loss, weight_decay=0.2, l1=0.05)[0]

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
    weights = sum(np.abs(model.params[k]).sum() for k in ("0.W", "1.W"))
    squares = sum((model.params[k] ** 2).sum() for k in ("0.W", "1.W"))
    base = model.loss_and_grads(x, y, loss)[0]
    assert objective() == pytest.approx(base + 0.1 * squares + 0.05 * weights, rel=1e-12)


def test_weight_decay_penalises_weights_not_biases():
    model = nn.FeedForward([3, 2, 2], "identity", "Xavier", seed=0, dtype=np.float64)
    x, y = np.ones((1, 3)), np.array([1])
    base, g0 = model.loss_and_grads(x, y, weight_decay=0.0)
    decayed, g1 = model.loss_and_grads(x, y, weight_decay=0.5)
    weights = sum(np.sum(model.params[k] ** 2) for k in ("0.W", "1.W"))
    assert decayed == pytest.approx(base + 0.25 * weights, rel=1e-12)
    np.testing.assert_allclose(g1["0.W"] - g0["0.W"], 0.5 * model.params["0.W"], atol=1e-12)
    np.testing.assert_array_equal(g1["0.b"], g0["0.b"])
