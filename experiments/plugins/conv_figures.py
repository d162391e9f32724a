"""The homework's pictures of a cnn / localnet (``--arch cnn|localnet``): the first layer's filters
(for a locally connected layer, the kernels of its central output position) and the activation maps
after the first layer's activation, for one test image per class."""

from __future__ import annotations

import nn

from .base import Plugin, Priority
from .classification import task_of


class ConvFigures(Plugin):
    name = "conv_figures"
    example = {"arch": "cnn", "filters": 4}
    priority = Priority.REPORT

    def enabled(self, config):
        return config.model.arch != "mlp" and task_of(config) == "classification"

    def figures(self, run):
        if "test" not in run.evaluations:
            return {}
        from tracking import plots

        model, data, name = run.model, run.data, run.name
        first = next(
            layer for layer in model.layers if isinstance(layer, (nn.layers.Conv2D, nn.layers.LocallyConnected2D))
        )
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
            "filters": plots.filters_figure(kernels, run.folder / "filters.png", title=name),
            "activation_maps": plots.activation_maps_figure(
                data.preprocessing.invert(x),
                maps.copy(),
                data.y_test[index],
                data.image_shape,
                data.class_names,
                run.folder / "activation_maps.png",
            ),
        }
