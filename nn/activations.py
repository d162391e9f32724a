"""Hidden-layer activation functions and their derivatives.

Each entry of :data:`ACTIVATIONS` maps a name to an :class:`Activation`, a pair
of vectorised functions working in place on whole mini-batches:

* ``forward(z, out)`` writes ``a = f(z)`` into ``out`` and returns it;
* ``backward(da, z, a)`` turns the upstream gradient ``da = dL/da`` into
  ``dz = dL/dz = da * f'(z)``, **overwriting** ``da`` (the caller owns it and no
  longer needs it), and returns it. Derivatives are written from the output
  ``a`` wherever possible (``sigmoid' = a(1-a)``, ``tanh' = 1-a^2``), as
  scikit-learn does, so no extra pass over ``z`` is needed.

Adding an activation is one more registry entry. The course's names
(``identity``, ``sigmoid``, ``tanh``, ``ReLU``) are the keys, spelled as the
course spells them; lookups are case-insensitive (``relu`` finds ``ReLU``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .registry import Registry


def expit(z: np.ndarray, out: np.ndarray | None = None) -> Any:
    """scipy's logistic function ``1 / (1 + exp(-z))`` (no overflow for large |z|), imported at its
    first use: only sigmoid and swish networks pay for loading scipy."""
    from scipy.special import expit as scipy_expit

    return scipy_expit(z) if out is None else scipy_expit(z, out=out)


LEAKY_RELU_SLOPE = 0.01
"""Slope of ``leaky_relu`` for negative inputs: ``f(z) = max(z, 0.01 z)``."""


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def _identity_forward(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.copyto(out, z)
    return out


def _identity_backward(da: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    return da


def _sigmoid_forward(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a = 1 / (1 + exp(-z))`` (scipy's expit: no overflow for large |z|)."""
    return expit(z, out=out)


def _sigmoid_backward(da: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``f'(z) = a (1 - a)``."""
    slope = np.subtract(1.0, a)
    slope *= a
    da *= slope
    return da


def _tanh_forward(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=out)


def _tanh_backward(da: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``f'(z) = 1 - a^2``."""
    slope = np.multiply(a, a)
    np.subtract(1.0, slope, out=slope)
    da *= slope
    return da


def _relu_forward(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a = max(z, 0)``."""
    return np.maximum(z, 0.0, out=out)


def _relu_backward(da: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``f'(z) = 1 if z > 0 else 0`` (the subgradient 0 is taken at z = 0)."""
    da *= a > 0
    return da


def _leaky_relu_forward(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a = max(z, s z)`` with ``s = LEAKY_RELU_SLOPE``."""
    np.multiply(z, LEAKY_RELU_SLOPE, out=out)
    return np.maximum(z, out, out=out)


def _leaky_relu_backward(da: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``f'(z) = 1 if z > 0 else s``."""
    da *= np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(da.dtype, copy=False)
    return da


def _elu_forward(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a = z if z > 0 else exp(z) - 1`` (alpha = 1).

    Computed as ``max(expm1(min(z, 0)), z)``, which equals the definition
    because ``exp(z) - 1 >= z`` for every z, with equality only at 0.
    """
    np.minimum(z, 0.0, out=out)
    np.expm1(out, out=out)
    return np.maximum(out, z, out=out)


def _elu_backward(da: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``f'(z) = 1 if z > 0 else exp(z) = a + 1``; both cases are ``min(a + 1, 1)``."""
    slope = np.add(a, 1.0)
    np.minimum(slope, 1.0, out=slope)
    da *= slope
    return da


def _swish_forward(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``a = z * sigmoid(z)`` (SiLU, beta = 1)."""
    expit(z, out=out)
    out *= z
    return out


def _swish_backward(da: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``f'(z) = s + a (1 - s)`` with ``s = sigmoid(z)``."""
    s = expit(z)
    slope = np.subtract(1.0, s)
    slope *= a
    slope += s
    da *= slope
    return da


ACTIVATIONS = Registry("activation")
for _activation in (
    Activation("identity", _identity_forward, _identity_backward),
    Activation("sigmoid", _sigmoid_forward, _sigmoid_backward),
    Activation("tanh", _tanh_forward, _tanh_backward),
    Activation("ReLU", _relu_forward, _relu_backward),
    Activation("leaky_relu", _leaky_relu_forward, _leaky_relu_backward),
    Activation("elu", _elu_forward, _elu_backward),
    Activation("swish", _swish_forward, _swish_backward),
):
    ACTIVATIONS.register(_activation.name, _activation)
get = ACTIVATIONS.get
