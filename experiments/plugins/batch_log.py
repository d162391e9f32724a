"""Per-batch loss logging (``--log_every N``): the training loss of every N-th mini-batch against
the running batch count (W&B step axis ``batch``; ``batch_loss.csv`` in the run folder)."""

from __future__ import annotations

from dataclasses import dataclass

import click

import nn

from ..options import option
from ..plugin import Changes, Plugin, Priority


@dataclass(frozen=True)
class BatchLogConfig:
    title = "Per-batch logging"
    log_every: int = option(
        0,
        "--log_every",
        "--log-every",
        type=click.IntRange(min=0),
        help="Also log the training loss every N mini-batches, on its own W&B step axis 'batch' (0: off).",
    )


class BatchLoss(nn.Callback):
    """Sends ``{"batch", "epoch", "batch_loss"}`` of every ``every``-th mini-batch to every reporter."""

    def __init__(self, every: int, reporters):
        self.every, self.reporters, self.count = every, reporters, 0

    def on_train_begin(self, info):
        self.count = info["n_batches"] * info["initial_epoch"]

    def on_batch_end(self, epoch, batch, n_batches, logs):
        self.count += 1
        if self.count % self.every == 0:
            row = {"batch": self.count, "epoch": epoch, "batch_loss": logs["loss"]}
            for reporter in self.reporters:
                reporter.log_scalars("batch_loss", row, step="batch")


class BatchLog(Plugin):
    name = "batch_log"
    example = {"log_every": 5}
    changes = Changes(files=("batch_loss.csv",))
    section = BatchLogConfig
    priority = Priority.MEASURE

    def enabled(self, config):
        return config.get(BatchLogConfig).log_every > 0

    def callbacks(self, run):
        return [BatchLoss(run.config.get(BatchLogConfig).log_every, run.reporters)]
