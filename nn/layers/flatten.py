"""Flatten: from images (or any rank) to vectors."""

from __future__ import annotations

import math

from .base import Layer, register


@register("flatten")
class Flatten(Layer):
    """``N x d1 x ... x dk -> N x (d1 ... dk)`` (a view, no copy); backward reshapes back."""

    def forward(self, x, training=False):
        self._shape = x.shape
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def backward(self, dy, need_input_grad=True):
        return dy.reshape(self._shape) if need_input_grad else None
