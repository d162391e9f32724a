"""Contracts every registry entry keeps, checked over the registries themselves: a new layer,
activation, loss or data set is picked up here without editing this file (a layer needs one line
in LAYER_CASES: the test fails until it has one).

* layers: ``output_shape`` is the shape ``forward`` gives, in both modes; the input gradient and
  every parameter gradient agree with central differences in float64 (relative error < 1e-6),
  in evaluation and in training mode (with the layer's noise drawn the same every time);
  ``backward`` overwrites the gradients; float32 stays float32; a save/load round trip through
  ``Sequential.save``/``load`` gives the same configuration, state and outputs;
* activations: the gradient check, in place on the caller's arrays, dtype kept;
* losses: the gradient check, ``need_grad=False``, inputs untouched, dtype kept, the task's
  targets accepted;
* data sets: load (or skip, saying why, when only a download would give them), the declared
  task, finite values, splits of the right sizes.
"""

import math

import numpy as np
import pytest

import datasets
import nn
from datasets import sources
from nn import activations, losses
from nn.layers import LAYERS, ActivationLayer
from tests.conftest import REAL_DATA_MARKS, REAL_DATA_SETS, real_data_dir

H = 1e-6
N = 4  # examples per batch


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


# -- layers ---------------------------------------------------------------------------------
# Registered name -> [(constructor arguments, the shape of one input example), ...]: small
# enough for finite differences, and covering each layer's distinct code paths.
LAYER_CASES = {
    "activation": [({"function": "tanh"}, (3, 2))],
    "conv2d": [
        ({"in_channels": 2, "filters": 3, "kernel_size": 3, "padding": 1, "weight_init": "Xavier"}, (5, 4, 2)),
        ({"in_channels": 2, "filters": 2, "kernel_size": 3, "stride": 2, "weight_init": "Xavier"}, (6, 5, 2)),
        ({"in_channels": 1, "filters": 2, "kernel_size": 2, "padding": 2, "weight_init": "Xavier"}, (3, 3, 1)),
    ],
    "dense": [({"n_in": 5, "n_out": 3}, (5,))],
    "dropout": [({"rate": 0.4}, (6,)), ({"rate": 0.0}, (2, 3))],
    "flatten": [({}, (3, 2, 2))],
    "locally_connected2d": [
        ({"in_channels": 2, "filters": 2, "kernel_size": 2, "padding": 1, "input_hw": [4, 3]}, (4, 3, 2)),
        ({"in_channels": 1, "filters": 2, "kernel_size": 3, "stride": 2, "input_hw": [5, 5]}, (5, 5, 1)),
    ],
    "batch_norm": [({"size": 3}, (3,)), ({"size": 2}, (2, 2, 2))],
    "layer_norm": [({"size": 4}, (4,)), ({"size": 3}, (2, 1, 3))],
    "max_pool2d": [({"pool_size": 2}, (5, 4, 2)), ({"pool_size": 3, "stride": 2}, (5, 6, 1))],
    "reshape": [({"shape": [2, 3, 2]}, (12,))],
}


def layer_params():
    """One parameter set per case of every registered layer; a layer without cases gets one that fails."""
    params = []
    for kind in LAYERS.names():
        cases = LAYER_CASES.get(kind) or [(None, None)]
        for i, (arguments, input_shape) in enumerate(cases):
            params.append(
                pytest.param(kind, arguments, input_shape, id=f"{kind}-{i}" if arguments else f"{kind}-no-case")
            )
    return params


def need_case(kind, arguments):
    if arguments is None:
        pytest.fail(
            f"layer {kind!r} is registered in nn.LAYERS but tests/test_contracts.py has no LAYER_CASES entry "
            f"for it: add its constructor arguments and the shape of a tiny input example"
        )


def single_layer_model(kind, arguments, dtype, seed=0):
    """The layer alone in a model (which binds its parameters), with every parameter and state
    array moved off its initial value, so that biases, gammas and running statistics matter."""
    model = nn.Sequential([LAYERS[kind](**arguments)], seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    for param in model.params.values():
        param += rng.normal(scale=0.3, size=param.shape).astype(dtype)
    for array in model.state().values():
        array[...] = rng.uniform(0.5, 1.5, size=array.shape)
    return model, model.layers[0]


def same_noise(layer):
    """Every random generator of the layer (dropout's masks) starts afresh: each forward draws the same noise."""
    for attribute, value in list(vars(layer).items()):
        if isinstance(value, np.random.Generator):
            setattr(layer, attribute, np.random.default_rng(9))


def test_every_layer_case_is_a_registered_layer():
    assert sorted(set(LAYER_CASES) - set(LAYERS.names())) == []


@pytest.mark.parametrize("kind, arguments, input_shape", layer_params())
@pytest.mark.parametrize("training", [False, True])
def test_output_shape_is_the_shape_forward_gives_and_float32_stays_float32(kind, arguments, input_shape, training):
    need_case(kind, arguments)
    model, layer = single_layer_model(kind, arguments, np.float32)
    x = np.random.default_rng(2).normal(size=(N, *input_shape)).astype(np.float32)
    y = model.forward(x, training=training)
    assert y.shape == (N, *layer.output_shape(input_shape)) and y.dtype == np.float32
    assert model.layer_shapes(input_shape) == [
        (layer, layer.output_shape(input_shape), layer.patch_values(input_shape))
    ]
    patches = layer.patch_values(input_shape)
    assert isinstance(patches, int) and patches >= 0
    dx = model.backward(np.ones_like(y), need_input_grad=True)
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in model.grads.values())


@pytest.mark.parametrize("kind, arguments, input_shape", layer_params())
@pytest.mark.parametrize("training", [False, True])
def test_gradients_match_finite_differences(kind, arguments, input_shape, training):
    """``L = sum(w * layer(x))`` for a fixed random ``w``: ``backward(w)`` against central differences."""
    need_case(kind, arguments)
    model, layer = single_layer_model(kind, arguments, np.float64)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, *input_shape))
    w = rng.normal(size=(N, *layer.output_shape(input_shape)))

    def objective():
        same_noise(layer)
        return float(np.sum(w * model.forward(x, training=training)))

    def gradients():
        objective()
        dx = model.backward(w.copy(), need_input_grad=True).copy()
        return dx, {name: g.copy() for name, g in model.grads.items()}

    dx, grads = gradients()
    again_dx, again = gradients()  # backward overwrites the gradients, never adds to them
    np.testing.assert_array_equal(again_dx, dx)
    assert all(np.array_equal(again[name], grads[name]) for name in grads)
    for name, array in [("input", x), *model.params.items()]:
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + H
            plus = objective()
            array[index] = saved - H
            minus = objective()
            array[index] = saved
            numeric[index] = (plus - minus) / (2 * H)
        analytic = dx if name == "input" else grads[name]
        assert analytic.shape == array.shape
        assert relative_error(analytic, numeric) < 1e-6, f"{kind} {name}: {relative_error(analytic, numeric):.2e}"


@pytest.mark.parametrize("kind, arguments, input_shape", layer_params())
def test_save_and_load_give_the_same_layer(kind, arguments, input_shape, tmp_path):
    need_case(kind, arguments)
    model, _ = single_layer_model(kind, arguments, np.float32, seed=4)
    x = np.random.default_rng(5).normal(size=(N, *input_shape)).astype(np.float32)
    expected = model.forward(x).copy()
    loaded = nn.Sequential.load(model.save(tmp_path / f"{kind}.npz"))
    assert loaded.config == model.config and repr(loaded) == repr(model)
    assert loaded.params.keys() == model.params.keys()
    assert all(np.array_equal(loaded.params[k], model.params[k]) for k in model.params)
    assert loaded.state().keys() == model.state().keys()
    assert all(np.array_equal(loaded.state()[k], model.state()[k]) for k in model.state())
    np.testing.assert_array_equal(loaded.forward(x), expected)


def test_layer_shapes_and_the_summary_of_a_cnn():
    model = nn.convnet(
        (8, 8), 10, filters=[4, 6], hidden=[16], activation="ReLU", weight_init="He", norm="batch", pool=2
    )
    rows = nn.layer_shapes(model.layers, (64,))
    x = np.random.default_rng(0).random((3, 64), dtype=np.float32)
    for layer, shape, _ in rows:  # each layer's output shape is the one forward gives
        x = layer.forward(x)
        assert x.shape[1:] == shape, layer
    assert rows[-1][1] == model.output_shape(64) == (10,)
    conv = rows[1]
    assert conv[1] == (8, 8, 4) and conv[2] == 8 * 8 * 3 * 3 * 1  # im2col: Ho Wo k k C per example
    text = model.summary((64,))
    assert f"Total params: {model.n_params:,}" in text
    assert "(8, 8, 4)" in text and repr(model.layers[1]) in text
    assert len(text.splitlines()) == len(model.layers) + 7  # title, 3 rules, header, input, layers, total
    with pytest.raises(ValueError, match=r"layer 0 \(Reshape.*input of shape \(63,\)"):
        model.summary(63)


def test_shapes_that_do_not_fit_are_refused_before_any_array_is_made():
    mlp = nn.mlp([5, 4, 3], activation="tanh", weight_init="Xavier")
    with pytest.raises(ValueError, match="layer 0 .*takes vectors of 5 values"):
        nn.layer_shapes(mlp.layers, (6,))
    with pytest.raises(ValueError, match="does not fit"):
        LAYERS["conv2d"](in_channels=1, filters=2, kernel_size=5).output_shape((3, 3, 1))
    with pytest.raises(ValueError, match="takes H x W x 2 images"):
        LAYERS["conv2d"](in_channels=2, filters=2).output_shape((5, 5, 1))


# -- activations ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", activations.ACTIVATIONS.names())
def test_activation_gradient_in_place_and_dtype(name):
    rng = np.random.default_rng(6)
    z = rng.choice([-1.0, 1.0], size=(N, 5)) * rng.uniform(0.05, 2.5, size=(N, 5))  # away from kinks at 0
    w = rng.normal(size=z.shape)
    layer = ActivationLayer(name)
    layer.forward(z)
    analytic = layer.backward(w.copy(), need_input_grad=True)
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        saved = z[index]
        z[index] = saved + H
        plus = float(np.sum(w * ActivationLayer(name).forward(z)))
        z[index] = saved - H
        minus = float(np.sum(w * ActivationLayer(name).forward(z)))
        z[index] = saved
        numeric[index] = (plus - minus) / (2 * H)
    assert relative_error(analytic, numeric) < 1e-6

    function = activations.get(name)
    z32 = z.astype(np.float32)
    before = z32.copy()
    out = np.empty_like(z32)
    a = function.forward(z32, out)
    assert a is out and a.dtype == np.float32  # writes into the caller's buffer
    np.testing.assert_array_equal(z32, before)  # and leaves z alone
    da = np.ones_like(z32)
    dz = function.backward(da, z32, a)
    assert dz is da and dz.dtype == np.float32  # overwrites the upstream gradient it owns


# -- losses ---------------------------------------------------------------------------------
def outputs_for(loss, rng, n, k, scale=1.0):
    """``n`` rows of the loss's outputs for ``k`` classes or targets (one column for a sigmoid output, which
    is for two classes)."""
    return rng.normal(scale=scale, size=(n, 1 if loss.output == "sigmoid" else k))


def targets_for(loss, rng, shape):
    if loss.task == "classification":
        return rng.integers(0, 2 if loss.output == "sigmoid" else shape[1], size=shape[0])
    return rng.normal(size=shape)


@pytest.mark.parametrize("name", losses.LOSSES.names())
def test_loss_gradient_matches_finite_differences(name):
    loss = losses.LOSSES[name]
    rng = np.random.default_rng(7)
    z = outputs_for(loss, rng, 5, 4, scale=2.0)
    y = targets_for(loss, rng, z.shape)
    before = z.copy()
    value, grad = loss.value_and_grad(z, y)
    np.testing.assert_array_equal(z, before)  # the outputs are not modified
    assert type(value) is float and grad.shape == z.shape
    assert loss.value_and_grad(z, y, need_grad=False) == (value, None)
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        saved = z[index]
        z[index] = saved + H
        plus = loss.value_and_grad(z, y, need_grad=False)[0]
        z[index] = saved - H
        minus = loss.value_and_grad(z, y, need_grad=False)[0]
        z[index] = saved
        numeric[index] = (plus - minus) / (2 * H)
    assert relative_error(grad, numeric) < 1e-6


@pytest.mark.parametrize("name", losses.LOSSES.names())
def test_loss_metadata_targets_and_dtype(name):
    loss = losses.LOSSES[name]
    assert loss.name == name and loss.task in losses.TASKS
    assert loss.output in ("softmax", "sigmoid", "scores", "linear")
    assert name in losses.names_for(loss.task) and losses.for_task(name, loss.task) is loss
    rng = np.random.default_rng(8)
    z = outputs_for(loss, rng, 6, 3).astype(np.float32)
    y = targets_for(loss, rng, z.shape)
    y = y.astype(np.float32) if loss.task == "regression" else y
    loss.check_targets(y, z.shape[1])
    value, grad = loss.value_and_gradient(z, y)
    assert grad.dtype == np.float32 and math.isfinite(value)
    assert loss.predict(z).shape == losses.class_logits(z).shape  # a sigmoid unit: [1 - p, p]


# -- data sets ------------------------------------------------------------------------------
def refuse_download(name, advice):
    raise datasets.DataUnavailable(f"no local copy of {name}, and the tests do not download. {advice}")


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=REAL_DATA_MARKS) if n in REAL_DATA_SETS else n for n in datasets.names()]
)
def test_data_set_loads_with_its_declared_task_finite_values_and_split_sizes(name, monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "download", refuse_download)
    info = datasets.DATASETS[name]
    data_dir = real_data_dir()
    if name == "cifar10":  # no copy on these machines: a small folder in its binary format stands in
        from tests.test_images import write_cifar_bin

        data_dir = str(tmp_path)
        write_cifar_bin(tmp_path / "cifar-10-batches-bin", per_batch=(20, 20, 20, 20, 20), n_test=20)
    try:
        raw = info.load_raw(data_dir)
    except datasets.DataUnavailable as error:
        pytest.skip(str(error))
    data = datasets.load(name, data_dir, val_fraction=0.1, seed=0)
    assert data.name == info.name == name and data.task == info.task in losses.TASKS and info.description
    n_train = len(raw.x_train)
    assert len(data.x_val) == math.ceil(0.1 * n_train) and len(data.x_train) + len(data.x_val) == n_train
    assert len(data.x_test) == len(raw.x_test) > 0
    splits = [(data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)]
    for x, y in splits:
        assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == data.n_features and len(y) == len(x)
        assert np.all(np.isfinite(x))
        for loss_name in losses.names_for(data.task):  # every loss of the task that fits takes these targets
            loss = losses.for_task(loss_name, data.task)
            try:
                units = loss.units(data.n_outputs)
            except ValueError:  # made for another number of classes (binary_cross_entropy: two)
                assert loss.output == "sigmoid" and data.n_outputs != 2
                continue
            loss.check_targets(y, units)
    if data.image_shape is not None:
        assert math.prod(data.image_shape) == data.n_features
    if data.task == "classification":
        assert data.n_classes >= 2 and len(set(data.class_names)) == data.n_classes
        assert all(isinstance(c, str) for c in data.class_names)
        train_counts = np.bincount(data.y_train, minlength=data.n_classes)
        val_counts = np.bincount(data.y_val, minlength=data.n_classes)
        assert train_counts.min() > 0  # every class is learnt
        assert np.all(np.abs(val_counts - 0.1 * (train_counts + val_counts)) <= 1)  # stratified
    else:
        assert data.class_names == [] and data.n_outputs >= 1
        assert all(y.dtype == np.float32 and y.ndim == 2 and np.all(np.isfinite(y)) for _, y in splits)
