"""The figures of a finished run that look inside the network: weights, saliency, filters and
activation maps (the curves, confusion matrix and samples are the task modules')."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import nn


def study_figures(model, data, folder, name) -> dict:
    from tracking import plots

    figures = {"weight_histograms": plots.weight_histograms(model, folder / "weight_histograms.png")}
    if data.image_shape is not None:
        figures["saliency"] = saliency(model, data, folder)
        first = model.params[model.decayed_names()[0]]
        if first.ndim == 2 and first.shape[0] == data.n_features:  # a dense first layer (mlp)
            figures["first_layer_weights"] = plots.first_layer_figure(
                first, data.image_shape, folder / "first_layer_weights.png", title=name
            )
    return figures


def convolution_figures(model, data, folder, name) -> dict:
    """The homework's visualisation of a cnn / localnet: the first layer's filters (for a locally
    connected layer, the kernels of its central output position) and the activation maps after the
    first layer's activation, for one test image per class."""
    from tracking import plots

    first = next(layer for layer in model.layers if isinstance(layer, (nn.layers.Conv2D, nn.layers.LocallyConnected2D)))
    k, c, f = first.kernel_size, first.in_channels, first.filters
    kernels = first.params["W"]
    if isinstance(first, nn.layers.LocallyConnected2D):
        ho, wo = first.output_hw
        kernels = kernels[(ho // 2) * wo + wo // 2]
        name = f"{name} (central position)"
    kernels = kernels.reshape(k, k, c, f)
    index = plots.one_sample_per_class(data.x_test, data.y_test, data.n_classes)
    x = model.as_input(data.x_test[index])
    maps = x
    for layer in model.layers:
        maps = layer.forward(maps)
        if isinstance(layer, nn.layers.ActivationLayer):
            break
    return {
        "filters": plots.filters_figure(kernels, folder / "filters.png", title=name),
        "activation_maps": plots.activation_maps_figure(
            data.preprocessing.invert(x),
            maps.copy(),
            data.y_test[index],
            data.image_shape,
            data.class_names,
            folder / "activation_maps.png",
        ),
    }


def saliency(model, data, folder) -> Path:
    """``|d logit_y / dx|`` for the first test image of each class (the homework's saliency maps),
    in pixel order (a permutation undone)."""
    from tracking import plots

    if data.task != "classification":
        return None
    index = plots.one_sample_per_class(data.x_test, data.y_test, data.n_classes)
    x, y = model.as_input(data.x_test[index]), data.y_test[index]
    saliency = np.abs(nn.output_gradient(model, x, y))
    images = data.preprocessing.invert(x)
    permutation = data.preprocessing.permutation
    if permutation is not None:
        saliency = saliency[:, np.argsort(permutation)]
    return plots.saliency_figure(images, saliency, y, data.image_shape, data.class_names, folder / "saliency.png")
