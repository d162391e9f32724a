"""A W&B sweep file, read and mapped onto Optuna exactly, or rejected with a clear message.

What maps (W&B's sweep configuration keys):

* ``method``: ``grid`` -> every combination put once in Optuna's trial
  queue (``enqueue_trial``), from which all workers take the next one
  (an interrupted one goes back in the queue);
  ``random`` -> ``RandomSampler``; ``bayes`` -> ``TPESampler``. W&B's bayes is
  a Gaussian-process search; Optuna's TPE is a different Bayesian method
  (the closest exact-key replacement Optuna ships), and the runner says so.
* ``parameters``: ``value``; ``values``; ``distribution`` ``constant``,
  ``categorical``, ``int_uniform``, ``uniform``, ``q_uniform`` (Optuna
  ``step``), ``log_uniform_values``, ``log_uniform`` (bounds are natural-log
  exponents, as in W&B); ``min``/``max`` without a distribution (W&B infers
  ``int_uniform`` for integers, ``uniform`` otherwise). Only W&B's own keys:
  every file runs unchanged under ``wandb sweep`` (a test checks them with
  W&B's validator, the ``sweeps`` package).
* ``metric``: ``name``, ``goal`` (W&B's default ``minimize``), ``target``
  (the sweep stops once a trial reaches it).
* ``early_terminate``: ``type: hyperband`` with ``min_iter`` (or
  ``max_iter`` and ``s``: ``min_iter = max_iter / eta**s``) and ``eta``
  (default 3) -> Optuna's ``SuccessiveHalvingPruner(min_resource=min_iter,
  reduction_factor=eta)`` on the per-epoch metric: at epochs
  ``min_iter * eta**k`` a trial not in the best ``1/eta`` of the trials that
  reached that epoch stops.
* ``run_cap`` -> the study stops at that many trials (all workers together).
* ``program`` (must be ``train.py``), ``command`` (W&B's macros, plus
  literal ``train.py`` flags, which become fixed values), ``name``,
  ``description``, ``project``, ``entity``.

Anything else (``probabilities``, normal distributions, nested parameters,
``strict`` hyperband, other keys) raises :class:`SpecError`: never silently
ignored.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from experiments.errors import describe_yaml_error

TOP_LEVEL = {
    "program",
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "run_cap",
    "command",
    "name",
    "description",
    "project",
    "entity",
}
MACROS = {"${env}", "${interpreter}", "${program}", "${args}"}


def title(name: str, capital: bool = False) -> str:
    """How titles and headers call the sweep ``name``: ``sweep NAME``, or ``sweep`` alone when the name is
    itself "sweep" (``sweep.yaml``'s stem), never "sweep sweep"; ``capital``: ``Sweep ...`` to start a
    sentence (the name itself kept as written)."""
    text = "sweep" if str(name).strip().lower() == "sweep" else f"sweep {name}"
    return "S" + text[1:] if capital else text


def tags(name: str) -> list[str]:
    """The W&B tags of a trial of the sweep ``name``: ``sweep`` and the name, once each (W&B keeps a
    repeated tag twice)."""
    return ["sweep"] if str(name).strip().lower() == "sweep" else ["sweep", str(name)]


class SpecError(ValueError):
    """The sweep file uses something that cannot be mapped exactly."""


@dataclass
class Parameter:
    name: str
    kind: str  # constant, categorical, float, int
    values: list = field(default_factory=list)
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None

    def suggest(self, trial):
        if self.kind == "constant":
            return self.values[0]
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, self.values)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)


@dataclass
class SweepSpec:
    name: str
    method: str
    metric: str
    goal: str
    parameters: dict
    target: float | None = None
    min_iter: int | None = None
    eta: int = 3
    run_cap: int | None = None
    project: str | None = None
    entity: str | None = None
    raw: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        """``sweep NAME`` for titles and headers (see :func:`title`)."""
        return title(self.name)

    @property
    def tags(self) -> list[str]:
        """The W&B tags of every trial (see :func:`tags`)."""
        return tags(self.name)

    @property
    def varying(self) -> list[str]:
        """The parameters the sweep varies (values or a range), in the file's order."""
        return [name for name, p in self.parameters.items() if p.kind != "constant"]

    @property
    def constants(self) -> dict:
        """The parameters the file fixes (``value:``, or a one-value list), with their values."""
        return {name: p.values[0] for name, p in self.parameters.items() if p.kind == "constant"}

    def reached(self, value: float) -> bool:
        """Whether ``value`` reaches ``metric.target`` (never without one)."""
        if self.target is None:
            return False
        return value >= self.target if self.direction == "maximize" else value <= self.target

    @property
    def direction(self) -> str:
        return "maximize" if self.goal == "maximize" else "minimize"

    @property
    def engine(self) -> str:
        return {
            "grid": "grid search (every combination once, through Optuna's trial queue)",
            "random": "random search (Optuna RandomSampler)",
            "bayes": "Optuna's TPE sampler (W&B's bayes is a Gaussian process; TPE is Optuna's Bayesian optimiser)",
        }[self.method]

    def sampler(self, seed: int):
        import optuna

        if self.method in ("grid", "random"):  # a grid's trials all come from the queue
            return optuna.samplers.RandomSampler(seed=seed)
        return optuna.samplers.TPESampler(seed=seed)

    def pruner(self):
        import optuna

        if self.min_iter is None:
            return optuna.pruners.NopPruner()
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=self.min_iter, reduction_factor=self.eta, min_early_stopping_rate=0
        )

    def suggest(self, trial) -> dict:
        return {name: p.suggest(trial) for name, p in self.parameters.items()}

    def grid(self) -> list[dict]:
        """Every combination of the categorical parameters, in the file's order."""
        axes = [p for p in self.parameters.values() if p.kind == "categorical"]
        return [dict(zip([p.name for p in axes], combo)) for combo in itertools.product(*[p.values for p in axes])]

    def grid_size(self) -> int | None:
        return len(self.grid()) if self.method == "grid" else None


def _plain(value, where):
    """A value Optuna can hold as a category: a plain string, number or boolean as it is; a list of them
    (per-layer sizes) as the text ``wandb agent`` passes for it (``[256, 128]``), which the options read."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    numbers = isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    if value and numbers:
        return str(value)
    raise SpecError(f"{where}: value {value!r} is not a plain string, number, boolean or list of numbers")


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{where} must be a number, got {value!r} (write decimals: YAML reads 1e-3 as a string)")
    return value


def _parameter(name: str, spec) -> Parameter:
    where = f"parameters.{name}"
    if not isinstance(spec, dict):
        raise SpecError(f"{where} must be a mapping such as {{values: [...]}}")
    if "parameters" in spec:
        raise SpecError(f"{where}: nested parameters are not supported")
    allowed = {"value", "values", "distribution", "min", "max", "q"}
    unknown = set(spec) - allowed
    if unknown:
        raise SpecError(f"{where}: cannot map {', '.join(sorted(unknown))} (supported: {', '.join(sorted(allowed))})")
    distribution = spec.get("distribution")
    if "value" in spec or distribution == "constant":
        return Parameter(name, "constant", [_plain(spec["value"], where)])
    if "values" in spec or distribution == "categorical":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise SpecError(f"{where}.values must be a non-empty list")
        values = [_plain(value, where) for value in values]
        return Parameter(name, "categorical", list(values)) if len(values) > 1 else Parameter(name, "constant", values)
    if "min" not in spec or "max" not in spec:
        raise SpecError(f"{where}: needs value, values, or min and max")
    low, high = _number(spec["min"], f"{where}.min"), _number(spec["max"], f"{where}.max")
    if low >= high:
        raise SpecError(f"{where}: min must be below max")
    if distribution is None:
        distribution = "int_uniform" if isinstance(low, int) and isinstance(high, int) else "uniform"
    if distribution == "int_uniform":
        return Parameter(name, "int", low=int(low), high=int(high))
    if distribution == "uniform":
        return Parameter(name, "float", low=float(low), high=float(high))
    if distribution == "q_uniform":
        return Parameter(
            name, "float", low=float(low), high=float(high), step=float(_number(spec.get("q", 1.0), f"{where}.q"))
        )
    if distribution == "log_uniform_values":
        if low <= 0:
            raise SpecError(f"{where}: log_uniform_values needs min > 0")
        return Parameter(name, "float", low=float(low), high=float(high), log=True)
    if distribution == "log_uniform":
        return Parameter(name, "float", low=math.exp(low), high=math.exp(high), log=True)
    raise SpecError(
        f"{where}: distribution {distribution!r} has no exact Optuna equivalent; use values, "
        "uniform, int_uniform, q_uniform, log_uniform or log_uniform_values"
    )


def _early_terminate(spec) -> tuple[int, int]:
    if not isinstance(spec, dict) or spec.get("type") != "hyperband":
        raise SpecError("early_terminate: only type: hyperband can be mapped (to successive halving)")
    unknown = set(spec) - {"type", "min_iter", "max_iter", "s", "eta", "strict"}
    if unknown:
        raise SpecError(f"early_terminate: cannot map {', '.join(sorted(unknown))}")
    if spec.get("strict"):
        raise SpecError("early_terminate.strict: W&B's strict hyperband has no Optuna equivalent")
    eta = int(_number(spec.get("eta", 3), "early_terminate.eta"))
    if eta < 2:
        raise SpecError("early_terminate.eta must be at least 2")
    if "min_iter" in spec:
        min_iter = int(_number(spec["min_iter"], "early_terminate.min_iter"))
    elif "max_iter" in spec and "s" in spec:
        min_iter = int(spec["max_iter"] // eta ** spec["s"])
    else:
        raise SpecError("early_terminate: give min_iter, or max_iter and s")
    return max(min_iter, 1), eta


def parse(raw: dict, name: str) -> tuple[SweepSpec, list[str]]:
    """Returns the spec and the literal train.py arguments found in ``command``."""
    if not isinstance(raw, dict):
        raise SpecError("a sweep file is a YAML mapping")
    unknown = set(raw) - TOP_LEVEL
    if unknown:
        raise SpecError(f"cannot map key(s) {', '.join(sorted(unknown))}; supported: {', '.join(sorted(TOP_LEVEL))}")
    if Path(str(raw.get("program", "train.py"))).name != "train.py":
        raise SpecError(f"program must be train.py, not {raw['program']!r}")
    method = raw.get("method")
    if method not in ("grid", "random", "bayes"):
        raise SpecError(f"method must be grid, random or bayes, not {method!r}")
    metric = raw.get("metric") or {}
    unknown = set(metric) - {"name", "goal", "target"}
    if unknown or "name" not in metric:
        raise SpecError("metric needs a name (and optionally goal, target); nothing else can be mapped")
    goal = metric.get("goal", "minimize")
    if goal not in ("maximize", "minimize"):
        raise SpecError(f"metric.goal must be maximize or minimize, not {goal!r}")
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise SpecError("parameters must be a non-empty mapping")
    params = {key: _parameter(key, value) for key, value in parameters.items()}
    if method == "grid":
        ranged = [p.name for p in params.values() if p.kind in ("int", "float")]
        if ranged:
            raise SpecError(f"grid search needs values lists; {', '.join(ranged)} use distributions")
    command = [str(item) for item in raw.get("command") or []]
    if command and "${args}" not in command:
        raise SpecError("command must contain ${args}, or train.py receives no swept values")
    literal = [item for item in command if item not in MACROS]  # fixed train.py flags, checked by the CLI
    min_iter, eta = _early_terminate(raw["early_terminate"]) if "early_terminate" in raw else (None, 3)
    run_cap = raw.get("run_cap")
    if run_cap is not None and (not isinstance(run_cap, int) or run_cap < 1):
        raise SpecError("run_cap must be a positive integer")
    target = metric.get("target")
    spec = SweepSpec(
        name=str(raw.get("name") or name),
        method=method,
        metric=metric["name"],
        goal=goal,
        parameters=params,
        target=None if target is None else float(_number(target, "metric.target")),
        min_iter=min_iter,
        eta=eta,
        run_cap=run_cap,
        project=raw.get("project"),
        entity=raw.get("entity"),
        raw=raw,
    )
    return spec, literal


def load(path) -> tuple[SweepSpec, list[str]]:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise SpecError(f"{path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise SpecError(describe_yaml_error(path, error)) from None
    try:
        return parse(raw, path.stem)
    except SpecError as error:
        raise SpecError(f"{path}: {error}") from None
