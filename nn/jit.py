"""numba for the few loops NumPy cannot fuse: the Adam family's update, max pooling's backward pass,
ReLU with pooling while training (:mod:`nn.layers.pooling`), a dense layer with its ReLU while training
(:mod:`nn.layers.dense`) and col2im (:mod:`nn.layers.patches`).

**The switch.** ``FFNN_FUSED=0`` in the environment turns the compiled paths off: every caller then
runs its NumPy path, which gives the same bits. It is read once, when this module is imported, into
:data:`ENABLED`; tests switch paths within one process by setting ``nn.jit.ENABLED`` itself
(``monkeypatch.setattr(jit, "ENABLED", False)``). Without numba installed the NumPy paths run too.

**Lazy import.** :func:`numba_module` imports numba at the first call, not at start-up
(``train.py --help`` does not pay for it), and only when the switch is on; :func:`compiled` compiles
a function at its first use and keeps it (:func:`functools.cache`).

**One thread.** A loop compiled with ``parallel=True`` (the Adam family's fused update; the pooling
loop is not parallel) runs on :data:`NUMBA_THREADS` = 1 numba thread: its worker threads and the BLAS
threads spin against each other on 2 cores (measured at batch 16: 8.6 ms a step with 2 numba threads
against 0.78 ms with 1); the results do not depend on it (every element is updated on its own).
numba's thread count is a setting of the calling thread (``numba.set_num_threads``): it is set once,
when such a loop is first compiled, in that thread, the one that trains; other threads keep numba's
default. Nothing is set when numba is not loaded or no parallel loop is used.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

SWITCH = "FFNN_FUSED"
ENABLED: bool = os.environ.get(SWITCH, "1") != "0"
"""Whether the compiled paths may run: ``FFNN_FUSED`` is not ``0`` at import (see the module docstring)."""

NUMBA_THREADS = 1
"""numba threads for the ``parallel=True`` loops (see the module docstring)."""


def numba_module() -> Any:
    """The numba module, or ``None`` (the switch is off, or numba is not installed)."""
    return _import_numba() if ENABLED else None


def compiled(function: Callable, **options: Any) -> Any:
    """``function`` compiled by ``numba.njit(cache=True, nogil=True, **options)`` at the first call (then
    reused), or ``None`` when :func:`numba_module` is (:data:`ENABLED` is read at every call)."""
    if numba_module() is None:
        return None
    return _compile(function, **options)


@functools.cache
def _import_numba() -> Any:
    try:
        import numba
    except ImportError:
        return None
    return numba


@functools.cache
def _compile(function: Callable, **options: Any) -> Any:
    numba = _import_numba()
    if options.get("parallel"):
        numba.set_num_threads(NUMBA_THREADS)  # in this thread, before the loop first runs
    return numba.njit(cache=True, nogil=True, **options)(function)
