"""Reshape: vectors to images (and back), batch axis kept."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .base import Layer, Shape, register


@register("reshape")
class Reshape(Layer):
    """``N x ... -> N x shape`` (a view when the input is contiguous); backward reshapes back.
    The data sets hold images as vectors; ``Reshape((28, 28, 1))`` makes them ``H x W x C``."""

    def __init__(self, shape: Iterable[int]) -> None:
        super().__init__()
        self.shape = tuple(int(v) for v in shape)

    def config(self) -> dict[str, Any]:
        return {"shape": list(self.shape)}

    def output_shape(self, input_shape: Shape) -> Shape:
        if math.prod(input_shape) != math.prod(self.shape):
            raise ValueError(
                f"{self.name or self.kind}: an input of shape {tuple(input_shape)} ({math.prod(input_shape)} values) "
                f"cannot be reshaped to {self.shape} ({math.prod(self.shape)} values)"
            )
        return self.shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._shape = x.shape
        return x.reshape((x.shape[0], *self.shape))

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return dy.reshape(self._shape) if need_input_grad else None
