"""What a run, or a run of runs (k-fold), opens and gives back: its data, its reporters, its result,
and the signals it answers. Nothing here knows the plugins, so a plugin that runs several runs
(:mod:`experiments.plugins.kfold`) uses it without a circle."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets

from .errors import ConfigError, Terminated

if TYPE_CHECKING:
    from .sections import RunConfig


RETRY_AFTER = 0.02  # seconds: a stop that Python dropped is raised again this much later


def stop_on_signals() -> Callable[[], None]:
    """SIGTERM raises :class:`Terminated` and SIGINT ``KeyboardInterrupt`` in the main thread. SIGINT is
    installed explicitly: a process started in the background (``cmd &``, ``nohup``) inherits it ignored.

    Python runs a signal's handler in whatever frame is executing, and an exception raised inside a
    ``__del__`` or a weakref callback (a temporary file closed by the garbage collector, a
    ``WeakKeyDictionary`` entry removed) goes to ``sys.unraisablehook``, which prints "Exception ignored
    in ..." and drops it: the stop would be lost and the run would go on. So the hook takes those stops
    back, and a one-shot timer (SIGALRM) raises them again as soon as that code has returned.

    These are the process's: the scripts install them once. The function returned puts back the hook and
    the three handlers as they were (for a caller that runs in a process it does not own: a notebook, a
    test)."""
    dropped: list[type[BaseException]] = []
    print_unraisable = sys.unraisablehook

    def terminate(signum, frame):
        raise Terminated

    def take_back(unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):  # Terminated is one too
            print_unraisable(unraisable)
            return
        dropped[:] = [type(unraisable.exc_value)]
        signal.setitimer(signal.ITIMER_REAL, RETRY_AFTER)

    def raise_again(signum, frame):
        if dropped:
            raise dropped.pop()

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)}

    def restore() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.unraisablehook = print_unraisable
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    sys.unraisablehook = take_back
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGALRM, raise_again)
    return restore


def done_with_signals() -> None:
    """Ignore SIGINT and SIGTERM from here on: the result is on disk and the process only exits (Python
    restores the default handlers while it shuts down, so a late SIGTERM would otherwise kill it with
    -15 after a run that finished)."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(signum, signal.SIG_IGN)


@dataclass
class RunResult:
    status: str  # finished, diverged, interrupted
    history: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    folder: Path | None = None
    message: str = ""
    model: Any = None
    exit_code: int = 0


def load_data(config: RunConfig) -> datasets.Dataset:
    """The data set of ``config``; a split the data cannot make is a :class:`ConfigError`."""
    data = config.data
    try:
        return datasets.load(
            data.dataset,
            data.data_dir,
            data.val_fraction,
            data.seed,
            scaling=data.scaling,
            permute_pixels=data.permute_pixels,
            target=data.target,
            task=data.task,
        )
    except datasets.DataFileError as error:
        raise ConfigError(str(error)) from None
    except ValueError as error:
        raise ConfigError(f"{data.dataset}: {error}") from None


def open_trackers(config: RunConfig, name: str, **kwargs: Any) -> list:
    """The W&B run, if W&B is on (``--wandb_mode disabled`` turns it off)."""
    if config.tracking.wandb_mode == "disabled":
        return []
    from tracking.wandb_run import WandbRun

    tracking = config.tracking
    return [
        WandbRun(
            project=tracking.wandb_project,
            entity=tracking.wandb_entity,
            name=name,
            config=config.flat(),
            mode=tracking.wandb_mode,
            **kwargs,
        )
    ]
