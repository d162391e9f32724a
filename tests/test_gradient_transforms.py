"""Gradient transforms (nn.gradients): clipping by the global norm as PyTorch does it, and the hook of
nn.fit that applies transforms to the whole gradient (the penalty's included) before every update."""

import numpy as np
import pytest

import nn
import optimizers
from nn import jit
from nn.gradients import CLIP_EPSILON, apply_transforms, clip_by_global_norm, global_norm
from optimizers import fused

# Relative tolerance between this clipping and torch's: the norms are summed in another order (float32:
# one rounding of the norm, then of the coefficient, a few ulp).
RTOL = {np.float64: 1e-13, np.float32: 1e-6}
CASES = [(1.0, 1e-3), (1.0, 10.0), (5.0, 1.0), (0.1, 1e3), (1e9, 1.0)]  # (max_norm, scale of g)


def gradient(dtype, scale, size=1000, seed=0):
    return (np.random.default_rng(seed).normal(size=size) * scale).astype(dtype)


def clipped_by_the_equation(g, max_norm):
    """n = sqrt(sum g_i^2), c = min(max_norm / (n + 1e-6), 1), g <- c g, in float64."""
    n = np.sqrt(np.sum(g.astype(np.float64) ** 2))
    c = min(max_norm / (n + 1e-6), 1.0)
    return g.astype(np.float64) * c, n


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("max_norm", "scale"), CASES)
def test_clipping_follows_its_equation(dtype, max_norm, scale):
    g = gradient(dtype, scale)
    expected, norm = clipped_by_the_equation(g, max_norm)
    out = clip_by_global_norm(max_norm)(g)
    assert out is g and g.dtype == dtype  # in place
    np.testing.assert_allclose(g, expected, rtol=RTOL[dtype])
    assert float(global_norm(gradient(dtype, scale))) == pytest.approx(norm, rel=RTOL[dtype])
    clipped = np.sqrt(np.sum(g.astype(np.float64) ** 2))
    assert clipped == pytest.approx(min(norm, max_norm * norm / (norm + CLIP_EPSILON)), rel=10 * RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("max_norm", "scale"), [*CASES, (1.0, 0.0)])
def test_clipping_gives_what_torch_clip_grad_norm_gives(dtype, max_norm, scale):
    torch = pytest.importorskip("torch")
    g = gradient(dtype, scale)
    sizes = [300, 200, 500]  # torch's norm is over every parameter's gradient at once
    parameters = [torch.nn.Parameter(torch.zeros(size, dtype=getattr(torch, np.dtype(dtype).name))) for size in sizes]
    for parameter, part in zip(parameters, np.split(g, np.cumsum(sizes)[:-1])):
        parameter.grad = torch.from_numpy(part.copy())
    total = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    theirs = np.concatenate([parameter.grad.numpy() for parameter in parameters])
    assert float(global_norm(g)) == pytest.approx(float(total), rel=RTOL[dtype], abs=0.0)
    ours = clip_by_global_norm(max_norm)(g)
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=RTOL[dtype], atol=0.0)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_a_non_finite_gradient_is_scaled_by_its_coefficient_as_in_torch(bad):
    """n = inf: c = 0 (finite entries become 0, the inf NaN); n = NaN: c = NaN. No error, as torch's
    default error_if_nonfinite=False."""
    g = np.array([1.0, bad, -2.0])
    expected = np.array([0.0, np.nan, -0.0]) if bad == np.inf else np.full(3, np.nan)
    with np.errstate(invalid="ignore"):  # inf * 0
        np.testing.assert_array_equal(clip_by_global_norm(1.0)(g), expected)
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    parameter.grad = torch.tensor([1.0, bad, -2.0], dtype=torch.float64)
    torch.nn.utils.clip_grad_norm_([parameter], 1.0)
    np.testing.assert_array_equal(parameter.grad.numpy(), expected)


def test_a_max_norm_that_is_not_positive_is_refused():
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="max_norm must be positive"):
            clip_by_global_norm(bad)


def test_transforms_apply_in_order_into_the_gradient_buffer():
    g = np.array([1.0, 2.0])
    apply_transforms([lambda a: a * 2, lambda a: a + 1], g)  # new arrays, copied back
    np.testing.assert_array_equal(g, [3.0, 5.0])
    apply_transforms([lambda a: a + 1, lambda a: a * 2], g)
    np.testing.assert_array_equal(g, [8.0, 12.0])
    with pytest.raises(ValueError, match="must return the gradient"):
        apply_transforms([lambda a: None], g)
    with pytest.raises(ValueError, match=r"shape \(1,\)"):
        apply_transforms([lambda a: a[:1]], g)


def train(blobs, transforms=(), optimizer="sgd", epochs=2, **kwargs):
    (x, y), validation = blobs
    model = nn.mlp([20, 16, 3], activation="tanh", weight_init="Xavier", seed=1, dtype=np.float64)
    opt = optimizers.make(optimizer, learning_rate=0.1 if optimizer == "sgd" else 0.01)
    history = nn.fit(
        model,
        "cross_entropy",
        opt,
        nn.Batches(x, y, 50, seed=2),
        epochs=epochs,
        validation_data=validation,
        gradient_transforms=transforms,
        **kwargs,
    )
    return model, [{k: v for k, v in row.items() if "seconds" not in k} for row in history]


class NormRecorder:
    """A transform that leaves the gradient as it is and records its global norm (and the first one)."""

    def __init__(self):
        self.norms, self.first = [], None

    def __call__(self, g):
        self.norms.append(float(global_norm(g)))
        if self.first is None:
            self.first = g.copy()
        return g


def test_clipping_changes_the_trajectory_only_when_the_norm_exceeds_the_maximum(blobs):
    plain, plain_history = train(blobs)
    recorder = NormRecorder()
    train(blobs, [recorder])
    assert min(recorder.norms) < 1e9 and max(recorder.norms) > 0.05
    huge, huge_history = train(blobs, [clip_by_global_norm(1e9)])
    np.testing.assert_array_equal(huge.flat_params, plain.flat_params)  # bit for bit
    assert huge_history == plain_history
    clipped, clipped_history = train(blobs, [clip_by_global_norm(0.05)])
    assert not np.allclose(clipped.flat_params, plain.flat_params)
    assert clipped_history[-1]["train_loss"] != plain_history[-1]["train_loss"]
    after = NormRecorder()
    train(blobs, [clip_by_global_norm(0.05), after])
    assert max(after.norms) <= 0.05  # the next transform sees the clipped gradient


@pytest.mark.parametrize(("weight_decay", "l1"), [(0.0, 0.0), (0.1, 0.0), (0.0, 0.01), (0.1, 0.01)])
def test_a_transform_sees_the_gradient_of_the_whole_objective(blobs, weight_decay, l1):
    """The first gradient a transform receives is dL/dθ of the data loss plus the penalty's gradient on
    the first mini-batch: what objective_and_grads computes there, bit for bit."""
    recorder = NormRecorder()
    train(blobs, [recorder], epochs=1, weight_decay=weight_decay, l1=l1)
    (x, y), _ = blobs
    xb, yb = next(iter(nn.Batches(x, y, 50, seed=2)))
    model = nn.mlp([20, 16, 3], activation="tanh", weight_init="Xavier", seed=1, dtype=np.float64)
    nn.objective_and_grads(model, "cross_entropy", xb, yb, weight_decay=weight_decay, l1=l1)
    np.testing.assert_array_equal(recorder.first, model.flat_grads)
    nn.objective_and_grads(model, "cross_entropy", xb, yb)  # the data loss alone
    assert np.array_equal(recorder.first, model.flat_grads) == (weight_decay == l1 == 0.0)


@pytest.mark.parametrize("compiled", [True, False])
def test_transforms_reach_the_fused_update_of_the_adam_family(blobs, compiled, monkeypatch):
    """Adam's update with numba (one fused pass) and without it reads the transformed gradient: a
    zero gradient (m = v = 0) moves no weight, and clipping gives the same bits on both paths."""
    if compiled:
        pytest.importorskip("numba")
    monkeypatch.setattr(jit, "ENABLED", compiled)
    assert (fused.kernel() is not None) == compiled
    start = nn.mlp([20, 16, 3], activation="tanh", weight_init="Xavier", seed=1, dtype=np.float64).flat_params
    zeroed, _ = train(blobs, [lambda g: np.zeros_like(g)], optimizer="adam", weight_decay=0.1)
    np.testing.assert_array_equal(zeroed.flat_params, start)
    clipped, _ = train(blobs, [clip_by_global_norm(0.05)], optimizer="adam")
    monkeypatch.setattr(jit, "ENABLED", not compiled)
    other_path, _ = train(blobs, [clip_by_global_norm(0.05)], optimizer="adam")
    np.testing.assert_array_equal(clipped.flat_params, other_path.flat_params)


def test_a_transform_that_is_not_callable_is_refused(blobs):
    with pytest.raises(TypeError, match="must be callable"):
        train(blobs, [1.0])
