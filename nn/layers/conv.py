"""2-D convolution (cross-correlation, as every framework computes it), channels-last."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import initializers
from .base import Layer, Shape, register
from .patches import col2im, im2col, output_size, pad


class _PatchLayer(Layer):
    """What the convolutional and locally connected layers share: kernel, stride, zero padding,
    the patches of the input (:mod:`nn.layers.patches`) and the input gradient from the patch gradients.

    Initialisers see ``fan_in = kh * kw * C`` and ``fan_out = kh * kw * F`` (Keras' convention).
    """

    decayed = ("W",)
    eval_batch_size = 512

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 0,
        weight_init: str = "He",
    ) -> None:
        super().__init__()
        self.in_channels, self.filters = int(in_channels), int(filters)
        self.kernel_size, self.stride, self.padding = int(kernel_size), int(stride), int(padding)
        if min(self.in_channels, self.filters, self.kernel_size, self.stride) < 1 or self.padding < 0:
            raise ValueError(f"{self.kind}: channels, filters, kernel size and stride must be >= 1 and padding >= 0")
        self.weight_init = initializers.INITIALIZERS.canonical(weight_init)

    @property
    def patch_size(self) -> int:
        return self.kernel_size * self.kernel_size * self.in_channels

    def initialise(self, init_rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        W, area = self.params["W"], self.kernel_size * self.kernel_size
        W[...] = initializers.get(self.weight_init)(
            init_rng, W.shape, area * self.in_channels, area * self.filters, W.dtype
        )

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "weight_init": self.weight_init,
        }

    def _output_hw(self, h: int, w: int) -> tuple[int, int]:
        ho = output_size(h, self.kernel_size, self.stride, self.padding)
        wo = output_size(w, self.kernel_size, self.stride, self.padding)
        if ho < 1 or wo < 1:
            raise ValueError(
                f"{self.name or self.kind}: a {self.kernel_size}x{self.kernel_size} kernel does not fit "
                f"a {h}x{w} input with padding {self.padding}"
            )
        return ho, wo

    def _check_input_shape(self, input_shape: Shape) -> None:
        if len(input_shape) != 3 or input_shape[2] != self.in_channels:
            raise ValueError(
                f"{self.name or self.kind} takes H x W x {self.in_channels} images, not inputs of shape "
                f"{tuple(input_shape)}"
            )

    def output_shape(self, input_shape: Shape) -> Shape:
        self._check_input_shape(input_shape)
        return (*self._output_hw(input_shape[0], input_shape[1]), self.filters)

    def patch_values(self, input_shape: Shape) -> int:
        """The patches of every output position: ``Ho * Wo * kh * kw * C``."""
        return math.prod(self.output_shape(input_shape)[:2]) * self.patch_size

    def _patches(self, x: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Fill ``cols`` (any strides, shape ``N x Ho x Wo x kh x kw x C``) with the patches of ``x``."""
        if x.ndim != 4 or x.shape[3] != self.in_channels:
            raise ValueError(f"{self.name or self.kind} expects N x H x W x {self.in_channels} inputs, got {x.shape}")
        self._x_shape = x.shape
        p = self.padding
        padded = (
            self._buffer("xp", (x.shape[0], x.shape[1] + 2 * p, x.shape[2] + 2 * p, x.shape[3]), x.dtype, zeros=True)
            if p
            else None
        )
        return im2col(pad(x, p, padded), (self.kernel_size, self.kernel_size), self.stride, cols)

    def _input_grad(self, dcols: np.ndarray) -> np.ndarray:
        return col2im(dcols, self.stride, self._buffer("dx", self._x_shape, dcols.dtype), self.padding)


@register("conv2d")
class Conv2D(_PatchLayer):
    """``z[n, i, j, f] = b[f] + sum_{a, c, k} x_pad[n, i*s + a, j*s + c, k] * W[a, c, k, f]``.

    Inputs ``N x H x W x C``, kernel ``W: kh x kw x C x F`` (Keras' layout), output
    ``N x Ho x Wo x F``. Computed as one matrix product of the patches (im2col,
    ``N*Ho*Wo x kh*kw*C``) with ``W`` reshaped to ``kh*kw*C x F``. Backward, with
    ``dz = dL/dz`` as ``N*Ho*Wo x F``: ``dW = cols^T dz``, ``db = sum dz``,
    ``dcols = dz W^T``, and ``dx`` adds each patch gradient back where the patch came
    from (col2im), cropped by the padding.
    """

    fusion_links = ("bias_to",)
    bias_to: Layer | None = None  # a max pooling that adds this bias while training (nn.layers.pooling)
    bias_deferred = False  # this forward left the bias to that pooling

    def param_shapes(self) -> dict[str, Shape]:
        k = self.kernel_size
        return {"W": (k, k, self.in_channels, self.filters), "b": (self.filters,)}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        n = x.shape[0]
        ho, wo = self._output_hw(x.shape[1], x.shape[2])
        k = self.kernel_size
        cols = self._patches(x, self._buffer("cols", (n, ho, wo, k, k, self.in_channels), x.dtype))
        self._cols = cols.reshape(-1, self.patch_size)
        z = self._buffer("z", (n, ho, wo, self.filters), x.dtype)
        np.matmul(self._cols, self.params["W"].reshape(self.patch_size, self.filters), out=z.reshape(-1, self.filters))
        pooling = self.bias_to
        relu = getattr(pooling, "relu", None)
        self.bias_deferred = (
            getattr(pooling, "bias_from", None) is self
            and relu is not None
            and relu.absorbed_by is pooling
            and relu.will_defer(training)
        )
        if not self.bias_deferred:
            z += self.params["b"]
        return z

    def backward(self, dz: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        dz2 = dz.reshape(-1, self.filters)
        np.matmul(self._cols.T, dz2, out=self.grads["W"].reshape(self.patch_size, self.filters))
        self._sum_rows(dz2, self.grads["b"])
        if not need_input_grad:
            return None
        dcols = self._buffer("dcols", self._x_shape[:1] + dz.shape[1:3] + self.params["W"].shape[:3], dz.dtype)
        np.matmul(dz2, self.params["W"].reshape(self.patch_size, self.filters).T, out=dcols.reshape(dz2.shape[0], -1))
        return self._input_grad(dcols)
