"""Element-wise activation as a layer (the functions are in :mod:`nn.activations`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations
from .base import Layer, register


@register("activation")
class ActivationLayer(Layer):
    """``a = f(z)`` element-wise, any rank; backward ``dz = da * f'(z)``."""

    def __init__(self, function: str) -> None:
        super().__init__()
        self.function = activations.get(function)

    def config(self) -> dict[str, Any]:
        return {"function": self.function.name}

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        self._z = z
        self._a = self.function.forward(z, self._buffer("a", z.shape, z.dtype))
        return self._a

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        return self.function.backward(da, self._z, self._a)
