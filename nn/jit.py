"""numba for the few loops NumPy cannot fuse (the Adam family's update, max pooling's backward pass).

:func:`numba_module` imports numba at the first call, not at start-up (``train.py --help`` does not pay
for it), and gives ``None`` when it is not installed or ``FFNN_FUSED=0`` switches the compiled paths
off; each caller then runs its NumPy path. numba runs on one thread: its worker threads and the BLAS
threads spin against each other on 2 cores (measured at batch 16: 8.6 ms a step with 2 numba threads
against 0.78 ms with 1).
"""

from __future__ import annotations

import os
from typing import Any

_NUMBA: Any = None
_TRIED = False
_COMPILED: dict = {}


def enabled() -> bool:
    return os.environ.get("FFNN_FUSED", "1") != "0"


def numba_module() -> Any:
    """The numba module, set to one thread, or ``None`` (not installed, or ``FFNN_FUSED=0``)."""
    global _NUMBA, _TRIED
    if not enabled():
        return None
    if not _TRIED:
        _TRIED = True
        try:
            import numba
        except ImportError:
            return None
        numba.set_num_threads(1)
        _NUMBA = numba
    return _NUMBA


def compiled(function, **options) -> Any:
    """``function`` compiled by ``numba.njit(cache=True, nogil=True, **options)`` at the first call (then
    reused), or ``None`` when :func:`numba_module` is (the switch is read at every call)."""
    numba = numba_module()
    if numba is None:
        return None
    if function not in _COMPILED:
        _COMPILED[function] = numba.njit(cache=True, nogil=True, **options)(function)
    return _COMPILED[function]
