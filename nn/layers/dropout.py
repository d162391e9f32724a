"""Inverted dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer, register


@register("dropout")
class Dropout(Layer):
    """Inverted dropout: in training, ``y = x * mask / (1 - p)`` with ``mask ~ Bernoulli(1 - p)``
    drawn afresh for every batch; in evaluation ``y = x``. Backward: ``dx = dy * mask / (1 - p)``.

    Scaling at training time keeps the expected activation equal in both modes,
    so nothing changes at evaluation. Masks come from the model's noise
    generator (seeded apart from the weights), so a run is reproducible.
    """

    def __init__(self, rate: float) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(0)

    def initialise(self, init_rng: np.random.Generator, noise_rng: np.random.Generator) -> None:
        self.rng = noise_rng

    def config(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
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

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        if self._training and self.rate > 0.0:
            dy *= self._mask
        return dy
