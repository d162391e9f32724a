"""Callbacks: what :func:`nn.fit` calls, and the ones the core provides.

A callback raising :class:`StopTraining` from ``on_epoch_end`` ends training
after that epoch (every other callback still sees it), keeping the history.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .layers.activation import ActivationLayer

if TYPE_CHECKING:
    from .model import Sequential


class StopTraining(Exception):
    """Raised by a callback to end training after the current epoch, keeping the history."""


class Callback:
    """Hooks called by :func:`nn.fit`. Override what you need; all are optional."""

    def on_train_begin(self, info: dict[str, Any]) -> None: ...

    def on_epoch_begin(self, epoch: int, n_batches: int) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, n_batches: int, logs: dict[str, float]) -> None:
        """After the update of mini-batch ``batch`` (1-based); ``logs`` has its ``loss`` (data loss)
        and ``objective`` (with the penalty), measured before the update."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None: ...

    def on_train_end(self, history: list[dict[str, Any]]) -> None: ...


def _better(value: float, best: float | None, mode: str) -> bool:
    return best is None or (value > best if mode == "max" else value < best)


class BestWeights(Callback):
    """Keeps a copy of the model from the epoch with the best ``monitor`` value: its
    parameters and its layer state (batch norm's running statistics, which must match
    the weights they were accumulated with).

    ``mode`` is ``"max"`` for accuracies, ``"min"`` for losses and errors.
    :meth:`restore` copies them back into the model.
    """

    def __init__(self, model: Sequential, monitor: str = "val_accuracy", mode: str = "max") -> None:
        self.model, self.monitor, self.mode = model, monitor, mode
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.weights: np.ndarray | None = None
        self.layer_state: dict[str, np.ndarray] = {}

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        value = metrics.get(self.monitor)
        if value is None or not math.isfinite(value) or not _better(value, self.best_value, self.mode):
            return
        self.best_value, self.best_epoch = float(value), epoch
        if self.weights is None:
            self.weights = self.model.flat_params.copy()
        else:
            np.copyto(self.weights, self.model.flat_params)
        self.layer_state = {key: array.copy() for key, array in self.model.state().items()}

    def restore(self) -> bool:
        if self.weights is None:
            return False
        np.copyto(self.model.flat_params, self.weights)
        self.model.set_state(self.layer_state)
        return True


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs, then restore the best weights.

    "Improved" means better than the best so far (``mode`` ``"max"`` for
    accuracies, ``"min"`` for losses). The best weights are restored when
    training ends, however it ends, so evaluation after ``fit`` uses them.
    ``best`` shares a :class:`BestWeights` already among the callbacks (it must
    come before this one) instead of keeping a second copy.
    """

    def __init__(
        self,
        model: Sequential,
        patience: int,
        monitor: str = "val_accuracy",
        mode: str = "max",
        best: BestWeights | None = None,
    ) -> None:
        if patience < 1:
            raise ValueError("patience must be at least 1")
        self.shared = best is not None
        self.best = best if best is not None else BestWeights(model, monitor, mode)
        self.patience = patience
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        if not self.shared:
            self.best.on_epoch_end(epoch, metrics)
        if self.best.best_epoch is not None and epoch - self.best.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            raise StopTraining

    def on_train_end(self, history: list[dict[str, Any]]) -> None:
        self.best.restore()


class LossPlateau(Callback):
    """The older stopping rule: stop once the mean training loss changes by less than
    ``min_delta`` (in absolute value) from one epoch to the next."""

    def __init__(self, min_delta: float) -> None:
        self.min_delta = float(min_delta)
        self.previous: float | None = None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        current = metrics["train_loss"]
        if self.previous is not None and abs(self.previous - current) < self.min_delta:
            self.stopped_epoch = epoch
            raise StopTraining
        self.previous = current


class GradientNorms(Callback):
    """Adds ``grad_norm/<k>`` to each epoch's metrics: the mean Frobenius norm of ``dL/dW``
    of the k-th weight matrix (k = 0 at the input) over every ``every``-th mini-batch of
    the epoch (sampling keeps the cost near 0.5 % of an epoch). Must come before the loggers."""

    def __init__(self, model: Sequential, every: int = 8) -> None:
        self.model, self.every = model, every
        self.names = model.decayed_names()
        self.sums = dict.fromkeys(self.names, 0.0)
        self.count = 0

    def on_epoch_begin(self, epoch: int, n_batches: int) -> None:
        self.sums = dict.fromkeys(self.names, 0.0)
        self.count = 0

    def on_batch_end(self, epoch: int, batch: int, n_batches: int, logs: dict[str, float]) -> None:
        if batch % self.every == 1 or self.every == 1:
            for name in self.names:
                g = self.model.grads[name].ravel()
                self.sums[name] += math.sqrt(float(np.dot(g, g)))
            self.count += 1

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        for k, name in enumerate(self.names):
            metrics[f"grad_norm/{k}"] = self.sums[name] / max(self.count, 1)


class DeadUnits(Callback):
    """Adds ``dead_relu/<k>`` to each epoch's metrics: the fraction of the k-th ReLU layer's units
    that output 0 for every one of ``x_probe`` (a fixed sample of inputs), in evaluation mode.
    A dead unit gets no gradient and never recovers. Must come before the loggers."""

    def __init__(self, model: Sequential, x_probe: ArrayLike) -> None:
        self.model, self.x_probe = model, model.as_input(x_probe)
        self.layers = [
            layer for layer in model.layers if isinstance(layer, ActivationLayer) and layer.function.name == "ReLU"
        ]

    def on_epoch_end(self, epoch: int, metrics: dict[str, Any]) -> None:
        if not self.layers:
            return
        self.model.forward(self.x_probe)
        for k, layer in enumerate(self.layers):
            metrics[f"dead_relu/{k}"] = float(np.mean(np.all(layer._a <= 0.0, axis=0)))


def distinct_units(model: Sequential, decimals: int = 5) -> list[int]:
    """For each hidden weight matrix, how many of its units (columns) differ: zero initialisation
    leaves every unit of a layer identical (1), a random one none alike (the width). Units count
    as equal when their weights agree to ``decimals`` digits relative to the largest weight (the
    matrix products compute identical units with last-bit differences)."""
    counts = []
    for name in model.decayed_names()[:-1]:
        W = model.params[name].reshape(-1, model.params[name].shape[-1]).astype(np.float64)
        scale = float(np.abs(W).max()) or 1.0
        counts.append(len(np.unique(np.round(W.T / scale, decimals), axis=0)))
    return counts
