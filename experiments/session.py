"""What a run, or a run of runs (k-fold), opens and gives back: its data, its reporters, its result,
and the signals it answers. Nothing here knows the plugins, so a plugin that runs several runs
(:mod:`experiments.plugins.kfold`) uses it without a circle."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
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


AFTER = "stopped_after_the_block"  # the mark deferred_stops puts on the stop it held


@contextlib.contextmanager
def deferred_stops() -> Iterator[None]:
    """A phase worth finishing (the test pass of a finished training: a job stopped by its time limit
    keeps its scores): the first SIGTERM or Ctrl-C while the block runs is held and handed to its handler
    when the block is over (the stop it raises is marked: :func:`came_after`); a second one hands both to
    their handlers at once, so it stops the block as it would have without this (even when both came
    during one long call into C: see :class:`Deliveries`). SIGTERMs that come together count as one:
    ``timeout`` sends two at once (to the command, then to its process group), and schedulers send one;
    a person's second Ctrl-C always counts. "Together" is under 0.1 s apart, or during one call into C,
    where their arrival times are not known: two SIGTERMs seconds apart during one long matrix product
    are one stop too (a second Ctrl-C, or SIGKILL, still ends it).

    Only signals with a Python handler are held (:func:`stop_on_signals`' own, Python's Ctrl-C, a sweep
    worker's), and only in the main thread (the one signals reach); elsewhere the block runs as it would
    without this."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = _python_handlers()
    with Deliveries() as delivered:
        held = Held(handlers, delivered)
        for number in handlers:
            signal.signal(number, held)
        try:
            yield
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)
    try:
        held.release()
    except BaseException as error:
        setattr(error, AFTER, True)
        raise


class Held:
    """The handler while :func:`deferred_stops`' block runs: it keeps the first stop and, from the second
    on, hands every stop kept to its own handler, in the order they came."""

    TOGETHER = 0.1  # seconds: SIGTERMs handled closer than this are one (timeout's second may come just after)

    def __init__(self, handlers: dict[int, Callable[[int, Any], Any]], delivered: Callable[[], list[int]]):
        self.handlers, self.delivered = handlers, delivered
        self.stops: list[int] = []
        self.last_term = -math.inf

    def __call__(self, signum: int, frame: Any) -> None:
        now = time.monotonic()
        for number in self.delivered() or [signum]:  # every stop since the last call (one call into C hides several)
            if number == signal.SIGTERM:
                if now - self.last_term < self.TOGETHER:
                    continue
                self.last_term = now
            self.stops.append(number)
        if len(self.stops) > 1:
            self.release(frame)

    def release(self, frame: Any = None) -> None:
        stops, self.stops = self.stops, []
        for number in stops:
            self.handlers[number](number, frame)


class Deliveries:
    """The SIGTERMs and SIGINTs the process received while in the ``with`` block. Python's C handler
    only notes that a signal came and runs the Python handler at the next bytecode, once, however many
    came in between (during one matrix product of the test pass, say); with a wake-up file
    (:func:`signal.set_wakeup_fd`) it also writes each signal's number there as it comes: those are
    read. Where a wake-up file is set already (an asyncio loop's), it stays, and nothing is read."""

    STOPS = (signal.SIGTERM, signal.SIGINT)

    def __enter__(self) -> Deliveries:
        self.read_end, self.write_end = os.pipe()
        for end in (self.read_end, self.write_end):
            os.set_blocking(end, False)
        self.previous = signal.set_wakeup_fd(self.write_end, warn_on_full_buffer=False)
        if self.previous != -1:  # someone else's: put it back
            signal.set_wakeup_fd(self.previous)
        return self

    def __call__(self) -> list[int]:
        """The stops received since the last call, in the order they came."""
        try:
            return [byte for byte in os.read(self.read_end, 4096) if byte in self.STOPS]
        except BlockingIOError:
            return []

    def __exit__(self, *exc_info: object) -> None:
        if self.previous == -1:
            signal.set_wakeup_fd(-1)
        os.close(self.read_end)
        os.close(self.write_end)


def _python_handlers() -> dict[int, Callable[[int, Any], Any]]:
    """SIGTERM's and SIGINT's handlers that are Python functions (not the default action or ignored)."""
    found: dict[int, Callable[[int, Any], Any]] = {}
    for number in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(number)
        if callable(handler):
            found[number] = handler
    return found


def came_after(error: BaseException) -> bool:
    """Whether ``error`` is a stop that :func:`deferred_stops` held until its block was done."""
    return getattr(error, AFTER, False) is True


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
            val_data=data.val_data,
            image_size=data.image_size,
            color=data.color,
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
