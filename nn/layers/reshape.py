"""Reshape: vectors to images (and back), batch axis kept."""

from __future__ import annotations

from .base import Layer, register


@register("reshape")
class Reshape(Layer):
    """``N x ... -> N x shape`` (a view when the input is contiguous); backward reshapes back.
    The data sets hold images as vectors; ``Reshape((28, 28, 1))`` makes them ``H x W x C``."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(v) for v in shape)

    def config(self):
        return {"shape": list(self.shape)}

    def forward(self, x, training=False):
        self._shape = x.shape
        return x.reshape((x.shape[0], *self.shape))

    def backward(self, dy, need_input_grad=True):
        return dy.reshape(self._shape) if need_input_grad else None
