"""Weight initialisation schemes.

Each maps ``(rng, fan_in, fan_out, dtype)`` to a ``fan_in x fan_out`` weight
matrix. Biases always start at zero.

* ``random``: ``W ~ N(0, 0.01^2)``, the "small random numbers" of the course
  (``0.01 * randn``). Deep sigmoid or ReLU stacks start with vanishing
  signals under it, which is exactly what the initialisation study shows.
* ``Xavier``: Glorot & Bengio (2010) normalised initialisation,
  ``W ~ U(-r, r)`` with ``r = sqrt(6 / (fan_in + fan_out))`` (Keras'
  ``glorot_uniform``).
* ``He``: He et al. (2015), ``W ~ N(0, 2 / fan_in)``, for ReLU-like units.
* ``zero``: all zeros. Every hidden unit of a layer then stays identical
  (the symmetry problem); kept for the initialisation study.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .naming import canonical_name

RANDOM_STD = 0.01


def random_normal(rng, fan_in, fan_out, dtype):
    return (RANDOM_STD * rng.standard_normal((fan_in, fan_out))).astype(dtype)


def xavier_uniform(rng, fan_in, fan_out, dtype):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype)


def he_normal(rng, fan_in, fan_out, dtype):
    return (math.sqrt(2.0 / fan_in) * rng.standard_normal((fan_in, fan_out))).astype(dtype)


def zeros(rng, fan_in, fan_out, dtype):
    return np.zeros((fan_in, fan_out), dtype=dtype)


INITIALIZERS: dict[str, Callable] = {
    "random": random_normal,
    "Xavier": xavier_uniform,
    "He": he_normal,
    "zero": zeros,
}


def get(name: str) -> Callable:
    return INITIALIZERS[canonical_name(name, INITIALIZERS)]
