"""Convolution, locally connected and max-pooling layers: against direct loops written here, and
their gradients (parameters and input) against float64 finite differences."""

import itertools

import numpy as np
import pytest

import nn
import optimizers
from nn.layers import (
    ActivationLayer,
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    LayerNorm,
    LocallyConnected2D,
    MaxPool2D,
    Reshape,
)
from tests.test_gradients import numeric_input_gradient, relative_error
from tests.test_layers import numeric_check


def direct_conv(x, W, b, stride, padding):
    """z[n, i, j, f] = b[f] + sum_{a, c, k} xpad[n, i*s + a, j*s + c, k] W[a, c, k, f], one output at a time."""
    n, h, w, _ = x.shape
    kh, kw, _, f = W.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    z = np.zeros((n, ho, wo, f))
    for s, i, j, o in itertools.product(range(n), range(ho), range(wo), range(f)):
        window = xp[s, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
        z[s, i, j, o] = b[o] + np.sum(window * W[:, :, :, o])
    return z


def direct_local(x, W, b, kernel, stride, padding):
    n, _h, _w, _c = x.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    ho, wo, f = b.shape
    z = np.zeros((n, ho, wo, f))
    for s, i, j in itertools.product(range(n), range(ho), range(wo)):
        window = xp[s, i * stride : i * stride + kernel, j * stride : j * stride + kernel, :].reshape(-1)
        z[s, i, j] = b[i, j] + window @ W[i * wo + j]
    return z


def direct_max_pool(x, k, stride):
    n, h, w, c = x.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    y = np.zeros((n, ho, wo, c))
    for i, j in itertools.product(range(ho), range(wo)):
        y[:, i, j, :] = x[:, i * stride : i * stride + k, j * stride : j * stride + k, :].max(axis=(1, 2))
    return y


SHAPES = [  # (H, W, C, F, kernel, stride, padding)
    (7, 7, 1, 4, 3, 1, 0),
    (7, 6, 3, 2, 3, 1, 1),
    (8, 8, 2, 3, 3, 2, 0),
    (9, 7, 2, 2, 2, 2, 1),
    (6, 6, 9, 3, 5, 1, 2),
    (10, 10, 9, 2, 3, 3, 1),
    (5, 5, 2, 2, 1, 1, 0),
]


def single_layer_model(layer):
    return nn.Sequential([layer], seed=3, dtype=np.float64)


@pytest.mark.parametrize("h, w, c, f, k, s, p", SHAPES)
def test_convolution_equals_the_direct_loop(h, w, c, f, k, s, p):
    rng = np.random.default_rng(h * w + c)
    layer = Conv2D(c, f, k, s, p)
    model = single_layer_model(layer)
    layer.params["b"][...] = rng.normal(size=f)
    x = rng.normal(size=(3, h, w, c))
    assert np.allclose(model.forward(x), direct_conv(x, layer.params["W"], layer.params["b"], s, p), atol=1e-12)


def test_convolution_equals_scipy_correlate_for_one_channel():
    from scipy.signal import correlate2d

    rng = np.random.default_rng(0)
    layer = Conv2D(1, 1, 3, 1, 1)
    model = single_layer_model(layer)
    x = rng.normal(size=(1, 8, 8, 1))
    expected = correlate2d(x[0, :, :, 0], layer.params["W"][:, :, 0, 0], mode="same")
    assert np.allclose(model.forward(x)[0, :, :, 0], expected, atol=1e-12)


@pytest.mark.parametrize("h, w, c, f, k, s, p", SHAPES)
def test_locally_connected_equals_the_direct_loop(h, w, c, f, k, s, p):
    rng = np.random.default_rng(h * w + c + 1)
    layer = LocallyConnected2D(c, f, k, s, p, input_hw=(h, w))
    model = single_layer_model(layer)
    layer.params["b"][...] = rng.normal(size=layer.params["b"].shape)
    x = rng.normal(size=(3, h, w, c))
    expected = direct_local(x, layer.params["W"], layer.params["b"], k, s, p)
    assert np.allclose(model.forward(x), expected, atol=1e-12)


def test_locally_connected_with_equal_kernels_is_a_convolution():
    rng = np.random.default_rng(1)
    conv, local = Conv2D(2, 3, 3, 1, 1), LocallyConnected2D(2, 3, 3, 1, 1, input_hw=(5, 6))
    single_layer_model(conv), single_layer_model(local)
    local.params["W"][...] = conv.params["W"].reshape(1, 18, 3)
    x = rng.normal(size=(2, 5, 6, 2))
    assert np.allclose(conv.forward(x), local.forward(x), atol=1e-12)


@pytest.mark.parametrize("k, s", [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_max_pooling_equals_the_direct_loop(k, s):
    x = np.random.default_rng(k * 10 + s).normal(size=(2, 7, 8, 3))
    assert np.array_equal(MaxPool2D(k, s).forward(x), direct_max_pool(x, k, s))


@pytest.mark.parametrize("stride", [2, 3])  # windows side by side, and the general path
def test_max_pooling_routes_the_gradient_to_the_first_maximum_of_a_tie(stride):
    x = np.zeros((1, 2, 2, 1))
    x[0, 1, 0, 0] = x[0, 1, 1, 0] = 1.0
    pool = MaxPool2D(2, stride)
    pool.forward(x)
    dx = pool.backward(np.full((1, 1, 1, 1), 5.0))
    assert dx[0, :, :, 0].tolist() == [[0.0, 0.0], [5.0, 0.0]]


def conv_model(kind, s, p, k=3, pool=(2, 2), norm=None, h=7, w=6):
    c, f = 2, 3
    first = (
        Conv2D(c, f, k, s, p, "Xavier")
        if kind == "conv"
        else LocallyConnected2D(c, f, k, s, p, "Xavier", input_hw=(h, w))
    )
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    layers = [Reshape((h, w, c)), first]
    if norm:
        layers.append(norm(f))
    layers.append(ActivationLayer("tanh"))
    if pool and min(ho, wo) >= pool[0]:
        layers.append(MaxPool2D(*pool))
        ho, wo = (ho - pool[0]) // pool[1] + 1, (wo - pool[0]) // pool[1] + 1
    layers += [Flatten(), Dense(ho * wo * f, 3, "Xavier")]
    return nn.Sequential(layers, seed=2, dtype=np.float64), h * w * c


@pytest.mark.parametrize(
    "kind, s, p, k, pool",
    [
        ("conv", 1, 0, 3, (2, 2)),
        ("conv", 1, 1, 3, (3, 2)),
        ("conv", 2, 0, 3, None),
        ("conv", 2, 2, 3, (2, 1)),
        ("conv", 1, 1, 2, (2, 2)),
        ("local", 1, 0, 3, (2, 2)),
        ("local", 2, 1, 3, None),
        ("local", 1, 2, 3, (3, 2)),
    ],
)
def test_gradients_by_finite_differences(kind, s, p, k, pool):
    model, n_features = conv_model(kind, s, p, k, pool)
    rng = np.random.default_rng(7)
    for param in model.params.values():  # biases away from 0, so they matter
        param += rng.normal(scale=0.1, size=param.shape)
    x, y = rng.normal(size=(4, n_features)), np.array([0, 1, 2, 1])
    numeric_check(model, x, y, "cross_entropy")
    _, analytic = nn.input_gradient(model, "cross_entropy", x, y)
    assert relative_error(analytic, numeric_input_gradient(model, "cross_entropy", x, y)) < 1e-6


@pytest.mark.parametrize("norm", [BatchNorm, LayerNorm])
def test_normalisation_after_a_convolution_per_channel(norm):
    model, n_features = conv_model("conv", 1, 1, norm=norm)
    rng = np.random.default_rng(8)
    for param in model.params.values():
        param += rng.normal(scale=0.2, size=param.shape)
    x, y = rng.normal(size=(5, n_features)), np.array([0, 1, 2, 1, 0])
    numeric_check(model, x, y, "mean_squared_error")
    z = model.layers[1].forward(model.layers[0].forward(x))
    out = model.layers[2].forward(z, training=True)
    gamma, beta = model.layers[2].params["gamma"], model.layers[2].params["beta"]
    axes = (0, 1, 2) if norm is BatchNorm else (3,)
    expected = (z - z.mean(axis=axes, keepdims=True)) / np.sqrt(z.var(axis=axes, keepdims=True) + 1e-5)
    assert np.allclose(out, expected * gamma + beta)


def test_initialisers_see_the_kernel_fan_in_and_fan_out():
    layer = Conv2D(4, 8, 5, weight_init="Xavier")
    single_layer_model(layer)
    limit = np.sqrt(6.0 / (25 * 4 + 25 * 8))
    W = layer.params["W"]
    assert W.shape == (5, 5, 4, 8) and np.abs(W).max() <= limit and np.abs(W).max() > 0.9 * limit
    he = Conv2D(4, 8, 5, weight_init="He")
    single_layer_model(he)
    assert abs(he.params["W"].std() - np.sqrt(2.0 / 100)) < 0.1 * np.sqrt(2.0 / 100)


@pytest.mark.parametrize("locally_connected", [False, True])
def test_convnet_saves_loads_and_predicts_in_small_chunks(tmp_path, locally_connected):
    model = nn.convnet(
        (8, 8),
        4,
        filters=[3, 5],
        hidden=[6],
        activation="ReLU",
        weight_init="He",
        norm="batch",
        dropout=0.2,
        locally_connected=locally_connected,
        seed=4,
    )
    x = np.random.default_rng(0).random((1100, 64)).astype(np.float32)
    nn.objective_and_grads(model, "cross_entropy", x[:32], np.arange(32) % 4)  # moves batch norm's statistics
    assert model.eval_batch_size < 1100
    path = model.save(tmp_path / "m.npz")
    loaded = nn.Sequential.load(path)
    assert [layer.kind for layer in loaded.layers] == [layer.kind for layer in model.layers]
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert np.allclose(model.predict(x), model.predict(x, batch_size=4096), atol=1e-5)


def test_convnet_learns_to_tell_bars_from_stripes():
    rng = np.random.default_rng(0)
    images = rng.normal(scale=0.3, size=(400, 8, 8))
    labels = rng.integers(0, 2, 400)
    for image, label, where in zip(images, labels, rng.integers(0, 8, 400)):
        if label:
            image[:, where] += 2.0
        else:
            image[where, :] += 2.0
    model = nn.convnet((8, 8), 2, filters=[4], activation="ReLU", weight_init="He", seed=0)
    x = images.reshape(400, 64).astype(np.float32)
    nn.fit(
        model,
        "cross_entropy",
        optimizers.make("adam", learning_rate=0.01),
        nn.Batches(x[:300], labels[:300], 32, seed=0),
        epochs=15,
    )
    assert nn.evaluate(model, "cross_entropy", x[300:], labels[300:])["accuracy"] > 0.95


def test_max_pool_compiled_backward_equals_the_numpy_path(monkeypatch):
    """The numba loop of the tiled backward and the NumPy passes route every gradient alike, ties
    (small integers: many) and cropped edges (7x9 maps, 2x2 windows) included."""
    pytest.importorskip("numba")
    from nn import jit
    from nn.layers import pooling

    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64):
        x = rng.integers(0, 3, size=(5, 7, 9, 6)).astype(dtype)
        dy = rng.normal(size=(5, 3, 4, 6)).astype(dtype)
        compiled_layer, numpy_layer = pooling.MaxPool2D(2), pooling.MaxPool2D(2)
        compiled_layer.forward(x.copy(), training=True)
        numpy_layer.forward(x.copy(), training=True)
        assert jit.compiled(pooling._max_pool_backward_tiled) is not None
        compiled = compiled_layer.backward(dy).copy()
        with monkeypatch.context() as patch:
            patch.setattr(jit, "ENABLED", False)  # the NumPy passes
            expected = numpy_layer.backward(dy).copy()
        np.testing.assert_array_equal(compiled, expected)
        assert np.count_nonzero(compiled) == np.count_nonzero(dy)  # one offset per window


def _relu_pool_pair(pool_size, linked):
    from nn.layers.pooling import fuse_relu_pooling

    relu, pool = ActivationLayer("relu"), MaxPool2D(pool_size)
    if linked:
        fuse_relu_pooling([relu, pool])
    return relu, pool


@pytest.mark.parametrize("pool_size", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_then_pooling_fused_equals_the_two_layers(pool_size, dtype):
    """The fused training pass (one loop over z: relu(max), the offset kept) gives what ReLU then
    pooling give computed apart, bit for bit (the sign of a zero included): ties at 0 and between
    positive values (small integers: many), -0, cropped edges (7 x 9 maps) and a NaN (kept, as
    np.maximum keeps it)."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    z = rng.integers(-2, 3, size=(4, 7, 9, 6)).astype(dtype)
    z[2, :, :, 1] = -0.0
    z[1, 0, 0, 2] = np.nan
    dy = rng.normal(size=(4, 7 // pool_size, 9 // pool_size, 6)).astype(dtype)
    results = []
    for linked in (False, True):
        relu, pool = _relu_pool_pair(pool_size, linked)
        y = pool.forward(relu.forward(z.copy(), training=True), training=True).copy()
        assert relu.deferred == linked and pool._fused == linked
        results.append((y, relu.backward(pool.backward(dy.copy())).copy()))
    (y_apart, dz_apart), (y_fused, dz_fused) = results
    bits = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(y_fused.view(bits), y_apart.view(bits))
    np.testing.assert_array_equal(dz_fused.view(bits), dz_apart.view(bits))
    assert np.signbit(dz_fused).any() and np.isnan(y_fused).any()  # -0 gradients and the NaN were there
    np.testing.assert_array_equal(
        y_fused[~np.isnan(y_fused)], direct_max_pool(np.maximum(z, 0), pool_size, pool_size)[~np.isnan(y_fused)]
    )
    # Each window's gradient lands on at most one offset, and only where the pooled value is positive.
    assert np.count_nonzero(dz_fused) == np.count_nonzero(dy * (y_fused > 0))


def test_relu_then_pooling_fused_only_while_training_and_with_numba(monkeypatch):
    pytest.importorskip("numba")
    from nn import jit

    relu_model = nn.Sequential(
        [Reshape((6, 6, 2)), Conv2D(2, 3, 3, 1, 1, "Xavier"), ActivationLayer("relu"), MaxPool2D(2), Flatten()],
        seed=1,
        dtype=np.float64,
    )
    x = np.random.default_rng(0).normal(size=(3, 72))
    training = relu_model.forward(x, training=True).copy()
    assert relu_model.layers[2].deferred
    evaluation = relu_model.forward(x).copy()
    assert not relu_model.layers[2].deferred
    np.testing.assert_array_equal(training, evaluation)
    monkeypatch.setattr(jit, "ENABLED", False)
    np.testing.assert_array_equal(relu_model.forward(x, training=True), evaluation)
    assert not relu_model.layers[2].deferred


def test_gradients_of_conv_relu_pool_by_finite_differences():
    """The CNN's own block (convolution, ReLU, 2 x 2 pooling), whose training pass is fused."""
    pytest.importorskip("numba")
    model = nn.Sequential(
        [
            Reshape((6, 8, 2)),
            Conv2D(2, 3, 3, 1, 1, "Xavier"),
            ActivationLayer("relu"),
            MaxPool2D(2),
            Flatten(),
            Dense(36, 3, "Xavier"),
        ],
        seed=3,
        dtype=np.float64,
    )
    rng = np.random.default_rng(8)
    for param in model.params.values():
        param += rng.normal(scale=0.1, size=param.shape)
    x, y = rng.normal(size=(4, 96)), np.array([0, 1, 2, 1])
    numeric_check(model, x, y, "cross_entropy")
    assert model.layers[2].deferred  # the check went through the fused pass
    _, analytic = nn.input_gradient(model, "cross_entropy", x, y)
    assert relative_error(analytic, numeric_input_gradient(model, "cross_entropy", x, y)) < 1e-6


@pytest.mark.parametrize("kernel, stride", [(3, 1), (3, 2), (2, 2), (5, 3)])
def test_col2im_compiled_gives_the_bits_of_the_numpy_passes(monkeypatch, kernel, stride):
    """Both add the offsets in the same order, so a switch of FFNN_FUSED changes no bit; and both are
    the adjoint of im2col: <im2col(x), c> = <x, col2im(c)> (float64)."""
    pytest.importorskip("numba")
    from nn import jit
    from nn.layers.patches import col2im, im2col

    rng = np.random.default_rng(kernel * 10 + stride)
    ho, wo = 5, 4
    for p in (0, 1, 2):
        h, w = stride * (ho - 1) + kernel - 2 * p, stride * (wo - 1) + kernel - 2 * p
        for dtype in (np.float32, np.float64):
            cols = rng.normal(size=(3, ho, wo, kernel, kernel, 4)).astype(dtype)
            compiled = col2im(cols, stride, np.empty((3, h, w, 4), dtype), p).copy()
            assert jit.compiled(patches_kernel()) is not None
            with monkeypatch.context() as patch:
                patch.setattr(jit, "ENABLED", False)
                numpy_path = col2im(cols, stride, np.full((3, h, w, 4), 7.0, dtype), p)
            np.testing.assert_array_equal(compiled, numpy_path)
        x = rng.normal(size=(3, h, w, 4))
        xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        patches = im2col(xp, (kernel, kernel), stride, np.empty((3, ho, wo, kernel, kernel, 4)))
        assert np.isclose(np.sum(patches * cols), np.sum(x * col2im(cols, stride, np.empty_like(x), p)))


def patches_kernel():
    from nn.layers import patches

    return patches._col2im_kernel
