"""The layer protocol (see :mod:`nn.layers`) and the layer registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import DTypeLike

from ..registry import Registry

Shape = tuple[int, ...]
"""The shape of one example, without the batch axis: ``(784,)``, ``(28, 28, 1)``."""

LAYERS = Registry("layer")

_LayerClass = TypeVar("_LayerClass", bound="type[Layer]")


def register(kind: str) -> Callable[[_LayerClass], _LayerClass]:
    """Class decorator: add a layer class to :data:`LAYERS` under ``kind`` (also its ``kind``)."""

    def decorate(cls: _LayerClass) -> _LayerClass:
        cls.kind = kind
        LAYERS.register(kind, cls)
        return cls

    return decorate


class Layer:
    kind: str = ""
    decayed: tuple[str, ...] = ()
    # Rows per evaluation chunk this layer can afford (None: no limit); patch-based layers keep
    # kernel-area times more values per row than their input, so they ask for smaller chunks.
    eval_batch_size: int | None = None
    # Attributes naming the partner of a pair computed as one pass while training (nn.layers.pooling, .dense).
    fusion_links: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.name = ""  # set by the model: the prefix of this layer's parameter names
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._buffers: dict[tuple, np.ndarray] = {}

    def param_shapes(self) -> dict[str, Shape]:
        return {}

    def output_shape(self, input_shape: Shape) -> Shape:
        """The shape of ``forward``'s output for one example of ``input_shape`` (both without the
        batch axis); ``ValueError`` saying why when such an input does not fit the layer. The default
        is that of element-wise layers: the shape is kept."""
        return tuple(input_shape)

    def patch_values(self, input_shape: Shape) -> int:
        """Values per example in the patch array (im2col, pooling windows) ``forward`` allocates for
        an input of ``input_shape``: what makes convolutions memory-hungry; 0 for most layers."""
        return 0

    def bind(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.params, self.grads = params, grads

    def initialise(self, init_rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        """Set initial parameter values; parameters not set here stay 0."""

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def set_state(self, arrays: dict[str, np.ndarray]) -> None:
        for key, array in self.state().items():
            np.copyto(array, arrays[key])

    def config(self) -> dict[str, Any]:
        return {}

    def _buffer(self, tag: str, shape: Shape, dtype: DTypeLike, zeros: bool = False) -> np.ndarray:
        """A reusable output array; one per (tag, shape), so at most a few per layer.
        ``zeros``: filled with 0 when first made (for a padded copy whose border is never written)."""
        key = (tag, shape, np.dtype(dtype))
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = (np.zeros if zeros else np.empty)(shape, dtype=dtype)
        return buffer

    def unlink(self) -> None:
        """Forget the fused pairs this layer was linked into (:attr:`fusion_links`); a model links its own
        layers afresh when it is built, so a layer reused in another model never keeps a stale partner."""
        for name in self.fusion_links:
            setattr(self, name, None)

    def _sum_rows(self, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out[j] = sum_i rows[i, j]`` (a bias gradient) as the product of a vector of ones with
        ``rows``: BLAS sums a tall float32 array about 4 times faster than ``np.sum(axis=0)``, which adds
        one narrow row at a time, and in blocks, so with less rounding error (measured 50,176 x 32: 0.24 ms
        against 1.06 ms; largest error against float64 8e-4 against 5e-3)."""
        ones = self._buffers.get(("ones", rows.shape[:1], rows.dtype))
        if ones is None:
            ones = self._buffers[("ones", rows.shape[:1], rows.dtype)] = np.ones(rows.shape[:1], rows.dtype)
        return np.matmul(ones, rows, out=out)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({arguments})"
