"""The training loop: epochs of shuffled mini-batches, per-epoch metrics to callbacks.

Data flows one way: ``fit`` trains, callbacks observe (W&B, local reports,
progress bars, pruning). The core never imports W&B.

Metrics reported after each epoch (a dict, also returned in the history):

* ``epoch`` (1-based), ``train_loss`` and ``train_accuracy``: the mean over
  the epoch's mini-batches of the data loss and accuracy, measured on each
  batch just before its update (as Keras reports them; a separate pass over
  the training set would cost a third of an epoch). ``train_loss`` excludes
  the L2 penalty, reported apart as ``train_penalty``.
* ``val_loss`` and ``val_accuracy`` on the validation set (if given),
  measured after the epoch with the weights as they are then.
* ``seconds``: wall time of the epoch's training; ``eval_seconds``: of the
  validation pass.
"""
from __future__ import annotations

import math
import time
from typing import Iterable, Optional

import numpy as np

from . import losses


class StopTraining(Exception):
    """Raised by a callback to end training after the current epoch, keeping the history."""


class Diverged(FloatingPointError):
    """The training objective became NaN or infinite."""

    def __init__(self, epoch: int, batch: int, loss: float):
        super().__init__(f"training diverged: the loss became {loss} at epoch {epoch}, batch {batch}; "
                         "try a smaller learning rate")
        self.epoch, self.batch, self.loss = epoch, batch, loss


class Callback:
    """Hooks called by :func:`fit`. Override what you need; all are optional."""

    def on_train_begin(self, info: dict) -> None: ...

    def on_epoch_begin(self, epoch: int, n_batches: int) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, n_batches: int) -> None: ...

    def on_epoch_end(self, epoch: int, metrics: dict) -> None: ...

    def on_train_end(self, history: list) -> None: ...


def fit(model, optimizer, x_train, y_train, *, epochs: int, batch_size: int,
        loss: str = "cross_entropy", weight_decay: float = 0.0, l1: float = 0.0, validation_data=None,
        callbacks: Iterable[Callback] = (), seed: int = 0, shuffle: bool = True,
        optimizer_state: Optional[dict] = None, eval_batch_size: int = 4096) -> list[dict]:
    """Train ``model`` in place and return the list of per-epoch metric dicts.

    ``weight_decay`` and ``l1`` regularise the weights (see :class:`nn.FeedForward`).
    ``shuffle=False`` keeps the data's order in every epoch (pattern-mode training
    on sorted data, for the study that shows what it does).
    ``seed`` fixes the order of the mini-batches (the model's own seed fixed
    its initial weights): the same seeds give bit-identical training.
    ``optimizer_state`` resumes from a saved state; otherwise a new one is made.
    Raises :class:`Diverged` when the objective stops being finite (callbacks
    have seen every completed epoch by then).
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    callbacks = list(callbacks)
    x = np.ascontiguousarray(x_train, dtype=model.dtype)
    y = np.asarray(y_train, dtype=np.intp)
    n = x.shape[0]
    n_batches = math.ceil(n / batch_size)
    loss_fn = losses.get(loss).value_and_grad
    state = optimizer.init({"flat": model.flat_params}) if optimizer_state is None else optimizer_state
    params, grads = {"flat": model.flat_params}, {"flat": model.flat_grads}
    rng = np.random.default_rng([seed, 1])  # its own stream, apart from the weights' one
    x_batch = np.empty((batch_size, x.shape[1]), dtype=model.dtype)
    history: list[dict] = []
    for callback in callbacks:
        callback.on_train_begin({"n_train": n, "n_batches": n_batches, "epochs": epochs,
                                 "optimizer_state": state})
    try:
        for epoch in range(1, epochs + 1):
            for callback in callbacks:
                callback.on_epoch_begin(epoch, n_batches)
            order = rng.permutation(n) if shuffle else np.arange(n)
            started = time.perf_counter()
            loss_sum = penalty_sum = 0.0
            correct = 0
            for batch in range(n_batches):
                index = order[batch * batch_size:(batch + 1) * batch_size]
                xb = np.take(x, index, axis=0, out=x_batch[:index.size], mode="clip")
                yb = y[index]
                data_loss, penalty, n_correct = model.train_step_grads(
                    xb, yb, weight_decay=weight_decay, loss_fn=loss_fn, l1=l1)
                objective = data_loss + penalty
                if not math.isfinite(objective):
                    raise Diverged(epoch, batch + 1, objective)
                optimizer.apply(params, grads, state, loss=objective)
                loss_sum += data_loss * index.size
                penalty_sum += penalty * index.size
                correct += n_correct
                for callback in callbacks:
                    callback.on_batch_end(epoch, batch + 1, n_batches)
            seconds = time.perf_counter() - started
            if not np.all(np.isfinite(model.flat_params)):
                raise Diverged(epoch, n_batches, math.nan)
            metrics = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": correct / n,
                       "train_penalty": penalty_sum / n, "seconds": seconds}
            if validation_data is not None:
                started = time.perf_counter()
                val_loss, val_accuracy = model.evaluate(*validation_data, loss=loss,
                                                        batch_size=eval_batch_size)
                metrics.update(val_loss=val_loss, val_accuracy=val_accuracy,
                               eval_seconds=time.perf_counter() - started)
            history.append(metrics)
            stop = False
            for callback in callbacks:  # every callback sees the epoch, even if one asks to stop
                try:
                    callback.on_epoch_end(epoch, metrics)
                except StopTraining:
                    stop = True
            if stop:
                break
    except StopTraining:
        pass
    for callback in callbacks:
        callback.on_train_end(history)
    return history


class BestWeights(Callback):
    """Keeps a copy of the model from the epoch with the best ``monitor`` value: its
    parameters and its layer state (batch norm's running statistics, which must match
    the weights they were accumulated with).

    ``mode`` is ``"max"`` for accuracies, ``"min"`` for losses. :meth:`restore`
    copies them back into the model.
    """

    def __init__(self, model, monitor: str = "val_accuracy", mode: str = "max"):
        self.model, self.monitor, self.mode = model, monitor, mode
        self.best_value: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.weights: Optional[np.ndarray] = None
        self.layer_state: dict = {}

    def on_epoch_end(self, epoch, metrics):
        value = metrics.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        better = (self.best_value is None or (value > self.best_value if self.mode == "max"
                                               else value < self.best_value))
        if better:
            self.best_value, self.best_epoch = float(value), epoch
            if self.weights is None:
                self.weights = self.model.flat_params.copy()
            else:
                np.copyto(self.weights, self.model.flat_params)
            self.layer_state = {key: array.copy() for key, array in self.model.layer_state().items()}

    def restore(self) -> bool:
        if self.weights is None:
            return False
        np.copyto(self.model.flat_params, self.weights)
        current = self.model.layer_state()
        for key, array in self.layer_state.items():
            np.copyto(current[key], array)
        return True


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs, then restore the best weights.

    "Improved" means better than the best so far (``mode`` ``"max"`` for
    accuracies, ``"min"`` for losses). The best weights are restored when
    training ends, however it ends, so evaluation after ``fit`` uses them.
    ``best`` shares a :class:`BestWeights` already among the callbacks (it must
    come before this one) instead of keeping a second copy.
    """

    def __init__(self, model, patience: int, monitor: str = "val_accuracy", mode: str = "max",
                 best: Optional[BestWeights] = None):
        if patience < 1:
            raise ValueError("patience must be at least 1")
        self.shared = best is not None
        self.best = best if best is not None else BestWeights(model, monitor, mode)
        self.patience = patience
        self.stopped_epoch: Optional[int] = None

    def on_epoch_end(self, epoch, metrics):
        if not self.shared:
            self.best.on_epoch_end(epoch, metrics)
        if self.best.best_epoch is not None and epoch - self.best.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            raise StopTraining

    def on_train_end(self, history):
        self.best.restore()


class LossPlateau(Callback):
    """The older stopping rule: stop once the mean training loss changes by less than
    ``min_delta`` (in absolute value) from one epoch to the next."""

    def __init__(self, min_delta: float):
        self.min_delta = float(min_delta)
        self.previous: Optional[float] = None
        self.stopped_epoch: Optional[int] = None

    def on_epoch_end(self, epoch, metrics):
        current = metrics["train_loss"]
        if self.previous is not None and abs(self.previous - current) < self.min_delta:
            self.stopped_epoch = epoch
            raise StopTraining
        self.previous = current


class GradientNorms(Callback):
    """Adds ``grad_norm/<block>`` to each epoch's metrics: the mean Frobenius norm of
    ``dL/dW`` of each weight matrix over every ``every``-th mini-batch of the epoch
    (sampling keeps the cost near 0.5 % of an epoch). Must come before the loggers."""

    def __init__(self, model, every: int = 8):
        self.model, self.every = model, every
        self.names = [name for name in model.grads if name.endswith(".W")]

    def on_epoch_begin(self, epoch, n_batches):
        self.sums = dict.fromkeys(self.names, 0.0)
        self.count = 0

    def on_batch_end(self, epoch, batch, n_batches):
        if batch % self.every == 1 or self.every == 1:
            for name in self.names:
                g = self.model.grads[name].ravel()
                self.sums[name] += math.sqrt(float(np.dot(g, g)))
            self.count += 1

    def on_epoch_end(self, epoch, metrics):
        for name in self.names:
            metrics[f"grad_norm/{name.split('.')[0]}"] = self.sums[name] / max(self.count, 1)
