"""Weight initialisation schemes.

Each maps ``(rng, shape, fan_in, fan_out, dtype)`` to an array of ``shape``.
The layer says what its fan-in and fan-out are (a dense layer's are its input
and output sizes; a convolution's would include the kernel area), so one
scheme serves every kind of layer. Biases always start at zero.

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

import numpy as np
from numpy.typing import DTypeLike

from .registry import Registry

RANDOM_STD = 0.01
INITIALIZERS = Registry("weight initialisation")


@INITIALIZERS.register("random")
def random_normal(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int, dtype: DTypeLike
) -> np.ndarray:
    return (RANDOM_STD * rng.standard_normal(shape)).astype(dtype)


@INITIALIZERS.register("Xavier")
def xavier_uniform(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int, dtype: DTypeLike
) -> np.ndarray:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


@INITIALIZERS.register("He")
def he_normal(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int, dtype: DTypeLike
) -> np.ndarray:
    return (math.sqrt(2.0 / fan_in) * rng.standard_normal(shape)).astype(dtype)


@INITIALIZERS.register("zero")
def zeros(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int, dtype: DTypeLike) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


get = INITIALIZERS.get
