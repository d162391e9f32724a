"""Activations, losses and initialisers against hand-computed values."""
import math

import numpy as np
import pytest

import nn
from nn import activations, initializers, losses


def forward(name, values):
    z = np.array(values, dtype=np.float64)
    return activations.get(name).forward(z, np.empty_like(z))


@pytest.mark.parametrize("name, z, expected", [
    ("identity", [-2.0, 0.0, 3.0], [-2.0, 0.0, 3.0]),
    ("sigmoid", [0.0, 1000.0, -1000.0, 1.0], [0.5, 1.0, 0.0, 1 / (1 + math.exp(-1))]),
    ("tanh", [0.0, 1.0], [0.0, math.tanh(1.0)]),
    ("ReLU", [-1.0, 0.0, 2.5], [0.0, 0.0, 2.5]),
    ("leaky_relu", [-2.0, 3.0], [-0.02, 3.0]),
    ("elu", [-1.0, 0.0, 2.0], [math.exp(-1) - 1, 0.0, 2.0]),
    ("swish", [1.0, -1.0, 0.0], [1 / (1 + math.exp(-1)), -1 / (1 + math.exp(1)), 0.0]),
])
def test_activation_values(name, z, expected):
    np.testing.assert_allclose(forward(name, z), expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
def test_activation_derivatives_match_finite_differences(name):
    z = np.array([-2.3, -0.7, -0.1, 0.2, 0.9, 3.1])
    a = forward(name, z)
    derivative = activations.get(name).backward(np.ones_like(z), z, a)
    numeric = (forward(name, z + 1e-6) - forward(name, z - 1e-6)) / 2e-6
    np.testing.assert_allclose(derivative, numeric, rtol=1e-7, atol=1e-9)


def test_activation_names_are_case_insensitive_and_typos_list_valid_names():
    assert activations.get("relu").name == "ReLU"
    with pytest.raises(ValueError, match="identity, sigmoid, tanh, ReLU"):
        activations.get("relu6")


def test_cross_entropy_values_and_gradient():
    loss, grad = losses.cross_entropy(np.array([[0.0, 0.0]]), np.array([0]))
    assert loss == pytest.approx(math.log(2))
    np.testing.assert_allclose(grad, [[-0.5, 0.5]])
    # two samples: mean of -log p_y, gradient (p - y) / N
    z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    loss, grad = losses.cross_entropy(z, np.array([2, 1]))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-(math.log(p[0, 2]) + math.log(1 / 3)) / 2)
    np.testing.assert_allclose(grad, (p - np.eye(3)[[2, 1]]) / 2)


def test_cross_entropy_is_finite_when_probabilities_are_exactly_zero_or_one():
    z = np.array([[1000.0, 0.0, -1000.0]])
    assert losses.softmax(z)[0, 2] == 0.0 and losses.softmax(z)[0, 0] == 1.0
    assert losses.cross_entropy(z, np.array([2]))[0] == pytest.approx(2000.0)
    assert losses.cross_entropy(z, np.array([0]))[0] == 0.0
    assert np.all(np.isfinite(losses.cross_entropy(z, np.array([2]))[1]))


def test_mean_squared_error_values():
    assert losses.mean_squared_error(np.array([[0.0, 0.0]]), np.array([0]))[0] == pytest.approx(0.5)
    z = np.array([[1000.0, 0.0, -1000.0]])
    assert losses.mean_squared_error(z, np.array([0]))[0] == 0.0
    assert losses.mean_squared_error(z, np.array([2]))[0] == pytest.approx(2.0)
    # hand-computed: p = softmax([ln 1, ln 3]) = [0.25, 0.75], y = 0
    loss, grad = losses.mean_squared_error(np.log(np.array([[1.0, 3.0]])), np.array([0]))
    assert loss == pytest.approx(0.75 ** 2 * 2)
    # dL/dp = 2(p - y) = [-1.5, 1.5]; dL/dz_j = p_j (g_j - sum g p) with sum g p = 0.75
    np.testing.assert_allclose(grad, [[0.25 * (-1.5 - 0.75), 0.75 * (1.5 - 0.75)]])


def test_softmax_rows_are_distributions_and_stable():
    p = losses.softmax(np.array([[1e4, 1e4 - 1.0], [-5.0, 5.0]], dtype=np.float32))
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert p[0, 0] == pytest.approx(1 / (1 + math.exp(-1)), rel=1e-6)


def test_initialiser_scales():
    rng = np.random.default_rng(0)
    assert np.std(initializers.get("random")(rng, 400, 300, np.float64)) == pytest.approx(0.01, rel=0.02)
    xavier = initializers.get("xavier")(rng, 400, 300, np.float64)
    assert np.abs(xavier).max() <= math.sqrt(6 / 700)
    assert np.std(xavier) == pytest.approx(math.sqrt(6 / 700) / math.sqrt(3), rel=0.02)
    assert np.std(initializers.get("He")(rng, 400, 300, np.float64)) == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert not initializers.get("zero")(rng, 4, 3, np.float32).any()
