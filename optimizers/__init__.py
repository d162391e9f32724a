"""Optimizer registry: one small rule per module, found automatically.

Every module in this package is imported at start-up, so adding an
optimizer is one new file whose class carries ``@register("name")``: the
CLI's choices, the sweep values and the shared tests read :func:`names`.
"""

from nn.registry import import_submodules

from .base import (
    OPTIMIZERS,
    HyperparameterSet,
    HyperparameterSpec,
    Optimizer,
    hyperparameter,
    hyperparameter_specs,
    make,
    names,
    register,
    state_from_arrays,
    state_to_arrays,
)

import_submodules(__name__, __path__, skip=lambda name: name == "base")

__all__ = [
    "OPTIMIZERS",
    "HyperparameterSet",
    "HyperparameterSpec",
    "Optimizer",
    "hyperparameter",
    "hyperparameter_specs",
    "make",
    "names",
    "register",
    "state_from_arrays",
    "state_to_arrays",
]
