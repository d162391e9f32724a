"""Optimizer registry: one small rule per module, found automatically.

Every module in this package is imported at start-up, so adding an
optimizer is one new file whose class carries ``@register("name")``: the
CLI's choices, the sweep values and the shared tests read :func:`names`.
"""
import importlib
import pkgutil

from .base import (Hyperparameters, Optimizer, make, names, register, state_from_arrays,
                   state_to_arrays)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base" and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Hyperparameters", "Optimizer", "make", "names", "register", "state_from_arrays",
           "state_to_arrays"]
