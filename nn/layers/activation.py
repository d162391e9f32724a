"""Element-wise activation as a layer (the functions are in :mod:`nn.activations`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations, jit
from .base import Layer, register


@register("activation")
class ActivationLayer(Layer):
    """``a = f(z)`` element-wise, any rank; backward ``dz = da * f'(z)``."""

    fusion_links = ("absorbed_by",)

    def __init__(self, function: str) -> None:
        super().__init__()
        self.function = activations.get(function)
        self.absorbed_by: Layer | None = None  # the dense layer or max pooling that applies this ReLU while training
        self.deferred = False  # this forward passed its input through for that pooling (nn.layers.pooling)

    def config(self) -> dict[str, Any]:
        return {"function": self.function.name}

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        self.deferred = self.will_defer(training)
        if self.deferred:
            return z
        self._z = z
        self._a = self.function.forward(z, self._buffer("a", z.shape, z.dtype))
        return self._a

    def will_defer(self, training: bool) -> bool:
        """Whether a forward pass in this mode leaves the ReLU to the layer that absorbed it: only while
        training, and only with numba (:mod:`nn.jit`), which computes the fused passes."""
        partner = self.absorbed_by
        return (
            training
            and partner is not None
            and getattr(partner, "relu", None) is self  # both sides of the link agree
            and jit.numba_module() is not None
        )

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        if self.deferred:
            return da
        return self.function.backward(da, self._z, self._a)
