"""Output layer (softmax) and the two losses the course compares.

Both losses take the **logits** ``z`` (one row per sample, one column per
class) and integer class labels ``y``; they return the mean loss over the
batch as a Python float and, when asked, ``dL/dz``. Softmax is part of the
loss, so the network's last layer is linear.

Conventions, with ``p = softmax(z)``, ``Y`` the one-hot targets and ``N`` the
batch size:

* ``cross_entropy``: ``L = -(1/N) sum_n log p[n, y_n]``, computed as
  ``logsumexp(z_n) - z[n, y_n]`` so it is finite for any finite logits, even
  when a probability underflows to exactly 0 or rounds to exactly 1.
  Gradient (softmax fused with the loss): ``dL/dz = (p - Y) / N``. That short
  form holds for softmax + cross-entropy only (as it does for sigmoid +
  binary cross-entropy); it is not used for the squared error.
* ``mean_squared_error``: ``L = (1/N) sum_n sum_c (p[n, c] - Y[n, c])^2``
  (summed over classes, averaged over samples, no factor 1/2). Gradient
  through the full softmax Jacobian ``dp_i/dz_j = p_i (delta_ij - p_j)``:
  with ``g = dL/dp = 2 (p - Y) / N``, ``dL/dz = p * (g - sum_c g_c p_c)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .naming import canonical_name


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so ``exp`` never overflows."""
    shifted = z - z.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values, dtype=np.float64))


def cross_entropy(z: np.ndarray, y: np.ndarray, need_grad: bool = True):
    """Softmax cross-entropy. Returns ``(loss, dL/dz or None)``."""
    rows = np.arange(z.shape[0])
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1)
    loss = _mean(np.log(total) - shifted[rows, y])
    if not need_grad:
        return loss, None
    exp /= total[:, None]  # exp is now p
    exp[rows, y] -= 1.0
    exp *= 1.0 / z.shape[0]
    return loss, exp


def mean_squared_error(z: np.ndarray, y: np.ndarray, need_grad: bool = True):
    """Squared error between softmax probabilities and one-hot targets.

    Returns ``(loss, dL/dz or None)``; see the module docstring for the form.
    """
    rows = np.arange(z.shape[0])
    p = softmax(z)
    diff = p.copy()
    diff[rows, y] -= 1.0  # p - Y
    loss = float(np.sum(np.square(diff, dtype=np.float64)) / z.shape[0])
    if not need_grad:
        return loss, None
    g = diff
    g *= 2.0 / z.shape[0]  # dL/dp
    inner = np.sum(g * p, axis=1, keepdims=True)
    g -= inner
    g *= p
    return loss, g


@dataclass(frozen=True)
class Loss:
    name: str
    value_and_grad: Callable


LOSSES: dict[str, Loss] = {
    "cross_entropy": Loss("cross_entropy", cross_entropy),
    "mean_squared_error": Loss("mean_squared_error", mean_squared_error),
}


def get(name: str) -> Loss:
    return LOSSES[canonical_name(name, LOSSES)]
