"""Optimizers against a deliberately naive reference written from the equations.

The reference below works coordinate by coordinate on Python floats, straight
from the update rules in the issue / the papers; it shares no code with
``optimizers``. Hyperparameters are far from the defaults (large epsilon,
small betas, momentum 0.7), because defaults hide mistakes.
"""

import math

import numpy as np
import pytest

import optimizers

HYPER = {
    "learning_rate": 0.05,
    "momentum": 0.7,
    "beta": 0.6,
    "beta1": 0.5,
    "beta2": 0.8,
    "epsilon": 0.1,
    "decoupled_weight_decay": 0.3,
}
W0 = [1.0, -0.5, 2.0, 0.25]
GRADIENTS = [[0.01, -0.02, 0.03, 0.0]] + [[0.1 * t, -0.3 + 0.05 * t, 1.0 / t, (-1) ** t * 0.2] for t in range(1, 6)]
LOSSES = [2.0, 1.5, 1.8, 1.0, 0.7, 0.75]


class Reference:
    """One optimizer written naively, coordinate by coordinate; ``step`` returns the new weights."""

    def __init__(self, hp, n):
        self.hp, self.n = hp, n
        self.u, self.v, self.s, self.m = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n

    def step(self, w, grad, t, f):
        self.begin(t, f)
        return [self.update(i, w[i], grad[i], t) for i in range(self.n)]

    def begin(self, t, f):
        pass


class SGD(Reference):
    def update(self, i, w, g, t):
        return w - self.hp["learning_rate"] * g


class Momentum(Reference):
    def update(self, i, w, g, t):
        self.u[i] = self.hp["momentum"] * self.u[i] + g
        return w - self.hp["learning_rate"] * self.u[i]


class NAG(Reference):
    def update(self, i, w, g, t):
        self.u[i] = self.hp["momentum"] * self.u[i] + g
        return w - self.hp["learning_rate"] * (g + self.hp["momentum"] * self.u[i])


class RMSProp(Reference):
    def update(self, i, w, g, t):
        self.v[i] = self.hp["beta"] * self.v[i] + (1 - self.hp["beta"]) * g * g
        return w - self.hp["learning_rate"] * g / (math.sqrt(self.v[i]) + self.hp["epsilon"])


class AdaGrad(Reference):
    def update(self, i, w, g, t):
        self.s[i] = self.s[i] + g * g
        return w - self.hp["learning_rate"] * g / (math.sqrt(self.s[i]) + self.hp["epsilon"])


class Adam(Reference):
    def moments(self, i, g, t):
        b1, b2 = self.hp["beta1"], self.hp["beta2"]
        self.m[i] = b1 * self.m[i] + (1 - b1) * g
        self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
        return self.m[i] / (1 - b1**t), self.v[i] / (1 - b2**t)

    def update(self, i, w, g, t):
        m_hat, v_hat = self.moments(i, g, t)
        return w - self.hp["learning_rate"] * m_hat / (math.sqrt(v_hat) + self.hp["epsilon"])


class AdamW(Adam):
    """PyTorch's AdamW: w <- w - lr * wd * w, then Adam's step."""

    def update(self, i, w, g, t):
        decayed = w - self.hp["learning_rate"] * self.hp["decoupled_weight_decay"] * w
        return super().update(i, decayed, g, t)


class Nadam(Adam):
    def update(self, i, w, g, t):
        b1 = self.hp["beta1"]
        m_hat, v_hat = self.moments(i, g, t)
        return w - self.hp["learning_rate"] / (math.sqrt(v_hat) + self.hp["epsilon"]) * (
            b1 * m_hat + (1 - b1) * g / (1 - b1**t)
        )


class Eve(Adam):
    """Koushik & Hayashi: k = 0.1, K = 10, beta3 = 0.999, f* = 0."""

    d, f_hat = 1.0, None

    def begin(self, t, f):
        if t == 1:
            self.d, self.f_hat = 1.0, f
            return
        delta, Delta = (0.1 + 1, 10 + 1) if f >= self.f_hat else (1 / (10 + 1), 1 / (0.1 + 1))
        c = min(max(delta, f / self.f_hat), Delta)
        new = c * self.f_hat
        r = abs(new - self.f_hat) / min(new, self.f_hat)
        self.d = 0.999 * self.d + 0.001 * r
        self.f_hat = new

    def update(self, i, w, g, t):
        m_hat, v_hat = self.moments(i, g, t)
        return w - self.hp["learning_rate"] * m_hat / (self.d * math.sqrt(v_hat) + self.hp["epsilon"])


# One entry per registered optimizer: adding an optimizer's test is one line here.
REFERENCES = {
    "sgd": SGD,
    "momentum": Momentum,
    "nag": NAG,
    "rmsprop": RMSProp,
    "adagrad": AdaGrad,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": Nadam,
    "eve": Eve,
}


def reference_trajectory(name, hp):
    """Parameters after each step, computed naively from the equations."""
    rule, w, out = REFERENCES[name](hp, len(W0)), list(W0), []
    for t, (grad, f) in enumerate(zip(GRADIENTS, LOSSES), start=1):
        w = rule.step(w, grad, t, f)
        out.append(list(w))
    return out


def run(name, dtype=np.float64):
    opt = optimizers.make(name, **HYPER)
    params = {"w": np.array(W0, dtype=dtype)}
    state = opt.init(params)
    trajectory = []
    for grad, loss in zip(GRADIENTS, LOSSES):
        opt.apply(params, {"w": np.array(grad, dtype=dtype)}, state, loss=loss)
        trajectory.append(params["w"].copy())
    return trajectory, params, state


def test_registry_has_the_course_optimizers_and_a_reference_for_each():
    assert {"sgd", "momentum", "nag", "rmsprop", "adam", "nadam", "adagrad", "eve"} <= set(optimizers.names())
    assert set(REFERENCES) == set(optimizers.names()), "add the new optimizer's naive reference to REFERENCES"


@pytest.mark.parametrize("name", optimizers.names())
def test_golden_trajectory_matches_naive_reference(name):
    trajectory, _, _ = run(name)
    np.testing.assert_allclose(trajectory, reference_trajectory(name, HYPER), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["adam", "nadam"])
def test_one_step_from_injected_state_at_step_nine(name):
    """Bias corrections must use t = 9 for the ninth update (t counts from 1)."""
    b1, b2, eps, lr = 0.5, 0.8, 0.1, 0.05
    opt = optimizers.make(name, learning_rate=lr, beta1=b1, beta2=b2, epsilon=eps)
    w = np.array([0.3, -1.2])
    g = np.array([0.4, -0.1])
    state = opt.init({"w": w})
    state["step"] = 8
    state["slots"]["w"]["m"][:] = [0.2, -0.05]
    state["slots"]["w"]["v"][:] = [0.09, 0.01]
    opt.apply({"w": w}, {"w": g}, state)
    m = b1 * np.array([0.2, -0.05]) + (1 - b1) * g
    v = b2 * np.array([0.09, 0.01]) + (1 - b2) * g**2
    m_hat, v_hat = m / (1 - b1**9), v / (1 - b2**9)
    if name == "adam":
        step = m_hat
    else:
        step = b1 * m_hat + (1 - b1) * g / (1 - b1**9)
    expected = np.array([0.3, -1.2]) - lr * step / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(w, expected, rtol=1e-13)
    assert state["step"] == 9


@pytest.mark.parametrize("name", optimizers.names())
def test_loss_decreases_on_a_quadratic(name):
    curvature = np.array([1.0, 4.0, 0.5, 2.0])
    opt = optimizers.make(name, learning_rate=0.1)
    params = {"w": np.array([1.0, -2.0, 3.0, 0.5])}
    state = opt.init(params)

    def loss():
        return float(0.5 * np.sum(curvature * params["w"] ** 2))

    start = loss()
    for _ in range(200):
        opt.apply(params, {"w": curvature * params["w"]}, state, loss=loss())
    assert loss() < 0.5 * start


@pytest.mark.parametrize("name", optimizers.names())
def test_float32_params_and_state_stay_float32(name):
    _, params, state = run(name, dtype=np.float32)
    assert params["w"].dtype == np.float32
    for slot in state["slots"]["w"].values():
        assert slot.dtype == np.float32


@pytest.mark.parametrize("name", optimizers.names())
def test_state_round_trips_through_npz(name, tmp_path):
    _, _, state = run(name)
    np.savez(tmp_path / "state.npz", **optimizers.state_to_arrays(state))
    with np.load(tmp_path / "state.npz", allow_pickle=False) as archive:
        restored = optimizers.state_from_arrays(archive)
    assert restored["step"] == state["step"] and restored["globals"] == state["globals"]
    for slot, array in state["slots"]["w"].items():
        np.testing.assert_array_equal(restored["slots"]["w"][slot], array)
    # continuing from the restored state equals continuing from the original
    opt = optimizers.make(name, **HYPER)
    a, b = {"w": np.array(W0)}, {"w": np.array(W0)}
    opt.apply(a, {"w": np.ones(4)}, state, loss=0.5)
    opt.apply(b, {"w": np.ones(4)}, restored, loss=0.5)
    np.testing.assert_array_equal(a["w"], b["w"])


def test_unknown_names_raise_with_the_valid_names():
    with pytest.raises(ValueError, match="valid names: .*adam.*sgd"):
        optimizers.make("adamax")
    with pytest.raises(TypeError):
        optimizers.make("adam", lr=0.1)


@pytest.mark.parametrize(
    "name, bad",
    [
        ("adam", {"learning_rate": 0.0}),
        ("adam", {"beta1": 1.0}),
        ("momentum", {"momentum": -0.1}),
        ("rmsprop", {"beta": float("nan")}),
        ("adam", {"epsilon": -1.0}),
        ("adamw", {"decoupled_weight_decay": float("inf")}),
    ],
)
def test_hyperparameters_are_range_checked(name, bad):
    (field,) = bad
    with pytest.raises(ValueError, match=field):
        optimizers.make(name, **bad)


def test_other_rules_hyperparameters_are_ignored():
    """The CLI passes the whole flat set: adam takes beta1 and leaves momentum (unchecked) to momentum and nag."""
    opt = optimizers.make("adam", **{**HYPER, "momentum": -0.1})
    assert opt.hp == type(opt).Hyperparameters(learning_rate=0.05, beta1=0.5, beta2=0.8, epsilon=0.1)
    assert not hasattr(opt.hp, "momentum")


@pytest.mark.parametrize("name", ["rmsprop", "adagrad", "adam", "adamw", "nadam", "eve"])
def test_rules_that_divide_by_epsilon_need_it_above_zero(name):
    with pytest.raises(ValueError, match="epsilon must be > 0 for " + name):
        optimizers.make(name, epsilon=0.0)


def test_eve_needs_the_loss():
    opt = optimizers.make("eve")
    params = {"w": np.ones(2)}
    with pytest.raises(ValueError, match="loss"):
        opt.apply(params, {"w": np.ones(2)}, opt.init(params))


@pytest.mark.parametrize(
    "name, variant, equal_to",
    [
        ("momentum", {"momentum": 0.0}, "sgd"),
        ("nag", {"momentum": 0.0}, "sgd"),
    ],
)
def test_momentum_zero_equals_sgd(name, variant, equal_to):
    a = run_with(name, variant)
    b = run_with(equal_to, {})
    np.testing.assert_allclose(a, b, rtol=1e-15)


def test_first_steps_of_adaptive_rules_agree():
    """At t = 1: Adam's m^ = g and v^ = g^2, RMSProp with beta 0 has v = g^2,
    AdaGrad has s = g^2: all three step by lr * g / (|g| + eps)."""
    first = [run_with(name, {"beta": 0.0})[0] for name in ("adam", "rmsprop", "adagrad")]
    g = np.array(GRADIENTS[0])
    expected = np.array(W0) - HYPER["learning_rate"] * g / (np.abs(g) + HYPER["epsilon"])
    for w in first:
        np.testing.assert_allclose(w, expected, rtol=1e-15)


def run_with(name, overrides):
    opt = optimizers.make(name, **{**HYPER, **overrides})
    params = {"w": np.array(W0)}
    state = opt.init(params)
    out = []
    for grad, loss in zip(GRADIENTS, LOSSES):
        opt.apply(params, {"w": np.array(grad)}, state, loss=loss)
        out.append(params["w"].copy())
    return out


@pytest.mark.parametrize("weight_decay", [0.0, 1.0])
@pytest.mark.parametrize("name", optimizers.names())
def test_state_never_decays_into_float32_subnormals(name, weight_decay):
    """Coordinates whose loss gradient is always 0 must not leave subnormal values in the
    parameters or the state (they make every later NumPy operation on them ~100x slower);
    with weight decay their gradient is the decay term ``lambda * w`` alone."""
    opt = optimizers.make(name, learning_rate=0.1, momentum=0.9, beta=0.9, beta1=0.9, beta2=0.9)
    params = {"w": np.ones(4, dtype=np.float32)}
    state = opt.init(params)
    opt.apply(params, {"w": np.full(4, 0.5, dtype=np.float32)}, state, loss=1.0)
    tiny = np.finfo(np.float32).tiny
    for _ in range(1200):  # 0.9 ** k crosses the subnormal range for k in about 800..950
        opt.apply(params, {"w": weight_decay * params["w"]}, state, loss=1.0)
        for array in [params["w"], *state["slots"]["w"].values()]:
            assert not np.any((array != 0) & (np.abs(array) < tiny))


@pytest.mark.parametrize("name", ["adam", "nadam", "eve"])
def test_golden_trajectory_without_momentum(name):
    """beta1 = 0 is allowed: the first moment is then the gradient itself."""
    np.testing.assert_allclose(
        run_with(name, {"beta1": 0.0}), reference_trajectory(name, {**HYPER, "beta1": 0.0}), rtol=1e-12, atol=1e-14
    )


FUSED_RULES = ["adam", "adamw", "nadam", "eve"]


def trajectory_with(fused: bool, name, dtype, hp, monkeypatch):
    from nn import jit
    from optimizers import fused as fused_module

    monkeypatch.setattr(jit, "ENABLED", fused)
    rng = np.random.default_rng(12)
    opt = optimizers.make(name, **hp)
    params = {"w": rng.normal(size=(64, 33)).astype(dtype)}
    state = opt.init(params)
    out = []
    for step in range(40):  # past FLUSH_EVERY, with exact zeros in some gradients
        g = rng.normal(size=(64, 33)).astype(dtype) * (step % 3)
        opt.apply(params, {"w": g}, state, loss=1.0 + 0.1 * np.sin(step))
        out.append(params["w"].copy())
    assert (fused_module.kernel() is not None) == fused
    return out, state


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", FUSED_RULES)
@pytest.mark.parametrize("hp", [HYPER, {}, {"beta1": 0.0}])
def test_the_fused_update_gives_the_same_bits_as_the_numpy_one(name, dtype, hp, monkeypatch):
    pytest.importorskip("numba")
    fused, fused_state = trajectory_with(True, name, dtype, hp, monkeypatch)
    plain, plain_state = trajectory_with(False, name, dtype, hp, monkeypatch)
    for a, b in zip(fused, plain):
        np.testing.assert_array_equal(a, b)
    for slot in ("m", "v"):
        np.testing.assert_array_equal(fused_state["slots"]["w"][slot], plain_state["slots"]["w"][slot])
    assert fused[-1].dtype == dtype
