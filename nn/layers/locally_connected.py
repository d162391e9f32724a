"""Locally connected 2-D layer: local receptive fields like a convolution, without weight sharing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .base import Shape, register
from .conv import _PatchLayer


@register("locally_connected2d")
class LocallyConnected2D(_PatchLayer):
    """``z[n, i, j, f] = b[i, j, f] + sum_{a, c, k} x_pad[n, i*s + a, j*s + c, k] * W[(i, j), (a, c, k), f]``.

    A convolution whose kernel and bias differ at every output position (Keras'
    ``LocallyConnected2D``): ``W: Ho*Wo x kh*kw*C x F``, ``b: Ho x Wo x F``, so the
    input's height and width are part of the layer (``input_hw``). Computed as
    ``Ho*Wo`` matrix products, one per position ``l``: ``z_l = cols_l W_l`` with
    ``cols_l`` the ``N x kh*kw*C`` patches there. Backward: ``dW_l = cols_l^T dz_l``,
    ``db_l = sum_n dz_l``, ``dcols_l = dz_l W_l^T``, then col2im as for the convolution.
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 0,
        weight_init: str = "He",
        input_hw: Iterable[int] = (28, 28),
    ) -> None:
        super().__init__(in_channels, filters, kernel_size, stride, padding, weight_init)
        h, w = (int(v) for v in input_hw)
        self.input_hw = (h, w)
        self.output_hw = self._output_hw(*self.input_hw)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "input_hw": list(self.input_hw)}

    def output_shape(self, input_shape: Shape) -> Shape:
        self._check_input_shape(input_shape)
        if tuple(input_shape[:2]) != self.input_hw:
            raise ValueError(
                f"{self.name or self.kind} was built for {self.input_hw[0]}x{self.input_hw[1]} inputs, not "
                f"{input_shape[0]}x{input_shape[1]}"
            )
        return (*self.output_hw, self.filters)

    def param_shapes(self) -> dict[str, Shape]:
        ho, wo = self.output_hw
        return {"W": (ho * wo, self.patch_size, self.filters), "b": (ho, wo, self.filters)}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if tuple(x.shape[1:3]) != self.input_hw:
            raise ValueError(f"{self.name or self.kind} was built for {self.input_hw} inputs, got {x.shape[1:3]}")
        n, (ho, wo), k, f = x.shape[0], self.output_hw, self.kernel_size, self.filters
        # The patches go in position-major order, so that each position's rows are one contiguous matrix.
        cols = self._buffer("cols", (ho, wo, n, k, k, self.in_channels), x.dtype)
        self._patches(x, cols.transpose(2, 0, 1, 3, 4, 5))
        self._cols = cols.reshape(ho * wo, n, self.patch_size)
        z = self._buffer("z_positions", (ho * wo, n, f), x.dtype)
        np.matmul(self._cols, self.params["W"], out=z)
        z += self.params["b"].reshape(ho * wo, 1, f)
        out = self._buffer("z", (n, ho, wo, f), x.dtype)
        np.copyto(out, z.reshape(ho, wo, n, f).transpose(2, 0, 1, 3))
        return out

    def backward(self, dz: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        n, (ho, wo), f = dz.shape[0], self.output_hw, self.filters
        dz_positions = self._buffer("dz_positions", (ho * wo, n, f), dz.dtype)
        np.copyto(dz_positions.reshape(ho, wo, n, f), dz.transpose(1, 2, 0, 3))
        np.matmul(self._cols.transpose(0, 2, 1), dz_positions, out=self.grads["W"])
        np.sum(dz_positions, axis=1, out=self.grads["b"].reshape(ho * wo, f))
        if not need_input_grad:
            return None
        k = self.kernel_size
        dcols = self._buffer("dcols", (ho, wo, n, k, k, self.in_channels), dz.dtype)
        np.matmul(dz_positions, self.params["W"].transpose(0, 2, 1), out=dcols.reshape(ho * wo, n, self.patch_size))
        return self._input_grad(dcols.transpose(2, 0, 1, 3, 4, 5))
