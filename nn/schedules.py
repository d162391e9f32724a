"""Learning-rate schedules: the rate of every mini-batch as a function of where training is.

With ``n`` mini-batches per epoch, ``E`` epochs, the base rate ``lr`` and the
step index ``s = (epoch - 1) * n + (batch - 1)`` (0 for the first update):

* warm-up (``warmup_epochs = W > 0``): for ``s < W * n`` the rate is
  ``lr * (s + 1) / (W * n)``, rising linearly to ``lr``;
* after it, with ``p = (s - W * n) / (E * n - W * n)`` in ``[0, 1)``:

  - ``constant``: ``lr``;
  - ``step``: ``lr * gamma ** floor(s / (step_epochs * n))``, the rate times
    ``gamma`` every ``step_epochs`` epochs;
  - ``cosine``: ``lr * (1 + cos(pi * p)) / 2`` (Loshchilov & Hutter's annealing
    to 0 without restarts; ``p < 1`` keeps the rate above 0).

The rate depends only on ``(epoch, batch)``, so a resumed run gets the same rates.
"""

from __future__ import annotations

import dataclasses
import math

from .callbacks import Callback

SCHEDULES = ("constant", "step", "cosine")


def learning_rate(
    schedule: str,
    base: float,
    step: int,
    steps_per_epoch: int,
    epochs: int,
    warmup_epochs: float = 0.0,
    step_epochs: int = 10,
    gamma: float = 0.1,
) -> float:
    """The rate of update number ``step`` (0-based) under ``schedule`` (see the module docstring)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; one of {', '.join(SCHEDULES)}")
    warmup = warmup_epochs * steps_per_epoch
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule == "step":
        return base * gamma ** (step // (step_epochs * steps_per_epoch))
    if schedule == "cosine":
        total = epochs * steps_per_epoch
        progress = (step - warmup) / max(total - warmup, 1)
        return base * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    return base


class LearningRateSchedule(Callback):
    """Sets the optimizer's learning rate before every update and adds ``learning_rate`` (the rate of
    the epoch's last update) to each epoch's metrics. Must come before the loggers."""

    def __init__(
        self,
        optimizer,
        schedule: str,
        epochs: int,
        warmup_epochs: float = 0.0,
        step_epochs: int = 10,
        gamma: float = 0.1,
    ):
        self.optimizer, self.base = optimizer, optimizer.hp.learning_rate
        self.schedule, self.epochs, self.warmup_epochs = schedule, epochs, warmup_epochs
        self.step_epochs, self.gamma = step_epochs, gamma
        learning_rate(schedule, 1.0, 0, 1, epochs, warmup_epochs, step_epochs, gamma)  # checks the name early
        self.n_batches = 1
        self.current = self.base

    def _set(self, epoch: int, batch: int) -> None:
        step = (epoch - 1) * self.n_batches + (batch - 1)
        rate = learning_rate(
            self.schedule,
            self.base,
            step,
            self.n_batches,
            self.epochs,
            self.warmup_epochs,
            self.step_epochs,
            self.gamma,
        )
        if rate != self.optimizer.hp.learning_rate:  # a constant rate costs nothing per step
            self.optimizer.hp = dataclasses.replace(self.optimizer.hp, learning_rate=rate)

    def on_epoch_begin(self, epoch, n_batches):
        self.n_batches = n_batches
        self._set(epoch, 1)

    def on_batch_end(self, epoch, batch, n_batches, logs):
        self.current = self.optimizer.hp.learning_rate
        if batch < n_batches:
            self._set(epoch, batch + 1)

    def on_epoch_end(self, epoch, metrics):
        metrics["learning_rate"] = self.current
