"""docs/worked-example.md: its doctests pass as written, and the numbers it prints are right.

The page's ``>>>`` examples run through :func:`doctest.testfile`. Independently of the library, the
exercise is computed again here in plain NumPy, written out: the forward pass, the loss, central finite
differences of the loss with respect to the logits and to every parameter, the gradient-descent step, and
the softmax Jacobian by finite differences. Each is compared with what the page prints (its expected
outputs, parsed from the page), to the four decimals printed.
"""

from __future__ import annotations

import ast
import doctest
import re

import numpy as np
import pytest
from conftest import ROOT

PAGE = ROOT / "docs" / "worked-example.md"

# The exercise's given numbers, written out again (test_the_page_uses_these_numbers ties them to the page).
X = np.array([1.0, 2.0])
Y = 1
GIVEN = {
    "dense_0.W": np.array([[0.1, -0.2], [0.3, 0.4]]),
    "dense_0.b": np.array([0.1, -0.1]),
    "dense_1.W": np.array([[0.5, -0.5], [0.2, 0.3]]),
    "dense_1.b": np.array([0.0, 0.1]),
}
ETA = 0.5
V = np.array([1.0, 2.0, 0.5])
PRINTED = 5.01e-5  # a number printed with four decimals is within half a unit of the fourth of the true one
EPS = 1e-6


def examples() -> list[doctest.Example]:
    return doctest.DocTestParser().get_examples(PAGE.read_text(), name=str(PAGE))


def printed(source: str, which: int = 0, of: int = 1) -> np.ndarray:
    """The numbers the page prints for its example ``source``: the ``which``-th of the ``of`` examples
    with that source (a trailing ``# comment`` aside)."""
    found = [example for example in examples() if re.sub(r"\s+#[^\n]*$", "", example.source.strip()) == source]
    assert len(found) == of, f"the page has {len(found)} examples `{source}`, expected {of}"
    return np.array([float(number) for number in re.findall(r"-?\d+\.\d+", found[which].want)])


def given_on_page(name: str) -> np.ndarray:
    """The value the page writes into ``model.params[name]``."""
    prefix = f'model.params["{name}"][...] ='
    found = [example.source for example in examples() if example.source.startswith(prefix)]
    assert len(found) == 1, f"the page sets {name} {len(found)} times"
    return np.array(ast.literal_eval(found[0][len(prefix) :].strip()), dtype=float)


# ---------------------------------------------------------------------------------------------------------
# the exercise in plain NumPy


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """z1 = x W1 + b1, h = 1 / (1 + exp(-z1)), z2 = h W2 + b2, p = exp(z2) / sum(exp(z2))."""
    z1 = x @ params["dense_0.W"] + params["dense_0.b"]
    h = 1.0 / (1.0 + np.exp(-z1))
    z2 = h @ params["dense_1.W"] + params["dense_1.b"]
    p = np.exp(z2) / np.exp(z2).sum()
    return {"z1": z1, "h": h, "z2": z2, "p": p}


def loss_of_logits(z2: np.ndarray) -> float:
    """Cross-entropy of the true class: -log(exp(z2[Y]) / sum(exp(z2)))."""
    return float(-np.log(np.exp(z2[Y]) / np.exp(z2).sum()))


def loss(params: dict[str, np.ndarray]) -> float:
    return loss_of_logits(forward(params, X)["z2"])


def numeric_gradient(f, at: np.ndarray) -> np.ndarray:
    """Central differences ``(f(at + eps e_i) - f(at - eps e_i)) / (2 eps)``, one coordinate at a time;
    an array-valued ``f`` gives one column per coordinate."""
    columns = []
    for i in range(at.size):
        step = np.zeros(at.size)
        step[i] = EPS
        up, down = at + step.reshape(at.shape), at - step.reshape(at.shape)
        columns.append((np.asarray(f(up)) - np.asarray(f(down))) / (2 * EPS))
    return np.stack(columns, axis=-1).reshape(np.shape(f(at)) + at.shape)


def numeric_parameter_gradient(name: str) -> np.ndarray:
    return numeric_gradient(lambda value: loss({**GIVEN, name: value}), GIVEN[name])


def softmax_vector(v: np.ndarray) -> np.ndarray:
    return np.exp(v) / np.exp(v).sum()


# ---------------------------------------------------------------------------------------------------------


def test_the_page_runs_as_doctests():
    with np.printoptions():  # the page sets print options: give the session's back afterwards
        result = doctest.testfile(str(PAGE), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of the page's examples failed (the output above says which)"
    assert result.attempted >= 60


def test_the_page_uses_these_numbers():
    for name, value in GIVEN.items():
        np.testing.assert_array_equal(given_on_page(name), value, err_msg=name)
    assert "x = np.array([[1.0, 2.0]])" in PAGE.read_text()
    assert "y = np.array([1])" in PAGE.read_text()
    assert 'optimizers.make("sgd", learning_rate=0.5)' in PAGE.read_text()
    assert "v = np.array([1.0, 2.0, 0.5])" in PAGE.read_text()


def test_the_printed_forward_pass_is_right():
    ours = forward(GIVEN, X)
    for name in ("z1", "h", "z2"):
        np.testing.assert_allclose(printed(f"print({name})"), ours[name], rtol=0, atol=PRINTED, err_msg=name)
    np.testing.assert_allclose(printed("print(p)", 0, of=2), ours["p"], rtol=0, atol=PRINTED)  # part 1's p
    np.testing.assert_allclose(printed("print(model.predict(x))"), ours["z2"], rtol=0, atol=PRINTED)
    assert abs(printed('print(f"{loss:.4f}")')[0] - loss(GIVEN)) < PRINTED
    assert abs(printed('print(f"{value:.4f}")')[0] - loss(GIVEN)) < PRINTED


@pytest.mark.parametrize("name", list(GIVEN))
def test_the_printed_gradient_equals_finite_differences(name):
    numeric = numeric_parameter_gradient(name)
    np.testing.assert_allclose(printed(f'print(grads["{name}"])'), numeric.ravel(), rtol=0, atol=PRINTED)


def test_the_printed_logit_gradient_equals_finite_differences():
    numeric = numeric_gradient(loss_of_logits, forward(GIVEN, X)["z2"])
    np.testing.assert_allclose(printed("print(delta2)"), numeric, rtol=0, atol=PRINTED)
    np.testing.assert_allclose(printed("print(p - np.eye(2)[y])"), numeric, rtol=0, atol=PRINTED)
    h = forward(GIVEN, X)["h"]
    numeric_dh = numeric_gradient(lambda value: loss_of_logits(value @ GIVEN["dense_1.W"] + GIVEN["dense_1.b"]), h)
    np.testing.assert_allclose(printed("print(dh)"), numeric_dh, rtol=0, atol=PRINTED)


def test_the_printed_step_lowers_the_loss_as_the_gradient_says():
    stepped = {name: value - ETA * numeric_parameter_gradient(name) for name, value in GIVEN.items()}
    for name, value in stepped.items():
        np.testing.assert_allclose(printed(f'print(model.params["{name}"])'), value.ravel(), rtol=0, atol=PRINTED)
    after = printed('print(f"{after:.4f}")')[0]
    assert abs(after - loss(stepped)) < PRINTED
    assert after < loss(GIVEN) - 0.5  # 0.9914 -> 0.4027
    probabilities = printed("print(nn.softmax(model.predict(x)))")
    np.testing.assert_allclose(probabilities, forward(stepped, X)["p"], rtol=0, atol=PRINTED)


def test_the_printed_softmax_and_jacobian_equal_finite_differences():
    np.testing.assert_allclose(printed("print(p)", 1, of=2), softmax_vector(V), rtol=0, atol=PRINTED)  # part 4's
    numeric = numeric_gradient(softmax_vector, V)  # numeric[i, j] = dp_i / dv_j
    np.testing.assert_allclose(printed("print(J)"), numeric.ravel(), rtol=0, atol=PRINTED)
    chain = numeric_gradient(lambda v: -np.log(softmax_vector(v)[1]), V)
    np.testing.assert_allclose(printed("print(p - onehot)"), chain, rtol=0, atol=PRINTED)
    np.testing.assert_allclose(printed("print(J.T @ (-onehot / p))"), chain, rtol=0, atol=PRINTED)
