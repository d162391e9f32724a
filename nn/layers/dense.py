"""The fully connected (affine) layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import initializers
from .base import Layer, Shape, register


@register("dense")
class Dense(Layer):
    """Affine map ``z = x W + b`` with ``x: N x n_in``, ``W: n_in x n_out``, ``b: n_out``.

    Backward, for ``dz = dL/dz``: ``dW = x^T dz``, ``db = sum_n dz_n``,
    ``dx = dz W^T``. Weights are decayed, biases are not. ``weight_init``
    names an initialiser (:mod:`nn.initializers`) with ``fan_in = n_in``,
    ``fan_out = n_out``; biases start at 0.
    """

    decayed = ("W",)

    def __init__(self, n_in: int, n_out: int, weight_init: str = "Xavier") -> None:
        super().__init__()
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.weight_init = initializers.INITIALIZERS.canonical(weight_init)

    def param_shapes(self) -> dict[str, Shape]:
        return {"W": (self.n_in, self.n_out), "b": (self.n_out,)}

    def output_shape(self, input_shape: Shape) -> Shape:
        if tuple(input_shape) != (self.n_in,):
            raise ValueError(
                f"{self.name or self.kind} takes vectors of {self.n_in} values, not inputs of shape "
                f"{tuple(input_shape)}"
            )
        return (self.n_out,)

    def initialise(self, init_rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        W = self.params["W"]
        W[...] = initializers.get(self.weight_init)(init_rng, W.shape, self.n_in, self.n_out, W.dtype)

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out, "weight_init": self.weight_init}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._x = x
        z = self._buffer("z", (x.shape[0], self.n_out), x.dtype)
        np.matmul(x, self.params["W"], out=z)
        z += self.params["b"]
        return z

    def backward(self, dz: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        np.matmul(self._x.T, dz, out=self.grads["W"])
        np.sum(dz, axis=0, out=self.grads["b"])
        if not need_input_grad:
            return None
        dx = self._buffer("dx", self._x.shape, dz.dtype)
        return np.matmul(dz, self.params["W"].T, out=dx)
