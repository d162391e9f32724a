"""Progress on the terminal: one line per epoch, a bar inside the epoch on a TTY."""
from __future__ import annotations

import sys

import nn


SHORT = {"accuracy": "acc"}


def format_metrics(metrics: dict, epochs: int) -> str:
    """``epoch 3/10 | loss 0.41 | acc 0.85 | val_loss ... | 1.02s``: the loss and the task's metrics."""
    width = len(str(epochs))
    parts = [f"epoch {metrics['epoch']:>{width}}/{epochs}"]
    for prefix, label in (("train_", ""), ("val_", "val_")):
        for key, value in metrics.items():
            name = key[len(prefix):]
            if key.startswith(prefix) and name != "penalty":
                parts.append(f"{label}{SHORT.get(name, name)} {value:.4f}")
    parts.append(f"{metrics['seconds']:.2f}s")
    return " | ".join(parts)


class ConsoleProgress(nn.Callback):
    def __init__(self, stream=None, bar: bool | None = None):
        self.stream = stream or sys.stdout
        self.bar = self.stream.isatty() if bar is None else bar
        self.epochs = 0

    def on_train_begin(self, info):
        self.epochs = info["epochs"]
        self._step = max(info["n_batches"] // 50, 1)

    def on_batch_end(self, epoch, batch, n_batches, logs):
        if self.bar and (batch % self._step == 0 or batch == n_batches):
            done = int(30 * batch / n_batches)
            self.stream.write(f"\repoch {epoch}/{self.epochs} [{'#' * done}{'.' * (30 - done)}] "
                              f"{batch}/{n_batches}")
            self.stream.flush()

    def on_epoch_end(self, epoch, metrics):
        prefix = "\r\033[K" if self.bar else ""
        self.stream.write(prefix + format_metrics(metrics, self.epochs) + "\n")
        self.stream.flush()
