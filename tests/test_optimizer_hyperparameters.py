"""Each optimizer owns its hyperparameters: contract tests over the registry.

Every rule declares, in a frozen dataclass nested in its class, exactly the
hyperparameters it reads, each made by ``optimizers.hyperparameter`` with its
flags, help and range. The flat names are shared across rules (one
``--beta1`` for the Adam family) and :func:`optimizers.hyperparameter_specs`
lists each once, for the CLI, the sweeps and W&B.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pytest
from test_optimizers import HYPER

import optimizers
from optimizers.base import LEARNING_RATE, METADATA_KEY, MOMENTUM, HyperparameterSet, hyperparameter

# The CLI's flat names, flags, defaults and ranges: (flags, default, low, high, low_open, high_open).
COURSE = {
    "learning_rate": (("-lr", "--learning_rate"), 0.001, 0.0, None, True, False),
    "momentum": (("-m", "--momentum"), 0.9, 0.0, 1.0, False, True),
    "beta": (("-beta", "--beta"), 0.9, 0.0, 1.0, False, True),
    "beta1": (("-beta1", "--beta1"), 0.9, 0.0, 1.0, False, True),
    "beta2": (("-beta2", "--beta2"), 0.999, 0.0, 1.0, False, True),
    "epsilon": (("-eps", "--epsilon"), 1e-8, 0.0, None, False, False),
    "decoupled_weight_decay": (("-dwd", "--decoupled_weight_decay"), 0.01, 0.0, None, False, False),
}
# What each rule reads (``self.hp.<name>`` in its file and the files it inherits from).
READS = {
    "sgd": {"learning_rate"},
    "momentum": {"learning_rate", "momentum"},
    "nag": {"learning_rate", "momentum"},
    "rmsprop": {"learning_rate", "beta", "epsilon"},
    "adagrad": {"learning_rate", "epsilon"},
    "adam": {"learning_rate", "beta1", "beta2", "epsilon"},
    "nadam": {"learning_rate", "beta1", "beta2", "epsilon"},
    "eve": {"learning_rate", "beta1", "beta2", "epsilon"},
    "adamw": {"learning_rate", "beta1", "beta2", "epsilon", "decoupled_weight_decay"},
}
# Values inside every range and away from the defaults (defaults hide mistakes).
ELSEWHERE = HYPER


def fields_of(name):
    return dataclasses.fields(optimizers.OPTIMIZERS[name].Hyperparameters)


def all_defaults():
    return {spec.name: spec.default for spec in optimizers.hyperparameter_specs()}


def out_of_range(spec):
    """Values the spec must reject: below/above its bounds, the open bounds themselves, NaN and infinities."""
    bad = [math.nan, math.inf, -math.inf]
    if spec.low is not None:
        bad += [spec.low - 1.0] + ([spec.low] if spec.low_open else [])
    if spec.high is not None:
        bad += [spec.high + 1.0] + ([spec.high] if spec.high_open else [])
    return bad


@pytest.fixture
def registry(monkeypatch):
    """Optimizers registered by the test are forgotten after it (the registry's entries are restored)."""
    monkeypatch.setattr(optimizers.OPTIMIZERS, "_entries", dict(optimizers.OPTIMIZERS._entries))
    return optimizers.OPTIMIZERS


# -- declarations ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", optimizers.names())
def test_each_rule_declares_its_own_frozen_hyperparameters_with_metadata(name):
    cls = optimizers.OPTIMIZERS[name]
    hp = cls.__dict__["Hyperparameters"]  # its own, even when it is its parent's fields (nadam, eve)
    assert issubclass(hp, optimizers.HyperparameterSet) and hp.__dataclass_params__.frozen
    assert hp.__module__ == cls.__module__, "declared in the rule's own file"
    for field in dataclasses.fields(hp):
        spec = field.metadata[METADATA_KEY]
        assert isinstance(spec, optimizers.HyperparameterSpec)
        assert spec.name == field.name and f"--{field.name}" in spec.flags
        assert spec.help and field.default == spec.default
    with pytest.raises(dataclasses.FrozenInstanceError):
        hp().learning_rate = 1.0


@pytest.mark.parametrize("name", optimizers.names())
def test_each_rule_declares_exactly_what_it_reads(name):
    assert {field.name for field in fields_of(name)} == READS[name]


@pytest.mark.parametrize("name", optimizers.names())
def test_every_declared_hyperparameter_changes_the_rule(name):
    """No dead declaration: moving any one hyperparameter moves the trajectory."""

    def trajectory(values):
        opt = optimizers.make(name, **values)
        params = {"w": np.array([1.0, -0.5, 2.0])}
        state = opt.init(params)
        for t in range(1, 5):
            opt.apply(params, {"w": np.array([0.3 * t, -0.2, 1.0 / t])}, state, loss=2.0 / t)
        return params["w"]

    base = trajectory(ELSEWHERE)
    for field in fields_of(name):
        moved = {**ELSEWHERE, field.name: ELSEWHERE[field.name] * 0.5}
        assert not np.array_equal(trajectory(moved), base), f"{name} does not read {field.name}"


def test_the_course_names_flags_defaults_and_ranges():
    specs = {spec.name: spec for spec in optimizers.hyperparameter_specs()}
    for name, (flags, default, low, high, low_open, high_open) in COURSE.items():
        spec = specs[name]
        assert (spec.flags, spec.default, spec.low, spec.high, spec.low_open, spec.high_open) == (
            flags,
            default,
            low,
            high,
            low_open,
            high_open,
        ), name


# -- hyperparameter_specs ----------------------------------------------------------------------------
def test_specs_list_each_name_once_in_a_stable_order():
    specs = optimizers.hyperparameter_specs()
    names = [spec.name for spec in specs]
    assert len(names) == len(set(names))
    assert names[: len(COURSE)] == list(COURSE), "learning_rate first, then the course's order"
    assert specs == optimizers.hyperparameter_specs()
    flags = [flag for spec in specs for flag in spec.flags]
    assert len(flags) == len(set(flags)), "a flag names one hyperparameter"
    for spec in specs:
        assert dataclasses.is_dataclass(spec)
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.default = 1.0  # type: ignore[misc]


def test_used_by_agrees_with_the_declarations():
    for spec in optimizers.hyperparameter_specs():
        declaring = tuple(name for name in optimizers.names() if spec.name in {f.name for f in fields_of(name)})
        assert spec.used_by == declaring, spec.name
        assert spec.help.endswith("Used by: " + ", ".join(declaring))
    declared = {field.name for name in optimizers.names() for field in fields_of(name)}
    assert declared == {spec.name for spec in optimizers.hyperparameter_specs()}


def test_the_adam_family_shares_its_names():
    specs = {spec.name: spec for spec in optimizers.hyperparameter_specs()}
    assert specs["beta1"].used_by == ("adam", "adamw", "eve", "nadam")
    assert specs["epsilon"].used_by == ("adagrad", "adam", "adamw", "eve", "nadam", "rmsprop")
    assert specs["decoupled_weight_decay"].used_by == ("adamw",)
    assert specs["momentum"].used_by == ("momentum", "nag")


# -- make --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", optimizers.names())
def test_make_takes_the_whole_flat_set_of_defaults(name):
    opt = optimizers.make(name, **all_defaults())
    assert isinstance(opt, optimizers.OPTIMIZERS[name])
    assert opt.hp == type(opt).Hyperparameters()
    for field in fields_of(name):
        assert getattr(opt.hp, field.name) == field.default
        assert type(getattr(opt.hp, field.name)) is float


@pytest.mark.parametrize("name", optimizers.names())
def test_out_of_range_values_raise_naming_the_field(name):
    specs = {spec.name: spec for spec in optimizers.hyperparameter_specs()}
    for field in fields_of(name):
        for bad in out_of_range(specs[field.name]):
            with pytest.raises(ValueError, match=field.name):
                optimizers.make(name, **{field.name: bad})


def test_range_messages_name_the_field_and_its_range():
    with pytest.raises(ValueError, match=r"learning_rate must be > 0, got 0\.0"):
        optimizers.make("sgd", learning_rate=0)
    with pytest.raises(ValueError, match=r"beta1 must be in \[0, 1\), got 1\.0"):
        optimizers.make("adam", beta1=1.0)
    with pytest.raises(ValueError, match=r"epsilon must be >= 0, got -1\.0"):
        optimizers.make("adam", epsilon=-1.0)
    with pytest.raises(ValueError, match="momentum must be a finite number, got nan"):
        optimizers.make("nag", momentum=float("nan"))
    with pytest.raises(ValueError, match="learning_rate must be a number, got 'fast'"):
        optimizers.make("sgd", learning_rate="fast")
    with pytest.raises(ValueError, match="learning_rate must be a number, got True"):
        optimizers.make("sgd", learning_rate=True)


def test_values_are_converted_to_python_floats():
    """Python floats keep float32 arrays float32 (NEP 50); YAML may hand over '1e-3' as a string."""
    opt = optimizers.make("adam", learning_rate="1e-3", beta1=np.float32(0.5), beta2=0)
    assert (opt.hp.learning_rate, opt.hp.beta1, opt.hp.beta2) == (0.001, 0.5, 0.0)
    assert all(type(getattr(opt.hp, f.name)) is float for f in dataclasses.fields(opt.hp))


def test_unknown_names_are_errors():
    with pytest.raises(TypeError, match="unknown hyperparameter lr; known: learning_rate, momentum"):
        optimizers.make("adam", lr=0.1)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        optimizers.make("sgd", learning_rate=0.1, beta3=0.5)
    with pytest.raises(ValueError, match="valid names: .*adam.*sgd"):
        optimizers.make("adamax", learning_rate=0.1)


def test_a_rule_is_built_from_its_own_hyperparameters_only():
    adam = optimizers.OPTIMIZERS["adam"]
    assert adam().hp == adam.Hyperparameters()
    with pytest.raises(TypeError, match="Adam takes Adam.Hyperparameters, got SGD.Hyperparameters"):
        adam(optimizers.OPTIMIZERS["sgd"].Hyperparameters())
    assert repr(optimizers.make("sgd", learning_rate=0.5)) == "SGD(learning_rate=0.5)"


def test_the_learning_rate_schedule_can_replace_the_rate():
    """nn/schedules.py sets ``opt.hp = dataclasses.replace(opt.hp, learning_rate=rate)``: checked like make."""
    opt = optimizers.make("adamw", learning_rate=0.1, decoupled_weight_decay=0.2)
    opt.hp = dataclasses.replace(opt.hp, learning_rate=0.05)
    assert (opt.hp.learning_rate, opt.hp.decoupled_weight_decay) == (0.05, 0.2)
    assert type(opt.hp) is type(opt).Hyperparameters
    with pytest.raises(ValueError, match="learning_rate"):
        dataclasses.replace(opt.hp, learning_rate=0.0)


# -- adding an optimizer -----------------------------------------------------------------------------
def test_a_new_optimizer_with_a_new_hyperparameter_joins_the_specs(registry):
    @optimizers.register("signum")
    class Signum(optimizers.Optimizer):
        """``u <- m * u + g; w <- w - lr * sign(u) * scale``: a test's rule."""

        @dataclass(frozen=True)
        class Hyperparameters(HyperparameterSet):
            learning_rate: float = LEARNING_RATE()
            momentum: float = MOMENTUM()
            scale: float = hyperparameter(2.0, "--scale", help="Step scale.", low=0.0, high=10.0, low_open=True)

        slot_names = ("u",)

        def update(self, w, g, slots, state):
            slots["u"] *= self.hp.momentum
            slots["u"] += g
            w -= self.hp.learning_rate * self.hp.scale * np.sign(slots["u"])

    specs = optimizers.hyperparameter_specs()
    assert [spec.name for spec in specs][-1] == "scale", "new names come after the shared ones"
    scale = specs[-1]
    assert (scale.flags, scale.default, scale.used_by) == (("--scale",), 2.0, ("signum",))
    assert scale.help == "Step scale. Used by: signum"
    assert "signum" in {spec.name: spec for spec in specs}["momentum"].used_by
    assert "signum" in optimizers.names()

    opt = optimizers.make("signum", **{**all_defaults(), "scale": 3.0})
    assert isinstance(opt, Signum) and opt.hp.scale == 3.0
    with pytest.raises(ValueError, match=r"scale must be in \(0, 10\], got 0\.0"):
        optimizers.make("signum", scale=0.0)
    optimizers.make("sgd", scale=3.0)  # another rule's now: ignored by sgd
    with pytest.raises(TypeError, match="unknown hyperparameter scales;"):
        optimizers.make("sgd", scales=3.0)


def test_new_optimizers_are_gone_after_the_test():
    assert "signum" not in optimizers.names()
    assert "scale" not in {spec.name for spec in optimizers.hyperparameter_specs()}


def test_a_name_declared_differently_is_an_error_at_registration(registry):
    before = optimizers.names()

    with pytest.raises(TypeError, match="'momentum' is declared differently by 'momentum'"):

        @optimizers.register("heavy")
        class Heavy(optimizers.Optimizer):
            @dataclass(frozen=True)
            class Hyperparameters(HyperparameterSet):
                momentum: float = hyperparameter(0.5, "-m", "--momentum", help="Other default.", high=1.0)

    with pytest.raises(TypeError, match="'-lr' is declared differently"):

        @optimizers.register("borrowed_flag")
        class BorrowedFlag(optimizers.Optimizer):
            @dataclass(frozen=True)
            class Hyperparameters(HyperparameterSet):
                rate: float = hyperparameter(0.1, "-lr", "--rate", help="Steals -lr.")

    assert optimizers.names() == before


def test_a_declaration_the_contract_does_not_allow_is_an_error_at_registration(registry):
    def declare(name, body, divides_by_epsilon=False):
        return optimizers.register(name)(
            type(name, (optimizers.Optimizer,), {**body, "divides_by_epsilon": divides_by_epsilon})
        )

    @dataclass(frozen=True)
    class Bare(HyperparameterSet):
        learning_rate: float = 0.1  # no hyperparameter(): no flags, help or range

    @dataclass(frozen=True)
    class Misnamed(HyperparameterSet):
        rate: float = LEARNING_RATE()

    @dataclass(frozen=True)
    class RateOnly(HyperparameterSet):
        learning_rate: float = LEARNING_RATE()

    with pytest.raises(TypeError, match="nested"):
        declare("none", {})  # inherits the base's empty set: must declare its own
    with pytest.raises(TypeError, match="not declared with optimizers.base.hyperparameter"):
        declare("bare", {"Hyperparameters": Bare})
    with pytest.raises(TypeError, match="frozen"):  # dataclasses' own rule keeps every set frozen

        @dataclass
        class Thawed(HyperparameterSet):
            learning_rate: float = LEARNING_RATE()

    with pytest.raises(TypeError, match="'rate' is declared with the flags of 'learning_rate'"):
        declare("misnamed", {"Hyperparameters": Misnamed})
    with pytest.raises(TypeError, match="divides by epsilon but does not declare it"):
        declare("eps_missing", {"Hyperparameters": RateOnly}, divides_by_epsilon=True)
    with pytest.raises(TypeError, match="long flag"):
        hyperparameter(1.0, "-x", help="No long flag.")
    with pytest.raises(ValueError, match="x must be > 0"):
        hyperparameter(0.0, "--x", help="Default out of its own range.", low_open=True)
    assert not {"none", "bare", "misnamed", "eps_missing"} & set(optimizers.names())
