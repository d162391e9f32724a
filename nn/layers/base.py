"""The layer protocol (see :mod:`nn.layers`) and the layer registry."""

from __future__ import annotations

import numpy as np

from ..registry import Registry

LAYERS = Registry("layer")


def register(kind: str):
    """Class decorator: add a layer class to :data:`LAYERS` under ``kind`` (also its ``kind``)."""

    def decorate(cls):
        cls.kind = kind
        return LAYERS.register(kind, cls)

    return decorate


class Layer:
    kind: str = ""
    decayed: tuple[str, ...] = ()
    # Rows per evaluation chunk this layer can afford (None: no limit); patch-based layers keep
    # kernel-area times more values per row than their input, so they ask for smaller chunks.
    eval_batch_size: int | None = None

    def __init__(self):
        self.name = ""  # set by the model: the prefix of this layer's parameter names
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._buffers: dict[tuple, np.ndarray] = {}

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}

    def bind(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.params, self.grads = params, grads

    def initialise(self, init_rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        """Set initial parameter values; parameters not set here stay 0."""

    def state(self) -> dict[str, np.ndarray]:
        return {}

    def set_state(self, arrays: dict[str, np.ndarray]) -> None:
        for key, array in self.state().items():
            np.copyto(array, arrays[key])

    def config(self) -> dict:
        return {}

    def _buffer(self, tag: str, shape: tuple[int, ...], dtype, zeros: bool = False) -> np.ndarray:
        """A reusable output array; one per (tag, shape), so at most a few per layer.
        ``zeros``: filled with 0 when first made (for a padded copy whose border is never written)."""
        key = (tag, shape, np.dtype(dtype))
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = (np.zeros if zeros else np.empty)(shape, dtype=dtype)
        return buffer

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_input_grad: bool = True):
        raise NotImplementedError

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({arguments})"
