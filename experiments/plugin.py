"""What a study plugin is: a configuration section and the hooks of a run it uses.

A run (:func:`experiments.run.run`) is a lifecycle::

    load -> check -> build -> before_training -> fit -> after_training -> save -> figures -> finish

and a plugin joins it through the hooks below, each optional. A plugin never
arranges itself among the others by hand: its :attr:`Plugin.priority` orders
its hooks and its callbacks among every other plugin's and the core's
(:class:`Priority`), ties broken by the registry's order.

Hooks (``run`` is the :class:`RunContext` of the run):

* ``enabled(config)``: whether the plugin takes part in this run (its
  flags are on; the task fits). A disabled plugin costs nothing: its heavy
  imports live inside its hooks.
* ``check(config, data)``: raise :class:`ConfigError` for a configuration it
  cannot run, before anything starts (no W&B run, no folder).
* ``replaces_run(config)`` / ``run_instead(config, run_one, **kwargs)``: a
  plugin that runs several runs in place of one (k-fold).
* ``prepare(run)``: after the model, loss and optimizer are built, on
  every run, a resumed one too: may replace them (label smoothing's loss).
* ``before_training(run)``: after the model is built, before the first
  epoch (not when resuming): pretraining, an output bias, sample images.
* ``wrap_step(step, run)``: the training step, wrapped (adversarial
  training, augmentation): the loop itself is never copied.
* ``callbacks(run)``: :class:`nn.Callback` objects for the loop: per batch
  and per epoch (schedules, stopping rules, batch logging).
* ``gradient_transforms(run)``: functions of the full gradient (the data loss's
  and the penalty's) applied before every update (gradient clipping).
* ``summarize(run)``: summary entries, whatever way training ended
  (stopping rules, measurements).
* ``after_training(run)``: when training finished, the report: summary
  entries, from the evaluations made once (``run.evaluations``).
* ``figures(run)``: drawn after the result is printed and saved; returns
  ``{name: png path}`` for the reporters.
* ``name_part(config)``: what the plugin adds to the run's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Callable

    import datasets
    import nn
    import optimizers
    from nn.metrics import SplitScores
    from tracking import Reporter
    from tracking.local import LocalRun

    from .sections import RunConfig

S = TypeVar("S")  # what a plugin keeps between the hooks of one run (Plugin.new_state)


class Priority(IntEnum):
    """Where hooks and callbacks run, lowest first."""

    SCHEDULE = 10  # sets the learning rate before each update
    DATA = 20  # changes what the step sees (augmentation, adversarial examples)
    MEASURE = 30  # adds measurements to the epoch's record (gradient norms, dead units, batch losses)
    DEFAULT = 40
    RECORD = 50  # history, best weights, checkpoint: the epoch as measured
    REPORT = 70  # console, W&B: the complete record
    STOP = 90  # stopping rules: they see the complete epoch, and stop after it
    OUTSIDE = 100  # callbacks handed in by the caller (a sweep's pruning)


@dataclass
class RunContext:
    """Everything a run has built, handed to every hook; what it has come to (status, message, exit
    code) as the phases set it."""

    config: RunConfig
    data: datasets.Dataset
    model: nn.Sequential
    loss: nn.Loss
    optimizer: optimizers.Optimizer
    batches: nn.Batches
    best: nn.BestWeights
    local: LocalRun  # the run folder: config, history, summary, figures
    trackers: list[Reporter]  # the experiment trackers beside it (W&B's run, when on)
    say: Callable[[str], None]
    name: str
    resuming: bool = False
    in_fold: bool = False  # one fold of a cross-validation (which gives the hints itself)
    initial_epoch: int = 0  # epochs already done (a resumed run)
    optimizer_state: dict | None = None  # restored from the checkpoint (a resumed run)
    history: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    evaluations: dict[str, SplitScores] = field(default_factory=dict)
    status: str = "finished"  # finished, diverged, interrupted, stopped
    message: str = ""  # why the run stopped early
    exit_code: int = 0
    _plugin_states: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def folder(self) -> Path:
        return self.local.folder

    @property
    def reporters(self) -> list[Reporter]:
        """Every reporter: the run folder first, then the trackers."""
        return [self.local, *self.trackers]

    @property
    def in_sweep(self) -> bool:
        """Whether a sweep's agent (``wandb agent``) started this run."""
        return any(tracker.in_sweep for tracker in self.trackers)

    def state_of(self, plugin: Plugin[S]) -> S:
        """What ``plugin`` keeps for its later hooks in this run (made by its :meth:`Plugin.new_state`)."""
        if plugin.name not in self._plugin_states:
            self._plugin_states[plugin.name] = plugin.new_state()
        return cast("S", self._plugin_states[plugin.name])

    def report_figures(self, figures: dict) -> None:
        for reporter in self.reporters:
            reporter.log_figures(figures)


@dataclass(frozen=True)
class Changes:
    """What a plugin changes in a run, as its example run shows it against the same run without the
    plugin (same options, same seed): the contract test (``tests/test_plugins.py``) runs both and checks
    every entry, so a plugin that does nothing fails it. Patterns as :mod:`fnmatch` reads them."""

    summary: tuple[str, ...] = ()  # keys the summary gains, e.g. ``latent_knn/*``
    files: tuple[str, ...] = ()  # files the run folder gains, e.g. ``latent.png``
    trajectory: bool = False  # training takes another path: the per-epoch training losses differ

    def __bool__(self) -> bool:
        return bool(self.summary or self.files or self.trajectory)


class Plugin(Generic[S]):
    """Base class: every hook does nothing. Subclasses set :attr:`name`, :attr:`section` and
    :attr:`priority` and override the hooks they use; one that keeps something between its hooks
    is a ``Plugin[ItsState]`` and makes it in :meth:`new_state` (``run.state_of(self)`` gives it)."""

    name: ClassVar[str] = ""
    section: ClassVar[type | None] = None  # its configuration section (a frozen dataclass of options)
    priority: ClassVar[int] = Priority.DEFAULT
    example: ClassVar[dict] = {}  # flat options that switch it on in a tiny run (the contract test uses them)
    changes: ClassVar[Changes] = Changes()  # what that run has that the same run without the plugin lacks
    name_slot: ClassVar[str] = "network"  # where its name part goes: after the network, the data or last

    def new_state(self) -> S:
        """A fresh state for one run (see :meth:`RunContext.state_of`)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no state")

    def enabled(self, config: RunConfig) -> bool:
        return True

    def check(self, config: RunConfig, data: datasets.Dataset) -> None: ...

    def replaces_run(self, config: RunConfig) -> bool:
        return False

    def run_instead(self, config: RunConfig, run_one: Callable, *, name: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def prepare(self, run: RunContext) -> None: ...

    def before_training(self, run: RunContext) -> None: ...

    def wrap_step(self, step: Callable, run: RunContext) -> Callable:
        return step

    def callbacks(self, run: RunContext) -> list:
        return []

    def gradient_transforms(self, run: RunContext) -> list:
        """Transforms of the full gradient between backpropagation and the update (:mod:`nn.gradients`),
        applied in priority order: clipping."""
        return []

    def summarize(self, run: RunContext) -> dict:
        return {}

    def after_training(self, run: RunContext) -> dict:
        return {}

    def figures(self, run: RunContext) -> dict:
        return {}

    def name_part(self, config: RunConfig) -> str:
        return ""

    def logged_metrics(self, config: RunConfig) -> list[str]:
        """The numbers this plugin adds to the run's summary (a sweep's metric may name them; ``name/*``
        stands for every ``name/<class or layer>``); a plugin that runs in the run's place
        (:meth:`replaces_run`) gives every number its summary holds."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, priority={int(self.priority)})"
