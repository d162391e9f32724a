"""Max pooling, channels-last.

The backward pass of non-overlapping windows (the usual 2x2, stride 2) is one compiled loop when numba
is installed (:func:`_max_pool_backward_tiled`; ``FFNN_FUSED=0`` switches it off, as for the optimizers' fused
update): each window's gradient goes to its first maximum, the other offsets get 0, in one pass over the
input. The NumPy path does the same with k*k passes of strided views, and took 14 % of a CNN epoch
(bench/REPORT.md, "Where a CNN epoch goes"). Both give the same values.

**ReLU then pooling, fused while training.** For non-overlapping windows ``max(relu(z)) = relu(max(z))``
(ReLU is monotone), so a ReLU layer directly followed by such a pooling (the CNN's conv, ReLU, pool) is
computed by the pooling as one compiled pass over ``z``: each window's maximum and the offset holding it
(one byte), then ReLU on the pooled map, a quarter of the size. Backward is one pass too: ``dy`` goes
to that offset when the pooled value is positive, 0 everywhere else, which is what the ReLU's mask
applied to the pooling's gradient gives (the first maximum of ``relu(z)`` is the first maximum of ``z``
whenever the maximum is positive; otherwise the ReLU's mask zeroes the window either way). The two
layers stay two layers (names, configurations, saved models, per-layer inspection); only a training
forward and its backward take the fused path, and only with numba (:func:`fuse_relu_pooling` links
them; the ReLU passes its input through and its gradient back unchanged). When the ReLU's input is a
convolution's output, that convolution's bias is added in the same pass too, to each value before it is
compared (``z + b``, the sum the convolution would have stored: the same bits), and the convolution
skips its own pass over the map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..jit import compiled
from .activation import ActivationLayer
from .base import Layer, Shape, register
from .conv import Conv2D
from .patches import col2im, im2col, output_size


@register("max_pool2d")
class MaxPool2D(Layer):
    """``y[n, i, j, c] = max_{a, b < k} x[n, i*s + a, j*s + b, c]`` over ``k x k`` windows, stride
    ``s`` (default ``k``), no padding (rows or columns that do not fill a window are dropped,
    Keras' ``valid``). Backward routes ``dy`` to the arg-max of each window; at a tie, to the
    first maximum in row-major window order (one element of the subdifferential, as PyTorch does).
    """

    eval_batch_size = 512
    fusion_links = ("relu", "bias_from")

    def __init__(self, pool_size: int = 2, stride: int | None = None) -> None:
        super().__init__()
        self.relu: ActivationLayer | None = None  # the ReLU this pooling applies itself while training
        self.bias_from: Conv2D | None = None  # the convolution before that ReLU, whose bias it adds
        self._fused = False
        self.pool_size = int(pool_size)
        self.stride = int(stride) if stride else self.pool_size
        if self.pool_size < 1 or self.stride < 1:
            raise ValueError("pool size and stride must be >= 1")

    def config(self) -> dict[str, Any]:
        return {"pool_size": self.pool_size, "stride": self.stride}

    def _output_hw(self, h: int, w: int) -> tuple[int, int]:
        k, s = self.pool_size, self.stride
        ho, wo = output_size(h, k, s, 0), output_size(w, k, s, 0)
        if ho < 1 or wo < 1:
            raise ValueError(f"{self.name or self.kind}: a {k}x{k} window does not fit a {h}x{w} input")
        return ho, wo

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3:
            raise ValueError(
                f"{self.name or self.kind} takes H x W x C images, not inputs of shape {tuple(input_shape)}"
            )
        return (*self._output_hw(input_shape[0], input_shape[1]), input_shape[2])

    def patch_values(self, input_shape: Shape) -> int:
        """The windows of every output position, ``Ho * Wo * k * k * C``: an upper bound, since
        non-overlapping windows (stride = window, the usual case) are read as views, without a copy."""
        ho, wo, c = self.output_shape(input_shape)
        return ho * wo * self.pool_size**2 * c

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        n, h, w, c = x.shape
        k, s = self.pool_size, self.stride
        ho, wo = self._output_hw(h, w)
        self._x_shape = x.shape
        self._fused = training and self.relu is not None and self.relu.absorbed_by is self and self.relu.deferred
        if self._fused:
            return self._forward_relu_tiled(x, ho, wo)
        if s == k:
            return self._forward_tiled(x, ho, wo)
        windows = im2col(x, (k, k), s, self._buffer("windows", (n, ho, wo, k, k, c), x.dtype))
        windows = windows.reshape(n, ho, wo, k * k, c)
        self._argmax = np.argmax(windows, axis=3)[:, :, :, None, :]
        y = self._buffer("y", (n, ho, wo, c), x.dtype)
        y[...] = np.take_along_axis(windows, self._argmax, axis=3)[:, :, :, 0, :]
        return y

    def _tiles(self, x: np.ndarray, ho: int, wo: int) -> np.ndarray:
        """``x`` cropped to whole windows as ``N x Ho x k x Wo x k x C`` (a view): window ``(i, j)``,
        offset ``(a, b)`` is ``[:, i, a, j, b, :]``."""
        k = self.pool_size
        return x[:, : ho * k, : wo * k, :].reshape(x.shape[0], ho, k, wo, k, x.shape[3])

    def _forward_tiled(self, x: np.ndarray, ho: int, wo: int) -> np.ndarray:
        """Non-overlapping windows (stride = window): the maximum of the ``k * k`` offsets' views, no copies."""
        tiles, k = self._tiles(x, ho, wo), self.pool_size
        y = self._buffer("y", (x.shape[0], ho, wo, x.shape[3]), x.dtype)
        np.copyto(y, tiles[:, :, 0, :, 0, :])
        for a in range(k):
            for b in range(k):
                if a or b:
                    np.maximum(y, tiles[:, :, a, :, b, :], out=y)
        self._x, self._y = x, y
        return y

    def _forward_relu_tiled(self, z: np.ndarray, ho: int, wo: int) -> np.ndarray:
        """``y = relu(max over each window of z + b)`` and the offset of each window's first maximum (``b``:
        the convolution's bias when it left it to this pass, else 0)."""
        y = self._buffer("y", (z.shape[0], ho, wo, z.shape[3]), z.dtype)
        self._offset = self._buffer("offset", y.shape, np.uint8)
        conv = self.bias_from
        if conv is not None and conv.bias_to is self and conv.bias_deferred:
            bias = conv.params["b"]
        else:
            bias = self._buffer("no bias", y.shape[3:], z.dtype, zeros=True)
        compiled(_relu_max_pool_forward)(z, bias, y, self._offset, self.pool_size)
        self._y = y
        return y

    def _backward_relu_tiled(self, dy: np.ndarray) -> np.ndarray:
        dz = self._buffer("dx", self._x_shape, dy.dtype)
        if dz.shape[1] != dy.shape[1] * self.pool_size or dz.shape[2] != dy.shape[2] * self.pool_size:
            dz.fill(0.0)  # rows and columns outside every window get no gradient
        compiled(_relu_max_pool_backward)(self._y, self._offset, dy, dz, self.pool_size)
        return dz

    def _backward_tiled(self, dy: np.ndarray) -> np.ndarray:
        """Each window's ``dy`` goes to the first offset (row-major) that holds the window's maximum."""
        _n, ho, wo, _c = dy.shape
        k = self.pool_size
        dx = self._buffer("dx", self._x_shape, dy.dtype)
        if dx.shape[1] != ho * k or dx.shape[2] != wo * k:
            dx.fill(0.0)  # rows and columns outside every window get no gradient
        kernel = compiled(_max_pool_backward_tiled)
        if kernel is not None and self._x.dtype == dy.dtype:
            kernel(self._x, self._y, dy, dx, k)
            return dx
        tiles, dtiles = self._tiles(self._x, ho, wo), self._tiles(dx, ho, wo)
        unclaimed = self._buffer("unclaimed", dy.shape, np.bool_)
        unclaimed.fill(True)
        hit = self._buffer("hit", dy.shape, np.bool_)
        for a in range(k):
            for b in range(k):
                np.equal(tiles[:, :, a, :, b, :], self._y, out=hit)
                hit &= unclaimed
                unclaimed &= ~hit
                np.multiply(dy, hit, out=dtiles[:, :, a, :, b, :])
        return dx

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:
            return None
        if self._fused:
            return self._backward_relu_tiled(dy)
        if self.stride == self.pool_size:
            return self._backward_tiled(dy)
        n, ho, wo, c = dy.shape
        k = self.pool_size
        dwindows = self._buffer("dwindows", (n, ho, wo, k * k, c), dy.dtype)
        dwindows.fill(0.0)
        np.put_along_axis(dwindows, self._argmax, dy[:, :, :, None, :], axis=3)
        dx = self._buffer("dx", self._x_shape, dy.dtype)
        return col2im(dwindows.reshape(n, ho, wo, k, k, c), self.stride, dx)


def _max_pool_backward_tiled(x, y, dy, dx, k):
    """``dx[n, i*k + a, j*k + b, c] = dy[n, i, j, c]`` at the first ``(a, b)`` (row-major) where ``x``
    equals the window's maximum ``y[n, i, j, c]``, 0 at the window's other offsets. The channel loop
    is innermost (contiguous in channels-last arrays), so it vectorises."""
    n, ho, wo, channels = dy.shape
    claimed = np.empty(channels, dtype=np.bool_)
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                claimed[:] = False
                for a in range(k):
                    for b in range(k):
                        for c in range(channels):
                            hit = (not claimed[c]) and x[s, i * k + a, j * k + b, c] == y[s, i, j, c]
                            dx[s, i * k + a, j * k + b, c] = dy[s, i, j, c] if hit else 0.0
                            claimed[c] = claimed[c] or hit


def fuse_relu_pooling(layers: list[Layer]) -> None:
    """Link every ReLU layer directly followed by a non-overlapping max pooling to that pooling, and a
    convolution directly before that ReLU to the pooling too (see the module docstring); the model calls
    this once, when it is built."""
    for before, first, second in zip([None, *layers], layers, layers[1:]):
        if (
            isinstance(first, ActivationLayer)
            and first.function.name == "ReLU"
            and isinstance(second, MaxPool2D)
            and second.stride == second.pool_size
            and second.pool_size <= 16  # the offset is kept in one byte
        ):
            first.absorbed_by, second.relu = second, first
            if isinstance(before, Conv2D):
                before.bias_to, second.bias_from = second, before


def _relu_max_pool_forward(z, bias, y, offset, k):
    """``y[n, i, j, c] = relu(max_{a, b} z[n, i*k + a, j*k + b, c] + bias[c])`` and ``offset = a*k + b`` of the first
    maximum (row-major). A NaN is kept, as ``np.maximum`` keeps it. The channel loops are innermost
    (contiguous in channels-last arrays) and select rather than branch, so that they vectorise."""
    n, ho, wo, channels = y.shape
    best = np.empty(channels, z.dtype)
    where = np.empty(channels, np.int32)
    for s in range(n):
        for i in range(ho):
            for j in range(wo):
                for c in range(channels):
                    best[c] = z[s, i * k, j * k, c] + bias[c]
                    where[c] = 0
                for a in range(k):
                    for b in range(k):
                        here = a * k + b
                        for c in range(channels):
                            v, m = z[s, i * k + a, j * k + b, c] + bias[c], best[c]
                            take = (v > m) | ((v != v) & (m == m))
                            best[c] = v if take else m
                            where[c] = here if take else where[c]
                for c in range(channels):
                    y[s, i, j, c] = 0.0 if best[c] <= 0 else best[c]
                    offset[s, i, j, c] = where[c]


def _relu_max_pool_backward(y, offset, dy, dz, k):
    """``dz[n, i*k + a, j*k + b, c] = dy[n, i, j, c]`` where ``a*k + b`` is the window's offset and
    ``y[n, i, j, c] > 0``; 0 elsewhere. Bit for bit what ReLU's mask makes of the pooling's gradient: in a
    window whose pooled value is 0, every ``relu(z)`` is 0, the pooling routes ``dy`` to the first offset
    and the mask multiplies it by 0, which is -0 for a negative ``dy`` (NaN for an infinite one)."""
    n, ho, wo, channels = dy.shape
    for s in range(n):
        for i in range(ho):
            for a in range(k):
                for j in range(wo):
                    for b in range(k):
                        here = a * k + b
                        for c in range(channels):
                            pooled, d = y[s, i, j, c], dy[s, i, j, c]
                            if pooled > 0:
                                dz[s, i * k + a, j * k + b, c] = d if offset[s, i, j, c] == here else 0.0
                            else:  # 0, or NaN (a NaN window: the pooling routes nothing)
                                dz[s, i * k + a, j * k + b, c] = d * 0.0 if (pooled == 0 and here == 0) else 0.0
