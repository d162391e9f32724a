"""Element-wise activation as a layer (the functions are in :mod:`nn.activations`)."""

from __future__ import annotations

from .. import activations
from .base import Layer, register


@register("activation")
class ActivationLayer(Layer):
    """``a = f(z)`` element-wise, any rank; backward ``dz = da * f'(z)``."""

    def __init__(self, function: str):
        super().__init__()
        self.function = activations.get(function)

    def config(self):
        return {"function": self.function.name}

    def forward(self, z, training=False):
        self._z = z
        self._a = self.function.forward(z, self._buffer("a", z.shape, z.dtype))
        return self._a

    def backward(self, da, need_input_grad=True):
        return self.function.backward(da, self._z, self._a)
