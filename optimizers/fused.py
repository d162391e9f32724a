"""One fused pass for the Adam family's update, compiled with numba when it is installed.

The NumPy path of :class:`optimizers.adam.Adam` makes about a dozen passes over
the parameters (each ufunc reads and writes whole arrays): memory-bound, and a
quarter to a third of a batch-64 epoch of the benchmark network. The kernel
(:mod:`optimizers._fused_kernel`, which imports numba) does the same arithmetic,
element by element, in one pass:

    w <- w * decay                                     (AdamW; decay = 1 - lr * lambda)
    m <- m * b1 + g * (1 - b1)
    v <- v * b2 + (g * g) * (1 - b2)
    d  = m, or m + g * r (Nadam), or g (Nadam without momentum)
    w <- w - (d / (sqrt(v) + eps_k)) * step

with the scalars (``eps_k``, ``step``) computed by the caller exactly as the NumPy
path computes them, and every operation in the same order on the same types (the
scalars cast to the parameters' dtype first, as NumPy does with Python floats,
and no fast-math, so no contraction into fused multiply-adds): the two paths give
the same bits, in float64 and float32 (``tests/test_optimizers.py`` checks it).

Without numba (or with ``FFNN_FUSED=0``, :mod:`nn.jit`) :func:`kernel` returns None and the NumPy
path runs. numba is imported at the first update, not at start-up. The loop is a
``prange`` compiled with ``parallel=True`` and run on one numba thread: each element is
independent (no reduction), and under ``parallel`` numba vectorises the loop (without
it the loop stayed scalar and was slower than NumPy). Measured on this project's
2-core machine, a whole batch-16 training step of the benchmark network: 0.78 ms fused
against 1.25 ms with the NumPy update.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from nn.jit import compiled, numba_module

DIRECTION_M, DIRECTION_NESTEROV, DIRECTION_G = 0, 1, 2


def kernel() -> Callable | None:
    """The compiled update, or None when numba is missing or the fused path is switched off
    (:data:`nn.jit.ENABLED`, read at every call: the tests switch paths in one process).
    parallel=True makes numba vectorise the loop (it knows the arrays do not overlap);
    :mod:`nn.jit` keeps it on one thread."""
    if numba_module() is None:
        return None
    return compiled(_loop(), fastmath=False, parallel=True)


@functools.cache
def _loop() -> Callable:
    """The kernel's Python function, :func:`optimizers._fused_kernel.adam_family_step`: imported (with numba)
    at the first call, then kept."""
    from ._fused_kernel import adam_family_step

    return adam_family_step
