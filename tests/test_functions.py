"""Activations, losses and initialisers against hand-computed values."""

import math
import re

import numpy as np
import pytest

import nn
from nn import activations, initializers, losses


def forward(name, values):
    z = np.array(values, dtype=np.float64)
    return activations.get(name).forward(z, np.empty_like(z))


@pytest.mark.parametrize(
    "name, z, expected",
    [
        ("identity", [-2.0, 0.0, 3.0], [-2.0, 0.0, 3.0]),
        ("sigmoid", [0.0, 1000.0, -1000.0, 1.0], [0.5, 1.0, 0.0, 1 / (1 + math.exp(-1))]),
        ("tanh", [0.0, 1.0], [0.0, math.tanh(1.0)]),
        ("ReLU", [-1.0, 0.0, 2.5], [0.0, 0.0, 2.5]),
        ("leaky_relu", [-2.0, 3.0], [-0.02, 3.0]),
        ("elu", [-1.0, 0.0, 2.0], [math.exp(-1) - 1, 0.0, 2.0]),
        ("swish", [1.0, -1.0, 0.0], [1 / (1 + math.exp(-1)), -1 / (1 + math.exp(1)), 0.0]),
    ],
)
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
    assert loss == pytest.approx(0.75**2 * 2)
    # dL/dp = 2(p - y) = [-1.5, 1.5]; dL/dz_j = p_j (g_j - sum g p) with sum g p = 0.75
    np.testing.assert_allclose(grad, [[0.25 * (-1.5 - 0.75), 0.75 * (1.5 - 0.75)]])


def test_softmax_rows_are_distributions_and_stable():
    p = losses.softmax(np.array([[1e4, 1e4 - 1.0], [-5.0, 5.0]], dtype=np.float32))
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert p[0, 0] == pytest.approx(1 / (1 + math.exp(-1)), rel=1e-6)


def test_initialiser_scales():
    rng = np.random.default_rng(0)
    assert np.std(initializers.get("random")(rng, (400, 300), 400, 300, np.float64)) == pytest.approx(0.01, rel=0.02)
    xavier = initializers.get("xavier")(rng, (400, 300), 400, 300, np.float64)
    assert np.abs(xavier).max() <= math.sqrt(6 / 700)
    assert np.std(xavier) == pytest.approx(math.sqrt(6 / 700) / math.sqrt(3), rel=0.02)
    assert np.std(initializers.get("He")(rng, (400, 300), 400, 300, np.float64)) == pytest.approx(
        math.sqrt(2 / 400), rel=0.02
    )
    assert not initializers.get("zero")(rng, (4, 3), 4, 3, np.float32).any()
    # the scale comes from the fan-in / fan-out the layer states, not from the shape
    he = initializers.get("He")(rng, (50, 8, 3, 3), 72, 450, np.float64)
    assert he.shape == (50, 8, 3, 3) and np.std(he) == pytest.approx(math.sqrt(2 / 72), rel=0.05)


def test_squared_error_on_a_linear_output_values_and_gradient():
    z = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 0.0]])
    y = np.array([[0.0, 2.0], [1.5, 1.0], [1.0, -1.0]])
    loss, grad = losses.squared_error(z, y)
    assert loss == pytest.approx((1 + 0 + 1 + 4 + 1 + 1) / 3)
    np.testing.assert_allclose(grad, 2 * (z - y) / 3)
    # one output: a vector of targets is read as one column; RMSE is the root of this loss
    value, _ = losses.squared_error(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]), need_grad=False)
    assert value == pytest.approx((1 + 4) / 2)


def test_losses_say_what_they_consume_and_fit_the_task():
    assert (losses.get("cross_entropy").task, losses.get("cross_entropy").output) == ("classification", "softmax")
    assert losses.get("mean_squared_error").output == "softmax"  # the assignment's squared error
    assert losses.for_task("mean_squared_error", "regression").name == "squared_error"
    assert losses.for_task("mean_squared_error", "classification").name == "mean_squared_error"
    with pytest.raises(ValueError, match="for classification.*regression"):
        losses.for_task("cross_entropy", "regression")
    with pytest.raises(ValueError, match="for regression"):
        losses.for_task("squared_error", "classification")
    with pytest.raises(ValueError, match="integer class ids"):
        losses.get("cross_entropy").check_targets(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="real targets"):
        losses.get("squared_error").check_targets(np.array([0, 1]))


def test_metrics_agree_with_scikit_learn():
    from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, r2_score

    from nn import metrics

    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(50, 4)), rng.integers(0, 4, size=50)
    accumulator = metrics.for_task("classification")
    for start in range(0, 50, 16):  # in batches, as the loop feeds it
        accumulator.update(logits[start : start + 16], labels[start : start + 16])
    assert accumulator.result()["accuracy"] == pytest.approx(accuracy_score(labels, logits.argmax(axis=1)))
    outputs, targets = rng.normal(size=(40, 2)), rng.normal(loc=3.0, size=(40, 2))
    accumulator = metrics.for_task("regression")
    for start in range(0, 40, 7):
        accumulator.update(outputs[start : start + 7], targets[start : start + 7])
    result = accumulator.result()
    assert result["rmse"] == pytest.approx(math.sqrt(mean_squared_error(targets, outputs)), rel=1e-12)
    assert result["mae"] == pytest.approx(mean_absolute_error(targets, outputs), rel=1e-12)
    assert result["r2"] == pytest.approx(r2_score(targets, outputs), rel=1e-9)


def test_every_registry_lists_its_names_on_a_typo():
    import datasets
    import optimizers

    for registry, typo in (
        (nn.ACTIVATIONS, "relu6"),
        (nn.LOSSES, "hinge2"),
        (nn.INITIALIZERS, "glorot"),
        (nn.LAYERS, "conv9d"),
        (datasets.DATASETS, "cifar"),
        (optimizers.OPTIMIZERS, "Adam"),
    ):
        with pytest.raises(ValueError, match="valid names: " + re.escape(", ".join(registry.names()))):
            registry.get(typo)
