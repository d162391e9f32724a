"""Progress on the terminal: one line per epoch, a bar inside the epoch on a TTY; output that outlives
its reader (``train.py | head -3``)."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time

import click

import nn

SHORT = {"accuracy": "acc"}


def format_metrics(metrics: dict, epochs: int) -> str:
    """``epoch 3/10 | loss 0.41 | acc 0.85 | val_loss ... | 1.02s``: the loss and the task's metrics."""
    width = len(str(epochs))
    parts = [f"epoch {metrics['epoch']:>{width}}/{epochs}"]
    for prefix, label in (("train_", ""), ("val_", "val_")):
        for key, value in metrics.items():
            name = key[len(prefix) :]
            if key.startswith(prefix) and name != "penalty":
                parts.append(f"{label}{SHORT.get(name, name)} {value:.4f}")
    parts.append(f"{metrics['seconds']:.2f}s")
    return " | ".join(parts)


def write(stream, text: str) -> None:
    """``text`` on ``stream`` (``None``: standard output, looked up now), flushed, through ``click.echo``
    (which copes with a terminal that cannot encode ``R²``; ``color=True``: the bar's escapes are only
    ever written to a terminal). Standard output that cannot be written does not stop the command: the
    terminal is one reporter of several, and the run folder and W&B still get everything. When the
    reader of its pipe has gone (``train.py | head -3``; Python ignores SIGPIPE, so it arrives as
    ``BrokenPipeError``) the rest goes to the null device silently; any other failure (``> /dev/full``)
    says so once on standard error first. No standard output at all (``>&-``) writes nothing."""
    try:
        click.echo(text, file=stream, nl=False, color=True)  # file=None: click's own wrapper of stdout
    except OSError as error:
        if stream is not None and stream is not sys.stdout:
            raise
        _silence_stdout(error)


def _silence_stdout(error: OSError) -> None:
    if error.errno != errno.EPIPE:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            print(
                f"warning: standard output cannot be written ({error.strerror or error}); the run goes on, "
                "and its folder keeps what it prints",
                file=sys.stderr,
                flush=True,
            )
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, sys.stdout.fileno())  # what is still buffered drains there too, as any later line
    except (OSError, ValueError, AttributeError):  # no descriptor behind it: a new standard output instead
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - standard output, open for the process's life
    finally:
        os.close(null)


class ConsoleProgress(nn.Callback):
    """One line per epoch; on a terminal, also a live bar inside an epoch once it has run for ``delay``
    seconds (short epochs show nothing extra): batches done, samples/s, the running mean loss and the
    time left in the epoch, redrawn at most every ``interval`` seconds. Off a terminal (logs, CI) only
    the epoch lines are written."""

    def __init__(
        self, stream=None, bar: bool | None = None, delay: float = 2.0, interval: float = 0.2, clock=time.monotonic
    ):
        self.stream = stream  # None: standard output, whatever it is when a line is written
        shown = sys.stdout if stream is None else stream
        self.bar = bool(shown is not None and shown.isatty()) if bar is None else bar
        self.delay, self.interval, self.clock = delay, interval, clock
        self.epochs = 0
        self._drawn = False

    def on_train_begin(self, info):
        self.epochs, self.n_train = info["epochs"], info["n_train"]

    def on_epoch_begin(self, epoch, n_batches):
        self._started = self._last_draw = self.clock()
        self._loss_sum, self._drawn = 0.0, False

    def on_batch_end(self, epoch, batch, n_batches, logs):
        if not self.bar:
            return
        self._loss_sum += logs["loss"]
        now = self.clock()
        elapsed = now - self._started
        if elapsed < self.delay or (now - self._last_draw < self.interval and batch < n_batches):
            return
        self._last_draw, self._drawn = now, True
        samples = self.n_train * batch / n_batches
        left = elapsed * (n_batches - batch) / batch
        done = int(20 * batch / n_batches)
        write(
            self.stream,
            f"\r\033[Kepoch {epoch}/{self.epochs} [{'#' * done}{'.' * (20 - done)}] "
            f"{batch}/{n_batches} | {samples / elapsed:,.0f} samples/s | "
            f"loss {self._loss_sum / batch:.4f} | {_clock(left)} left",
        )

    def on_epoch_end(self, epoch, metrics):
        prefix = "\r\033[K" if self._drawn else ""
        write(self.stream, prefix + format_metrics(metrics, self.epochs) + "\n")


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"
