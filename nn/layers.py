"""Layers with explicit forward and backward passes.

The protocol, shared by every layer:

* ``param_shapes()`` names the layer's parameters and their shapes (local
  names such as ``"W"``); ``decayed`` lists those that weight decay applies to.
* ``bind(params, grads)`` hands the layer its parameter and gradient arrays.
  The model passes views into two contiguous buffers, so an optimizer can
  update every parameter of the network in a handful of NumPy calls.
* ``forward(x, training)`` returns the output and caches what ``backward``
  needs. Outputs live in buffers the layer reuses for the next batch of the
  same size: a caller that keeps an output past the next ``forward`` copies it.
* ``backward(dy, need_input_grad=True)`` **overwrites** the layer's gradients
  (no hidden accumulation) and returns ``dL/dx``, or ``None`` when the input
  gradient is not needed (the first layer: the data needs no gradient).
  It may overwrite ``dy``.
"""
from __future__ import annotations

import numpy as np

from . import activations


class Layer:
    decayed: tuple[str, ...] = ()

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._buffers: dict[tuple, np.ndarray] = {}

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def bind(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.params, self.grads = params, grads

    def _buffer(self, tag: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A reusable output array; one per (tag, shape), so at most a few per layer."""
        key = (tag, shape, np.dtype(dtype))
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = np.empty(shape, dtype=dtype)
        return buffer

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_input_grad: bool = True):
        raise NotImplementedError


class Dense(Layer):
    """Affine map ``z = x W + b`` with ``x: N x n_in``, ``W: n_in x n_out``, ``b: n_out``.

    Backward, for ``dz = dL/dz``: ``dW = x^T dz``, ``db = sum_n dz_n``,
    ``dx = dz W^T``. Weights are decayed, biases are not.
    """

    decayed = ("W",)

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.n_in, self.n_out = n_in, n_out

    def param_shapes(self):
        return {"W": (self.n_in, self.n_out), "b": (self.n_out,)}

    def forward(self, x, training=False):
        self._x = x
        z = self._buffer("z", (x.shape[0], self.n_out), x.dtype)
        np.matmul(x, self.params["W"], out=z)
        z += self.params["b"]
        return z

    def backward(self, dz, need_input_grad=True):
        np.matmul(self._x.T, dz, out=self.grads["W"])
        np.sum(dz, axis=0, out=self.grads["b"])
        if not need_input_grad:
            return None
        dx = self._buffer("dx", self._x.shape, dz.dtype)
        return np.matmul(dz, self.params["W"].T, out=dx)

    def __repr__(self):
        return f"Dense({self.n_in}, {self.n_out})"


class ActivationLayer(Layer):
    """Element-wise ``a = f(z)``; backward ``dz = da * f'(z)`` (see :mod:`nn.activations`)."""

    def __init__(self, name: str):
        super().__init__()
        self.function = activations.get(name)

    def forward(self, z, training=False):
        self._z = z
        self._a = self.function.forward(z, self._buffer("a", z.shape, z.dtype))
        return self._a

    def backward(self, da, need_input_grad=True):
        return self.function.backward(da, self._z, self._a)

    def __repr__(self):
        return f"Activation({self.function.name!r})"
