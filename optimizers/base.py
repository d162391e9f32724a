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

Hyperparameters belong to the rule that reads them. Each optimizer class holds
a frozen dataclass ``Hyperparameters`` (a :class:`HyperparameterSet`) with
exactly the fields its update reads, nested in the class, in its own file::

    @register("adam")
    class Adam(Optimizer):
        @dataclass(frozen=True)
        class Hyperparameters(HyperparameterSet):
            learning_rate: float = LEARNING_RATE()
            beta1: float = BETA1()
            beta2: float = BETA2()
            epsilon: float = EPSILON()

        hp: Hyperparameters  # the instance's values (for mypy: this rule's fields)

A variant declares its own even when it only inherits its parent's fields
(``class Hyperparameters(Adam.Hyperparameters)`` in nadam.py), so every
file says what its rule reads.

Every field is made by :func:`hyperparameter`, which keeps the default, the
command-line flags, the help and the range together in the field's metadata.
Names are flat and shared: one ``--beta1`` serves adam, adamw, nadam and eve,
so a name several rules read is declared once, below, as a field factory
(:data:`LEARNING_RATE`, :data:`MOMENTUM`, :data:`BETA`, :data:`BETA1`,
:data:`BETA2`, :data:`EPSILON`, :data:`DECOUPLED_WEIGHT_DECAY`); a rule's
own new name is one :func:`hyperparameter` call in its file. Hyperparameters
are real numbers: every value is converted with ``float`` and checked against
its range when the dataclass is made (``dataclasses.replace`` included), and
NaN and infinities are rejected, with a ``ValueError`` naming the field.

:func:`register` checks a rule's declaration at import: every field made by
:func:`hyperparameter`, and a name that several rules declare declared the
same way by all (default, flags, range, help). :func:`hyperparameter_specs`
then lists each name once, with the rules that use it (for ``--help``, sweep
keys and W&B's config), and :func:`make` builds a rule from the whole flat
set, each rule taking its own fields and ignoring the others' (without
checking them: they are not its values).

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
from typing import Any, ClassVar

import numpy as np

from nn.registry import Registry

OPTIMIZERS = Registry("optimizer", case_sensitive=True)
FLUSH_EVERY = 16
FLUSH_BELOW = 1e-30
METADATA_KEY = "hyperparameter"  # a hyperparameter field's metadata: {METADATA_KEY: HyperparameterSpec}


@dataclass(frozen=True)
class HyperparameterSpec:
    """One hyperparameter: flat name, command-line flags, default, help and range.

    The range is ``low .. high``; a bound of None is no bound, and ``low_open``
    / ``high_open`` leave the bound itself out (``momentum``: ``low=0, high=1,
    high_open=True`` is ``[0, 1)``). In a field's metadata (:func:`hyperparameter`)
    ``help`` is the declaration's and ``used_by`` is empty; :func:`hyperparameter_specs`
    fills ``used_by`` (the sorted names of the optimizers that declare it) and
    ends ``help`` with ``Used by: <those names>``.
    """

    name: str
    flags: tuple[str, ...]
    default: float
    help: str
    low: float | None = 0.0
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    used_by: tuple[str, ...] = ()

    def range_text(self) -> str:
        """The range in words: ``> 0``, ``>= 0``, ``in [0, 1)``, ..., or ``finite`` without bounds."""
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return "finite"

    def check(self, value: object) -> float:
        """``value`` as a Python float if it is a finite number in range; else a ``ValueError`` naming it."""
        if isinstance(value, bool):  # float(True) is 1.0, but True is no rate
            raise ValueError(f"{self.name} must be a number, got {value!r}")
        try:
            number = float(value)  # type: ignore[arg-type]  # a number, or a string such as YAML's "1e-3"
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be a number, got {value!r}") from None
        if not math.isfinite(number):  # also NaN, which every comparison below would let through as False
            raise ValueError(f"{self.name} must be a finite number, got {number}")
        above = self.low is None or (number > self.low if self.low_open else number >= self.low)
        below = self.high is None or (number < self.high if self.high_open else number <= self.high)
        if not (above and below):
            raise ValueError(f"{self.name} must be {self.range_text()}, got {number}")
        return number


def hyperparameter(
    default: float,
    *flags: str,
    help: str,
    low: float | None = 0.0,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A dataclass field for one hyperparameter, its CLI metadata kept with its default.

    ``flags`` are its command-line flags (``"-lr", "--learning_rate"``); the first
    long one without its dashes is its name, and must be the field's name (the
    CLI's rule: an option is named by its first long flag). The range is
    ``low .. high`` (see :class:`HyperparameterSpec`); the default is checked
    against it here. Returns ``dataclasses.field(default=..., metadata=...)``.
    """
    return _field(_declare(default, flags, help, low, high, low_open, high_open))


def _declare(
    default: float,
    flags: tuple[str, ...],
    help: str,
    low: float | None,
    high: float | None,
    low_open: bool,
    high_open: bool,
) -> HyperparameterSpec:
    """The checked declaration a field's metadata holds (its name from the first long flag)."""
    long_flags = [flag for flag in flags if flag.startswith("--")]
    if not long_flags or not all(flag.startswith("-") for flag in flags):
        raise TypeError(f"hyperparameter flags {flags}: each starts with '-', and one is the long flag --<name>")
    spec = HyperparameterSpec(long_flags[0][2:], tuple(flags), default, help, low, high, low_open, high_open)
    return dataclasses.replace(spec, default=spec.check(default))


def _field(spec: HyperparameterSpec) -> float:
    return dataclasses.field(default=spec.default, metadata={METADATA_KEY: spec})


SHARED: list[str] = []  # the names declared by shared() below, in order: the order of hyperparameter_specs()


def shared(
    default: float,
    *flags: str,
    help: str,
    low: float | None = 0.0,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Callable[[], float]:
    """A factory of identical :func:`hyperparameter` fields, for a name several rules read
    (``learning_rate: float = LEARNING_RATE()``). The declaration is checked now."""
    spec = _declare(default, flags, help, low, high, low_open, high_open)
    SHARED.append(spec.name)
    return lambda: _field(spec)


LEARNING_RATE = shared(0.001, "-lr", "--learning_rate", help="Learning rate.", low=0.0, low_open=True)
MOMENTUM = shared(
    0.9, "-m", "--momentum", help="Momentum coefficient m: u <- m*u + g.", low=0.0, high=1.0, high_open=True
)
BETA = shared(
    0.9,
    "-beta",
    "--beta",
    help="Decay of the squared-gradient average: v <- beta*v + (1-beta)*g^2.",
    low=0.0,
    high=1.0,
    high_open=True,
)
BETA1 = shared(
    0.9,
    "-beta1",
    "--beta1",
    help="First-moment decay: m <- beta1*m + (1-beta1)*g.",
    low=0.0,
    high=1.0,
    high_open=True,
)
BETA2 = shared(
    0.999,
    "-beta2",
    "--beta2",
    help="Second-moment decay: v <- beta2*v + (1-beta2)*g^2.",
    low=0.0,
    high=1.0,
    high_open=True,
)
EPSILON = shared(
    1e-8,
    "-eps",
    "--epsilon",
    help="Added to the step's denominator, outside the square root: lr*g/(sqrt(v)+eps); must be > 0 "
    "for a rule that divides by it.",
    low=0.0,
)
DECOUPLED_WEIGHT_DECAY = shared(
    0.01,
    "-dwd",
    "--decoupled_weight_decay",
    help="Decoupled weight decay: every step w <- w - lr*dwd*w, apart from the gradient (all parameters).",
    low=0.0,
)


@dataclass(frozen=True)
class HyperparameterSet:
    """Base of every optimizer's ``Hyperparameters`` dataclass (declare it ``frozen=True``).

    Making an instance converts every field to a Python float and checks its
    range from the field's :func:`hyperparameter` metadata: a ``ValueError``
    naming the field, NaN and infinities included.
    """

    def __post_init__(self) -> None:
        for spec in self.specs():
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name)))

    @classmethod
    def specs(cls) -> tuple[HyperparameterSpec, ...]:
        """The declarations of this set's fields, in field order (``used_by`` empty)."""
        out = []
        for field in dataclasses.fields(cls):
            spec = field.metadata.get(METADATA_KEY)
            if not isinstance(spec, HyperparameterSpec):
                raise TypeError(
                    f"{cls.__qualname__}.{field.name} is not declared with optimizers.base.hyperparameter()"
                )
            out.append(spec)
        return tuple(out)


class Optimizer:
    """Base class: owns the one loop over parameters. Subclasses define :meth:`update`."""

    name: str = ""
    slot_names: tuple[str, ...] = ()
    divides_by_epsilon = False  # True for rules whose step is g / (sqrt(...) + eps): eps must be > 0
    Hyperparameters: ClassVar[type[HyperparameterSet]] = HyperparameterSet  # each rule nests its own
    hp: HyperparameterSet  # the instance's values; each rule re-annotates it with its own class, for mypy

    def __init__(self, hyperparameters: HyperparameterSet | None = None):
        """``hyperparameters``: an instance of this rule's ``Hyperparameters`` (its defaults if None)."""
        hp = self.Hyperparameters() if hyperparameters is None else hyperparameters
        if not isinstance(hp, self.Hyperparameters):
            raise TypeError(
                f"{type(self).__name__} takes {self.Hyperparameters.__qualname__}, got {type(hp).__qualname__}"
            )
        if self.divides_by_epsilon and not getattr(hp, "epsilon", 0.0) > 0:
            raise ValueError(
                f"epsilon must be > 0 for {self.name}: its step divides by sqrt(...) + epsilon, "
                "which is 0/0 for a parameter whose gradient has always been 0"
            )
        self.hp = hp
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

    def __repr__(self):
        values = ", ".join(f"{field.name}={getattr(self.hp, field.name)!r}" for field in dataclasses.fields(self.hp))
        return f"{type(self).__name__}({values})"


def normalised_step(w, g, second_moment, work, learning_rate: float, epsilon: float) -> None:
    """``w <- w - learning_rate * g / (sqrt(second_moment) + epsilon)``, through the scratch array ``work``
    (the step RMSProp and AdaGrad share; they differ in how they accumulate)."""
    np.sqrt(second_moment, out=work)
    work += epsilon
    np.divide(g, work, out=work)
    work *= learning_rate
    w -= work


def register(name: str) -> Callable[[type[Optimizer]], type[Optimizer]]:
    """Class decorator adding an optimizer to :data:`OPTIMIZERS` under ``name`` (exact key).

    First it checks the class's declaration, raising a ``TypeError`` at import:
    a nested ``@dataclass(frozen=True) class Hyperparameters`` of its own (a
    :class:`HyperparameterSet`) whose fields are all made by :func:`hyperparameter`
    and named after their long flag, ``epsilon`` among them if the rule divides
    by it, and every name and flag it shares with a registered rule declared
    exactly as there (default, flags, range, help).
    """

    def decorate(cls: type[Optimizer]) -> type[Optimizer]:
        _check_declaration(name, cls)
        cls.name = name
        return OPTIMIZERS.register(name, cls)

    return decorate


def _check_declaration(name: str, cls: type[Optimizer]) -> None:
    hp = cls.__dict__.get("Hyperparameters")
    if not (isinstance(hp, type) and issubclass(hp, HyperparameterSet) and "__dataclass_fields__" in hp.__dict__):
        raise TypeError(
            f"optimizer {name!r}: declare the hyperparameters its rule reads in a nested "
            "@dataclass(frozen=True) class Hyperparameters(HyperparameterSet) (see optimizers/base.py)"
        )
    specs = hp.specs()
    for field, spec in zip(dataclasses.fields(hp), specs):
        if field.name != spec.name:
            raise TypeError(f"optimizer {name!r}: field {field.name!r} is declared with the flags of {spec.name!r}")
    if cls.divides_by_epsilon and "epsilon" not in {spec.name for spec in specs}:
        raise TypeError(f"optimizer {name!r} divides by epsilon but does not declare it")
    # every name and flag -> (the declaration holding it, who declares it): registered rules, then this one
    seen: dict[str, tuple[HyperparameterSpec, str]] = {}
    for owner, declaration in [(other, OPTIMIZERS[other].Hyperparameters) for other in names()] + [(name, hp)]:
        for spec in declaration.specs():
            for key in (spec.name, *spec.flags):
                theirs, by = seen.setdefault(key, (spec, owner))
                if theirs != spec:
                    raise TypeError(
                        f"optimizer {name!r}: {key!r} is declared differently by {by!r} ({theirs}) and by "
                        f"{owner!r} ({spec}); declare a shared hyperparameter once (optimizers/base.py), "
                        "or give a new one its own name and flags"
                    )


def names() -> list[str]:
    """Registered optimizer names, sorted."""
    return sorted(OPTIMIZERS)


def hyperparameter_specs() -> list[HyperparameterSpec]:
    """Every hyperparameter of the registered optimizers, once, with the sorted names of those that declare it.

    Ordered as the shared declarations of this module (``learning_rate``,
    ``momentum``, ``beta``, ``beta1``, ``beta2``, ``epsilon``,
    ``decoupled_weight_decay``), then any other name in the order it first
    appears (optimizers by name, fields in order). ``help`` ends with
    ``Used by: <used_by, comma-separated>``.
    """
    declared: dict[str, HyperparameterSpec] = {}
    users: dict[str, list[str]] = {}
    for optimizer in names():
        for spec in OPTIMIZERS[optimizer].Hyperparameters.specs():
            declared.setdefault(spec.name, spec)
            users.setdefault(spec.name, []).append(optimizer)
    order = [key for key in SHARED if key in declared] + [key for key in declared if key not in SHARED]
    return [
        dataclasses.replace(
            declared[key],
            help=f"{declared[key].help} Used by: {', '.join(users[key])}",
            used_by=tuple(users[key]),
        )
        for key in order
    ]


def make(name: str, **values: object) -> Optimizer:
    """Build the optimizer ``name`` from hyperparameter values (its defaults for those not given).

    ``values`` may hold the whole flat set, as the CLI passes it: the rule
    takes its own fields (converted and range-checked, a ``ValueError``
    naming the field) and ignores, unchecked, those only other rules declare.
    A name that no registered rule declares is a ``TypeError``; an unknown
    optimizer name a ``ValueError`` that lists the valid ones.
    """
    cls = OPTIMIZERS.get(name)
    own = {field.name for field in dataclasses.fields(cls.Hyperparameters)}
    if not set(values) <= own:
        known = [spec.name for spec in hyperparameter_specs()]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise TypeError(f"unknown hyperparameter {', '.join(unknown)}; known: {', '.join(known)}")
    return cls(cls.Hyperparameters(**{key: value for key, value in values.items() if key in own}))


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
    state: dict[str, Any] = {"step": int(arrays["step"]), "slots": {}, "globals": {}}
    for name in arrays:
        kind, _, rest = name.partition("/")
        if kind == "slots":
            key, _, slot = rest.rpartition("/")
            state["slots"].setdefault(key, {})[slot] = np.array(arrays[name])
        elif kind == "globals":
            state["globals"][rest] = float(arrays[name])
    return state
