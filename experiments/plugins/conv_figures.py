"""The homework's pictures of a cnn / localnet (``--arch cnn|localnet``): the first layer's filters
(for a locally connected layer, the kernels of its central output position) and the activation maps
after every convolutional (or locally connected) layer's activation, before its pooling, for one test
image per class: the first layer's in ``activation_maps.png`` (as always), layer ``k`` (counted from 0)
in ``activation_maps_<k>.png``, one figure per layer (their maps differ in size and number)."""

from __future__ import annotations

import numpy as np

import nn

from ..plugin import Changes, Plugin, Priority

CONVOLUTIONS = (nn.layers.Conv2D, nn.layers.LocallyConnected2D)


class ConvFigures(Plugin):
    name = "conv_figures"
    example = {"arch": "cnn", "filters": (4, 4)}
    changes = Changes(files=("filters.png", "activation_maps.png", "activation_maps_1.png"))
    priority = Priority.REPORT

    def enabled(self, config):
        return config.model.arch != "mlp" and config.task.classifies

    def figures(self, run):
        if "test" not in run.evaluations:
            return {}
        from tracking import tiles

        from .titles import run_title

        model, data, name = run.model, run.data, run_title(run.config, epochs=len(run.history))
        first = next(layer for layer in model.layers if isinstance(layer, CONVOLUTIONS))
        k, c, f = first.kernel_size, first.in_channels, first.filters
        kernels = first.params["W"]
        if isinstance(first, nn.layers.LocallyConnected2D):
            ho, wo = first.output_hw
            kernels = kernels[(ho // 2) * wo + wo // 2]
            name = f"{name} (central position)"
        kernels = kernels.reshape(k, k, c, f)
        index = tiles.one_sample_per_class(data.x_test, data.y_test, data.n_classes)
        x = model.as_input(data.x_test[index])
        images, labels = data.preprocessing.invert(x), data.y_test[index]
        (first_maps, first_layer), *deeper = found = convolution_maps(model, x)
        figures = {
            "filters": tiles.filters_figure(kernels, run.folder / "filters.png", title=name),
            "activation_maps": tiles.activation_maps_figure(
                images,
                first_maps,
                labels,
                data.image_shape,
                data.class_names,
                run.folder / "activation_maps.png",
                layer=layer_title(first_layer, 0, len(found)),
            ),
        }
        for depth, (maps, layer) in enumerate(deeper, start=1):
            figures[f"activation_maps_{depth}"] = tiles.activation_maps_figure(
                images,
                maps,
                labels,
                data.image_shape,
                data.class_names,
                run.folder / f"activation_maps_{depth}.png",
                layer=layer_title(layer, depth, len(found)),
            )
        return figures


def layer_title(layer, index: int, count: int) -> str:
    """``convolution 2 of 2 (conv2d_3)``: the layer counted from 1 among the ``count`` convolutional
    (or locally connected) layers, as the figure's file name counts from 0."""
    kind = "convolution" if isinstance(layer, nn.layers.Conv2D) else "locally connected layer"
    return f"{kind} {index + 1} of {count} ({layer.name})"


def convolution_maps(model, x) -> list[tuple[np.ndarray, nn.layers.Layer]]:
    """``(maps: n x H x W x F, the layer)`` after each convolutional (or locally connected) layer's
    activation, input side first, in evaluation mode."""
    found: list[tuple[np.ndarray, nn.layers.Layer]] = []
    source, values = None, x
    for layer in model.layers:
        if isinstance(layer, nn.layers.Flatten):
            break
        values = layer.forward(values)
        if isinstance(layer, CONVOLUTIONS):
            source = layer
        elif isinstance(layer, nn.layers.ActivationLayer) and source is not None:
            found.append((values.copy(), source))  # layers reuse their output buffers
            source = None
    return found
