"""Batch and layer normalisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Registry
from .base import Layer, Shape, register


class _Normalisation(Layer):
    """``y = gamma * xhat + beta`` with ``xhat = (x - mean) / sqrt(var + eps)`` over ``axis``.

    Backward, with ``n`` values per mean and ``dxhat = dy * gamma``:
    ``dgamma = sum_n dy * xhat``, ``dbeta = sum_n dy``,
    ``dx = (n * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (n * sqrt(var + eps))``
    (sums over ``axis``). ``gamma`` starts at 1, ``beta`` at 0; neither is decayed.
    Inputs are ``N x size`` or, channels-last, ``N x ... x size``: they are seen as
    ``(N * ...) x size``, so batch norm after a convolution normalises each channel over
    the batch and the positions (as in CNNs), and layer norm each position over its channels.
    """

    axis = 0
    eps = 1e-5

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = int(size)

    def param_shapes(self) -> dict[str, Shape]:
        return {"gamma": (self.size,), "beta": (self.size,)}

    def output_shape(self, input_shape: Shape) -> Shape:
        if not input_shape or input_shape[-1] != self.size:
            raise ValueError(
                f"{self.name or self.kind} normalises {self.size} features (the last axis), not inputs of "
                f"shape {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def initialise(self, init_rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        self.params["gamma"][...] = 1.0

    def config(self) -> dict[str, Any]:
        return {"size": self.size}

    def _statistics(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray]:
        return x.mean(axis=self.axis, keepdims=True), x.var(axis=self.axis, keepdims=True)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._training, self._shape = training, x.shape
        x = x.reshape(-1, self.size)
        mean, var = self._statistics(x, training)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = self._buffer("xhat", x.shape, x.dtype)
        np.subtract(x, mean, out=xhat)
        xhat *= self._inv_std
        self._xhat = xhat
        y = self._buffer("y", x.shape, x.dtype)
        np.multiply(xhat, self.params["gamma"], out=y)
        y += self.params["beta"]
        return y.reshape(self._shape)

    def _param_grads(self, dy: np.ndarray) -> None:
        np.sum(dy * self._xhat, axis=0, out=self.grads["gamma"])
        np.sum(dy, axis=0, out=self.grads["beta"])

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        dy = dy.reshape(-1, self.size)
        xhat, axis = self._xhat, self.axis
        self._param_grads(dy)
        if not need_input_grad:
            return None
        dxhat = dy * self.params["gamma"]
        n = dy.shape[axis]
        dx = self._buffer("dx", dy.shape, dy.dtype)
        np.multiply(dxhat, float(n), out=dx)
        dx -= dxhat.sum(axis=axis, keepdims=True)
        dx -= xhat * (dxhat * xhat).sum(axis=axis, keepdims=True)
        dx *= self._inv_std * (1.0 / n)
        return dx.reshape(self._shape)


@register("batch_norm")
class BatchNorm(_Normalisation):
    """Batch normalisation (Ioffe & Szegedy 2015): statistics over the batch in training;
    in evaluation the running averages ``r <- m * r + (1 - m) * batch`` (``m = 0.9``; the
    variance's running average uses the unbiased batch variance, as PyTorch does), and
    backward is that of the fixed affine map (``dx = dy * gamma / sqrt(r_var + eps)``).
    The running averages are the layer's state, saved and restored with the model."""

    axis = 0
    momentum = 0.9

    def initialise(self, init_rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        super().initialise(init_rng, noise_rng)
        dtype = self.params["gamma"].dtype
        self.running_mean = np.zeros((1, self.size), dtype=dtype)
        self.running_var = np.ones((1, self.size), dtype=dtype)

    def _statistics(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray]:
        if not training:
            return self.running_mean, self.running_var
        mean, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
        n = x.shape[0]
        self.running_mean *= self.momentum
        self.running_mean += (1.0 - self.momentum) * mean
        self.running_var *= self.momentum
        self.running_var += (1.0 - self.momentum) * var * (n / max(n - 1, 1))
        return mean, var

    def state(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if self._training:
            return super().backward(dy, need_input_grad)
        # Evaluation mode is a fixed per-feature affine map: dx = dy * gamma / sqrt(r_var + eps).
        dy = dy.reshape(-1, self.size)
        self._param_grads(dy)
        if not need_input_grad:
            return None
        dx = self._buffer("dx", dy.shape, dy.dtype)
        return np.multiply(dy, self.params["gamma"] * self._inv_std, out=dx).reshape(self._shape)


@register("layer_norm")
class LayerNorm(_Normalisation):
    """Layer normalisation (Ba et al. 2016): statistics over the features of each sample,
    the same in training and evaluation."""

    axis = 1


NORMS = Registry("normalisation")
NORMS.register("none", None)
NORMS.register("batch", BatchNorm)
NORMS.register("layer", LayerNorm)
