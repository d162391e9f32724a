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
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Callable

    import datasets
    import nn
    from experiments.config import RunConfig
    from nn.metrics import SplitScores


class ConfigError(ValueError):
    """A configuration that cannot run: the message is the one line the user sees (exit 2)."""


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
    """Everything a run has built, handed to every hook."""

    config: RunConfig
    data: datasets.Dataset
    model: nn.Sequential
    loss: nn.Loss
    optimizer: Any
    batches: nn.Batches
    best: nn.BestWeights
    folder: Path
    reporters: list  # tracking.Reporter objects; reporters[0] is the local run folder
    say: Callable[[str], None]
    name: str
    resuming: bool = False
    history: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    evaluations: dict[str, SplitScores] = field(default_factory=dict)
    status: str = "finished"
    state: dict = field(default_factory=dict)  # plugin name -> what its later hooks need
    step: Any = None  # the training step, after every plugin's wrap_step

    def report_figures(self, figures: dict) -> None:
        for reporter in self.reporters:
            reporter.log_figures(figures)


class Plugin:
    """Base class: every hook does nothing. Subclasses set :attr:`name`, :attr:`section` and
    :attr:`priority` and override the hooks they use."""

    name: ClassVar[str] = ""
    section: ClassVar[type | None] = None  # its configuration section (a frozen dataclass of options)
    priority: ClassVar[int] = Priority.DEFAULT
    example: ClassVar[dict] = {}  # flat options that switch it on in a tiny run (the contract test uses them)
    name_slot: ClassVar[str] = "network"  # where its name part goes: after the network, the data or last

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

    def summarize(self, run: RunContext) -> dict:
        return {}

    def after_training(self, run: RunContext) -> dict:
        return {}

    def figures(self, run: RunContext) -> dict:
        return {}

    def name_part(self, config: RunConfig) -> str:
        return ""

    def logged_metrics(self, config: RunConfig, task: str) -> list[str]:
        """The numbers this plugin adds to the run's summary (a sweep's metric may name them; ``name/*``
        stands for every ``name/<class or layer>``); a plugin that runs in the run's place
        (:meth:`replaces_run`) gives every number its summary holds."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, priority={int(self.priority)})"
