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


class Dropout(Layer):
    """Inverted dropout: in training, ``y = x * mask / (1 - p)`` with ``mask ~ Bernoulli(1 - p)``
    drawn afresh for every batch; in evaluation ``y = x``. Backward: ``dx = dy * mask / (1 - p)``.

    Scaling at training time keeps the expected activation equal in both modes,
    so nothing changes at evaluation. ``rng`` is the model's seeded generator.
    """

    def __init__(self, rate: float, rng: np.random.Generator):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate, self.rng = float(rate), rng

    def forward(self, x, training=False):
        self._training = training
        if not training or self.rate == 0.0:
            return x
        mask = self._buffer("mask", x.shape, x.dtype)
        self.rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, self.rate, out=mask, casting="unsafe")
        mask *= 1.0 / (1.0 - self.rate)
        self._mask = mask
        out = self._buffer("y", x.shape, x.dtype)
        return np.multiply(x, mask, out=out)

    def backward(self, dy, need_input_grad=True):
        if self._training and self.rate > 0.0:
            dy *= self._mask
        return dy

    def __repr__(self):
        return f"Dropout({self.rate})"


class _Normalisation(Layer):
    """``y = gamma * xhat + beta`` with ``xhat = (x - mean) / sqrt(var + eps)`` over ``axis``.

    Backward, with ``n`` values per mean and ``dxhat = dy * gamma``:
    ``dgamma = sum_n dy * xhat``, ``dbeta = sum_n dy``,
    ``dx = (n * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (n * sqrt(var + eps))``
    (sums over ``axis``). ``gamma`` starts at 1, ``beta`` at 0; neither is decayed.
    """

    axis = 0
    eps = 1e-5

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def param_shapes(self):
        return {"gamma": (self.size,), "beta": (self.size,)}

    def init_params(self):
        self.params["gamma"][...] = 1.0

    def _statistics(self, x, training):
        return x.mean(axis=self.axis, keepdims=True), x.var(axis=self.axis, keepdims=True)

    def forward(self, x, training=False):
        mean, var = self._statistics(x, training)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = self._buffer("xhat", x.shape, x.dtype)
        np.subtract(x, mean, out=xhat)
        xhat *= self._inv_std
        self._xhat = xhat
        y = self._buffer("y", x.shape, x.dtype)
        np.multiply(xhat, self.params["gamma"], out=y)
        y += self.params["beta"]
        return y

    def backward(self, dy, need_input_grad=True):
        xhat, axis = self._xhat, self.axis
        np.sum(dy * xhat, axis=0, out=self.grads["gamma"])
        np.sum(dy, axis=0, out=self.grads["beta"])
        dxhat = dy * self.params["gamma"]
        n = dy.shape[axis]
        dx = self._buffer("dx", dy.shape, dy.dtype)
        np.multiply(dxhat, float(n), out=dx)
        dx -= dxhat.sum(axis=axis, keepdims=True)
        dx -= xhat * (dxhat * xhat).sum(axis=axis, keepdims=True)
        dx *= self._inv_std * (1.0 / n)
        return dx


class BatchNorm(_Normalisation):
    """Batch normalisation (Ioffe & Szegedy 2015): statistics over the batch in training;
    in evaluation the running averages ``r <- m * r + (1 - m) * batch`` (``m = 0.9``; the
    variance's running average uses the unbiased batch variance, as PyTorch does)."""

    axis = 0
    momentum = 0.9

    def __init__(self, size: int):
        super().__init__(size)
        self.running_mean = None
        self.running_var = None

    def _statistics(self, x, training):
        if self.running_mean is None:
            self.running_mean = np.zeros((1, self.size), dtype=x.dtype)
            self.running_var = np.ones((1, self.size), dtype=x.dtype)
        if not training:
            return self.running_mean, self.running_var
        mean, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
        n = x.shape[0]
        self.running_mean *= self.momentum
        self.running_mean += (1.0 - self.momentum) * mean
        self.running_var *= self.momentum
        self.running_var += (1.0 - self.momentum) * var * (n / max(n - 1, 1))
        return mean, var

    def state(self) -> dict:
        return {} if self.running_mean is None else {"running_mean": self.running_mean,
                                                     "running_var": self.running_var}

    def __repr__(self):
        return f"BatchNorm({self.size})"


class LayerNorm(_Normalisation):
    """Layer normalisation (Ba et al. 2016): statistics over the features of each sample,
    the same in training and evaluation."""

    axis = 1

    def __repr__(self):
        return f"LayerNorm({self.size})"
