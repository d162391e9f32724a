"""Flatten: from images (or any rank) to vectors."""

from __future__ import annotations

import math

import numpy as np

from .base import Layer, Shape, register


@register("flatten")
class Flatten(Layer):
    """``N x d1 x ... x dk -> N x (d1 ... dk)`` (a view, no copy); backward reshapes back."""

    def output_shape(self, input_shape: Shape) -> Shape:
        return (math.prod(input_shape),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return dy.reshape(self._shape) if need_input_grad else None
