"""Gradient clipping (``--grad_clip NORM``): before every update the full gradient (the data loss's and
the L2/L1 penalty's, every parameter as one vector) is scaled down to global L2 norm ``NORM`` when it is
larger, as ``torch.nn.utils.clip_grad_norm_`` does (:func:`nn.gradients.clip_by_global_norm`)::

    g <- g · min(NORM / (||g||_2 + 1e-6), 1)

It runs in :func:`nn.fit`'s gradient hook, between backpropagation and the optimizer, so every optimizer
sees the clipped gradient. The summary's ``grad_clip_fraction`` is the share of updates it scaled down:
near 0 the clip never acts, near 1 every step is shortened (a learning rate in disguise)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn import gradients

from ..options import FiniteFloat, option
from ..plugin import Changes, Plugin, Priority


@dataclass(frozen=True)
class GradientClippingConfig:
    title = "Gradient clipping"
    grad_clip: float = option(
        0.0,
        "--grad_clip",
        "--grad-clip",
        type=FiniteFloat(min=0.0),
        help="Clip the gradient to this global L2 norm before every update (the whole gradient, penalties "
        "included, scaled as torch.nn.utils.clip_grad_norm_ does) (0: off).",
    )


class Clipping:
    """:func:`nn.gradients.clip_by_global_norm` for one run, counting the updates it scaled down
    (the norm is computed once per update)."""

    def __init__(self, max_norm: float):
        if not max_norm > 0:
            raise ValueError(f"max_norm must be positive, got {max_norm}")
        self.max_norm = max_norm
        self.steps = self.clipped = 0

    def __call__(self, grads: np.ndarray) -> np.ndarray:
        scale = gradients.clip_scale(grads, self.max_norm)
        self.steps += 1
        if scale != 1.0:
            self.clipped += 1
            grads *= scale
        return grads


class GradClip(Plugin[list]):
    name = "grad_clip"
    example = {"grad_clip": 0.05}
    changes = Changes(summary=("grad_clip_fraction",), trajectory=True)
    section = GradientClippingConfig
    priority = Priority.DEFAULT

    def new_state(self) -> list:
        return []  # the run's Clipping

    def enabled(self, config):
        return config.get(GradientClippingConfig).grad_clip > 0

    def gradient_transforms(self, run):
        clipping = Clipping(run.config.get(GradientClippingConfig).grad_clip)
        run.state_of(self)[:] = [clipping]
        return [clipping]

    def logged_metrics(self, config):
        return ["grad_clip_fraction"]

    def summarize(self, run):
        kept = run.state_of(self)
        if not kept or not kept[0].steps:
            return {}
        return {"grad_clip_fraction": kept[0].clipped / kept[0].steps}

    def name_part(self, config):
        return f"_clip{config.get(GradientClippingConfig).grad_clip:g}"
