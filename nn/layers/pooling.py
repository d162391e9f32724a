"""Max pooling, channels-last."""
from __future__ import annotations

import numpy as np

from .base import Layer, register
from .patches import col2im, im2col, output_size


@register("max_pool2d")
class MaxPool2D(Layer):
    """``y[n, i, j, c] = max_{a, b < k} x[n, i*s + a, j*s + b, c]`` over ``k x k`` windows, stride
    ``s`` (default ``k``), no padding (rows or columns that do not fill a window are dropped,
    Keras' ``valid``). Backward routes ``dy`` to the arg-max of each window; at a tie, to the
    first maximum in row-major window order (one element of the subdifferential, as PyTorch does).
    """

    eval_batch_size = 512

    def __init__(self, pool_size: int = 2, stride: int | None = None):
        super().__init__()
        self.pool_size = int(pool_size)
        self.stride = int(stride) if stride else self.pool_size
        if self.pool_size < 1 or self.stride < 1:
            raise ValueError("pool size and stride must be >= 1")

    def config(self):
        return {"pool_size": self.pool_size, "stride": self.stride}

    def forward(self, x, training=False):
        n, h, w, c = x.shape
        k, s = self.pool_size, self.stride
        ho, wo = output_size(h, k, s, 0), output_size(w, k, s, 0)
        if ho < 1 or wo < 1:
            raise ValueError(f"{self.name or self.kind}: a {k}x{k} window does not fit a {h}x{w} input")
        windows = im2col(x, (k, k), s, self._buffer("windows", (n, ho, wo, k, k, c), x.dtype))
        windows = windows.reshape(n, ho, wo, k * k, c)
        self._x_shape = x.shape
        self._argmax = np.argmax(windows, axis=3)[:, :, :, None, :]
        y = self._buffer("y", (n, ho, wo, c), x.dtype)
        y[...] = np.take_along_axis(windows, self._argmax, axis=3)[:, :, :, 0, :]
        return y

    def backward(self, dy, need_input_grad=True):
        if not need_input_grad:
            return None
        n, ho, wo, c = dy.shape
        k = self.pool_size
        dwindows = self._buffer("dwindows", (n, ho, wo, k * k, c), dy.dtype)
        dwindows.fill(0.0)
        np.put_along_axis(dwindows, self._argmax, dy[:, :, :, None, :], axis=3)
        dx = self._buffer("dx", self._x_shape, dy.dtype)
        return col2im(dwindows.reshape(n, ho, wo, k, k, c), self.stride, dx)
