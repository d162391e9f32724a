"""Optimizer base class, hyperparameters and the exact-key registry.

An optimizer is a small named update rule with explicit state:

* ``state = opt.init(params)`` makes the state: ``{"step": 0, "slots": {name:
  {slot: array}}, "globals": {...}}``. Slots have their parameter's dtype and
  shape; globals hold optimizer-wide numbers (Eve's feedback term).
* ``opt.apply(params, grads, state, loss=None)`` increments ``step`` (so the
  first update has ``t = 1``) and updates ``params`` in place from ``grads``.
  Every rule accepts ``loss``; only those that need it (Eve) use it.

Weight decay is not here: it belongs to the objective, where the model adds
it to the weights' gradient only (``nn.Sequential.add_penalty_grad``), so it
exists once. A rule with decoupled decay is its own optimizer (AdamW, with its
own hyperparameter ``decoupled_weight_decay``).

Every ``FLUSH_EVERY`` steps, parameter and slot values smaller in magnitude
than ``FLUSH_BELOW`` (1e-30) are set to exactly 0 (what a CPU's flush-to-zero
mode does, which NumPy cannot switch on). Coordinates whose gradient is
always 0 (the blank border pixels of MNIST, dead ReLU units) see their slots
decay geometrically (``m *= beta1``) and, under weight decay, their weights
too; left alone they reach float32 subnormals (< 1.2e-38), on which every
NumPy operation is ~100x slower. Measured on Fashion-MNIST (Nadam, batch
64, weight decay 5e-4): epochs slowed from 1.0 s to 4.3 s by the fourth.
Such values are 30 orders of magnitude below anything that changes an
output. Between two flushes a value decays by at most ``0.5 ** 16`` for
betas >= 0.5, so it stays normal.

State is plain data: :func:`state_to_arrays` and :func:`state_from_arrays`
turn it into a flat dict of arrays for ``numpy.savez`` and back.

Scalars are Python floats: a NumPy float64 scalar times a float32 array
would silently give float64 (NEP 50), so float32 parameters and state stay
float32.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nn.registry import Registry

OPTIMIZERS = Registry("optimizer", case_sensitive=True)
FLUSH_EVERY = 16
FLUSH_BELOW = 1e-30


@dataclass(frozen=True)
class Hyperparameters:
    """Every hyperparameter any rule uses; each rule reads only its own."""

    learning_rate: float = 0.001
    momentum: float = 0.9
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    decoupled_weight_decay: float = 0.01

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, float(getattr(self, field.name)))
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        for name in ("momentum", "beta", "beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:  # also rejects nan
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("epsilon", "decoupled_weight_decay"):
            if not (getattr(self, name) >= 0.0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


class Optimizer:
    """Base class: owns the one loop over parameters. Subclasses define :meth:`update`."""

    name: str = ""
    slot_names: tuple[str, ...] = ()
    divides_by_epsilon = False  # True for rules whose step is g / (sqrt(...) + eps): eps must be > 0

    def __init__(self, hyperparameters: Hyperparameters):
        if self.divides_by_epsilon and not hyperparameters.epsilon > 0:
            raise ValueError(
                f"epsilon must be > 0 for {self.name}: its step divides by sqrt(...) + epsilon, "
                "which is 0/0 for a parameter whose gradient has always been 0"
            )
        self.hp = hyperparameters
        self._scratch: dict = {}

    def scratch(self, like: np.ndarray, index: int = 0) -> np.ndarray:
        """A reusable work array shaped like ``like`` (not state: never saved)."""
        key = (like.shape, like.dtype, index)
        array = self._scratch.get(key)
        if array is None:
            array = self._scratch[key] = np.empty_like(like)
        return array

    def init_globals(self) -> dict:
        return {}

    def init(self, params: dict) -> dict:
        return {
            "step": 0,
            "slots": {key: {slot: np.zeros_like(p) for slot in self.slot_names} for key, p in params.items()},
            "globals": self.init_globals(),
        }

    def begin_step(self, state: dict, loss: float | None) -> None:
        """Optimizer-wide work before the per-parameter updates (``state["step"]`` is t)."""

    def apply(self, params: dict, grads: dict, state: dict, loss: float | None = None) -> None:
        state["step"] += 1
        self.begin_step(state, loss)
        for key, w in params.items():
            self.update(w, grads[key], state["slots"].setdefault(key, {}), state)
        if state["step"] % FLUSH_EVERY == 0:
            arrays = list(params.values()) + [a for slots in state["slots"].values() for a in slots.values()]
            for array in arrays:
                array[np.abs(array) < FLUSH_BELOW] = 0.0

    def update(self, w: np.ndarray, g: np.ndarray, slots: dict, state: dict) -> None:
        raise NotImplementedError

    def normalised_step(self, w, g, second_moment, work) -> None:
        """``w <- w - lr * g / (sqrt(second_moment) + eps)``, through the scratch array ``work``
        (the step RMSProp and AdaGrad share; they differ in how they accumulate)."""
        np.sqrt(second_moment, out=work)
        work += self.hp.epsilon
        np.divide(g, work, out=work)
        work *= self.hp.learning_rate
        w -= work

    def __repr__(self):
        return f"{type(self).__name__}({self.hp})"


def register(name: str) -> Callable[[type[Optimizer]], type[Optimizer]]:
    """Class decorator adding an optimizer to :data:`OPTIMIZERS` under ``name`` (exact key)."""

    def decorate(cls: type[Optimizer]) -> type[Optimizer]:
        cls.name = name
        return OPTIMIZERS.register(name, cls)

    return decorate


def names() -> list[str]:
    """Registered optimizer names, sorted."""
    return sorted(OPTIMIZERS)


def make(name: str, **hyperparameters) -> Optimizer:
    """Build the optimizer ``name`` with the given hyperparameters (see :class:`Hyperparameters`).

    Each rule uses the hyperparameters it needs and ignores the others; an
    unknown hyperparameter name is a ``TypeError``; an unknown optimizer name
    a ``ValueError`` that lists the valid ones.
    """
    return OPTIMIZERS.get(name)(Hyperparameters(**hyperparameters))


def state_to_arrays(state: dict) -> dict[str, np.ndarray]:
    """Flatten a state into ``{"step": ..., "slots/<param>/<slot>": ..., "globals/<k>": ...}``."""
    arrays = {"step": np.array(state["step"])}
    for key, slots in state["slots"].items():
        for slot, array in slots.items():
            arrays[f"slots/{key}/{slot}"] = array
    for key, value in state["globals"].items():
        arrays[f"globals/{key}"] = np.array(value)
    return arrays


def state_from_arrays(arrays) -> dict:
    """Inverse of :func:`state_to_arrays` (accepts an ``np.load`` archive)."""
    state = {"step": int(arrays["step"]), "slots": {}, "globals": {}}
    for name in arrays:
        kind, _, rest = name.partition("/")
        if kind == "slots":
            key, _, slot = rest.rpartition("/")
            state["slots"].setdefault(key, {})[slot] = np.array(arrays[name])
        elif kind == "globals":
            state["globals"][rest] = float(arrays[name])
    return state
