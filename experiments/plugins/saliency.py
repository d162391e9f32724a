"""Saliency maps (with ``--plots``, image classification): ``|d logit_y / dx|`` for the first test
image of each class (the homework's saliency maps), in pixel order (a permutation undone). A one-unit
sigmoid output (``binary_cross_entropy``) has one logit ``z``, the log-odds ``log(p / (1 - p))`` of class 1
(``-z`` those of class 0): both classes get ``|dz / dx|``."""

from __future__ import annotations

import numpy as np

import nn

from ..plugin import Changes, Plugin, Priority
from .study_figures import plots_on


class Saliency(Plugin):
    name = "saliency"
    example = {"plots": True}
    changes = Changes(files=("saliency.png",))
    priority = Priority.REPORT

    def enabled(self, config):
        return plots_on(config) and config.task.classifies

    def figures(self, run):
        data, model = run.data, run.model
        if "test" not in run.evaluations or data.image_shape is None:
            return {}
        from tracking import tiles

        index = tiles.one_sample_per_class(data.x_test, data.y_test, data.n_classes)
        x, y = model.as_input(data.x_test[index]), data.y_test[index]
        unit = np.zeros_like(y) if run.loss.output == "sigmoid" else y  # one logit, z, for both classes
        saliency = np.abs(nn.output_gradient(model, x, unit))
        images = data.preprocessing.invert(x)
        permutation = data.preprocessing.permutation
        if permutation is not None:
            saliency = saliency[:, np.argsort(permutation)]
        path = tiles.saliency_figure(
            images, saliency, y, data.image_shape, data.class_names, run.folder / "saliency.png"
        )
        return {"saliency": path}
