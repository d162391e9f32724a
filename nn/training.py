"""The training loop: epochs of mini-batches, a pluggable step, per-epoch metrics to callbacks.

Data flows one way: :func:`fit` trains, callbacks observe (W&B, local
reports, progress bars, pruning). The core never imports W&B.

The loop, per mini-batch ``(x, y)`` from :class:`Batches`::

    data_loss, outputs = step(model, loss, x, y)      # leaves dL/dθ in model.flat_grads
    penalty = model.add_penalty_grad(weight_decay, l1) # + λW, + μ sign(W) on the weights
    apply_transforms(gradient_transforms, grads)       # if any: clipping, ... (nn.gradients)
    optimizer.apply(params, grads, state, loss=data_loss + penalty)

:func:`default_step` is forward (training mode), loss, backward. A different
objective (adversarial training, an autoencoder's reconstruction) is a small
function with the same signature passed as ``step=``; the loop, the metrics,
the callbacks and the divergence checks stay the same.

Metrics reported after each epoch (a dict, also returned in the history),
with the metric names of the loss's task (:mod:`nn.metrics`):

* ``epoch`` (1-based), ``train_loss`` and ``train_<metric>`` (accuracy, or
  rmse/mae/r2): over the epoch's mini-batches, each measured on the batch's
  ``outputs`` just before its update (as Keras reports them; a separate pass
  over the training set would cost a third of an epoch). ``train_loss``
  excludes the regularisation penalty, reported apart as ``train_penalty``.
* ``val_loss`` and ``val_<metric>`` on the validation set (if given),
  measured after the epoch with the weights as they are then.
* ``seconds``: wall time of the epoch's training; ``eval_seconds``: of the
  validation pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import losses, metrics
from .callbacks import Callback, StopTraining
from .gradients import GradientTransform, apply_transforms

if TYPE_CHECKING:
    from .model import Sequential


class Optimizer(Protocol):
    """What :func:`fit` needs of an optimizer (:mod:`optimizers` provides them)."""

    def init(self, params: dict) -> dict: ...

    def apply(self, params: dict, grads: dict, state: dict, loss: float | None = None) -> None: ...


DIVERGENCE_FACTOR = 100.0
"""The epoch's running mean objective above ``DIVERGENCE_FACTOR * max(1, first objective)`` is divergence."""


class Diverged(FloatingPointError):
    """The objective blew up: not finite, or past ``DIVERGENCE_FACTOR`` times its start (see :func:`fit`)."""

    def __init__(self, epoch: int, batch: int, loss: float, bound: float | None = None) -> None:
        why = (
            f"{loss:.4g} on average, over {bound:.4g} ({DIVERGENCE_FACTOR:g}x its start)"
            if math.isfinite(loss) and bound is not None
            else f"{loss}"
        )
        super().__init__(
            f"training diverged: the loss became {why} at epoch {epoch}, batch {batch}; try a smaller learning rate"
        )
        self.epoch, self.batch, self.loss = epoch, batch, loss


class Batches:
    """Mini-batches of ``(x, y)``, one pass per iteration, in one of :data:`ORDERS`:

    * ``shuffled``: a new order every epoch from a generator seeded by ``seed``
      (its own stream, apart from the weights'), so the same seeds give
      bit-identical training;
    * ``fixed``: the data's own order, every epoch;
    * ``sorted``: by target (class by class), every epoch: pattern-mode training
      on sorted data, whose loss oscillates within an epoch.

    Inputs may have any rank (batch first); each batch is gathered into one
    preallocated buffer, so a yielded ``x`` is valid until the next one.
    """

    ORDERS = ("shuffled", "fixed", "sorted")

    def __init__(
        self,
        x: ArrayLike,
        y: ArrayLike,
        batch_size: int,
        *,
        seed: int = 0,
        order: str = "shuffled",
        dtype: DTypeLike | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if order not in self.ORDERS:
            raise ValueError(f"unknown order {order!r}; valid: {', '.join(self.ORDERS)}")
        self.x = np.ascontiguousarray(x, dtype=dtype)
        self.y = np.asarray(y)
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"{self.x.shape[0]} inputs but {self.y.shape[0]} targets")
        self.batch_size, self.order = int(batch_size), order
        self.rng = np.random.default_rng([seed, 1])
        if order == "sorted":
            self._sorted = np.argsort(self.y.reshape(len(self.y), -1)[:, 0], kind="stable")
        self._buffer = np.empty((self.batch_size, *self.x.shape[1:]), dtype=self.x.dtype)

    @property
    def n_samples(self) -> int:
        return self.x.shape[0]

    def __len__(self) -> int:
        return math.ceil(self.n_samples / self.batch_size)

    def cast(self, dtype: DTypeLike) -> None:
        if self.x.dtype != dtype:
            self.x = self.x.astype(dtype)
            self._buffer = np.empty(self._buffer.shape, dtype=dtype)  # scratch: nothing in it to convert

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = self.n_samples
        order = (
            self.rng.permutation(n)
            if self.order == "shuffled"
            else self._sorted
            if self.order == "sorted"
            else np.arange(n)
        )
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            yield np.take(self.x, index, axis=0, out=self._buffer[: index.size], mode="clip"), self.y[index]


StepFunction = Callable[..., tuple[float, np.ndarray]]
"""``step(model, loss, x, y) -> (data loss, outputs)``, leaving ``dL/dθ`` in ``model.flat_grads``."""


def default_step(model: Sequential, loss: losses.Loss, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Forward in training mode, loss, backward without the input gradient.

    Leaves ``dL/dθ`` of the data loss in ``model.flat_grads`` and returns
    ``(data_loss, outputs)``; ``outputs`` feed the training metrics.
    """
    outputs = model.forward(x, training=True)
    value, doutputs = loss.value_and_gradient(outputs, y)
    model.backward(doutputs, need_input_grad=False)
    return value, outputs


_as_loss = metrics.as_loss


def fit(
    model: Sequential,
    loss: losses.Loss | str,
    optimizer: Optimizer,
    batches: Batches,
    *,
    epochs: int,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    step: StepFunction = default_step,
    callbacks: Iterable[Callback] = (),
    weight_decay: float = 0.0,
    l1: float = 0.0,
    optimizer_state: dict | None = None,
    initial_epoch: int = 0,
    eval_batch_size: int | None = None,
    gradient_transforms: Sequence[GradientTransform] = (),
) -> list[dict[str, Any]]:
    """Train ``model`` in place on ``batches`` and return the list of per-epoch metric dicts.

    ``loss`` is a :class:`nn.losses.Loss` or its name; its task chooses the
    metrics. ``weight_decay`` and ``l1`` regularise the weights (see
    :class:`nn.Sequential`). ``gradient_transforms`` (:mod:`nn.gradients`, e.g.
    ``[clip_by_global_norm(1.0)]``) change each mini-batch's gradient, penalty
    included, in order, just before the update. ``optimizer_state`` continues from
    a saved state; otherwise a new one is made. ``initial_epoch`` (Keras' name)
    resumes after that many epochs: epochs ``initial_epoch + 1 .. epochs`` run; with
    the model, the optimizer state and the generators of ``batches`` and the model
    restored from a checkpoint (:mod:`nn.checkpoint`), the result is bit for bit
    that of an uninterrupted run.

    Raises :class:`Diverged` when the objective stops being finite or blows up
    (:meth:`_Loop.check_divergence`), or the parameters stop being finite.
    Callbacks have seen every completed epoch by then.
    """
    if epochs < 1 or not 0 <= initial_epoch <= epochs:
        raise ValueError(f"need epochs >= 1 and 0 <= initial_epoch <= epochs, got {epochs}, {initial_epoch}")
    loss = _as_loss(loss)
    loss.check_targets(batches.y, None)
    batches.cast(model.dtype)
    callbacks = list(callbacks)
    params = {"flat": model.flat_params}
    state = optimizer.init(params) if optimizer_state is None else optimizer_state
    loop = _Loop(model, loss, optimizer, params, state, step, callbacks, weight_decay, l1, tuple(gradient_transforms))
    loop.train_begin(batches, epochs, initial_epoch)
    history: list[dict[str, Any]] = []
    try:
        for epoch in range(initial_epoch + 1, epochs + 1):
            epoch_metrics = loop.run_epoch(epoch, batches)
            if validation_data is not None:
                epoch_metrics.update(_validation_metrics(model, loss, validation_data, eval_batch_size))
            history.append(epoch_metrics)
            if _end_epoch(callbacks, epoch, epoch_metrics):
                break
    except StopTraining:
        pass
    for callback in callbacks:
        callback.on_train_end(history)
    return history


@dataclass
class _Loop:
    """One call of :func:`fit`: what every mini-batch needs, and the divergence bound, set by the
    first mini-batch's objective of the call."""

    model: Sequential
    loss: losses.Loss
    optimizer: Optimizer
    params: dict[str, np.ndarray]
    state: dict
    step: StepFunction
    callbacks: list[Callback]
    weight_decay: float
    l1: float
    transforms: tuple[GradientTransform, ...]
    bound: float | None = None

    def __post_init__(self) -> None:
        self.grads = {"flat": self.model.flat_grads}
        for transform in self.transforms:
            if not callable(transform):
                raise TypeError(f"a gradient transform must be callable, got {transform!r}")

    def train_begin(self, batches: Batches, epochs: int, initial_epoch: int) -> None:
        """Tell the callbacks what the run is: sizes, epochs, the optimizer state, the loss, the batches."""
        for callback in self.callbacks:
            callback.on_train_begin(
                {
                    "n_train": batches.n_samples,
                    "n_batches": len(batches),
                    "epochs": epochs,
                    "initial_epoch": initial_epoch,
                    "optimizer_state": self.state,
                    "loss": self.loss,
                    "batches": batches,
                }
            )

    def run_epoch(self, epoch: int, batches: Batches) -> dict[str, Any]:
        """Train one pass over ``batches`` and return the epoch's training metrics (see the module's
        docstring). Raises :class:`Diverged` if the parameters are not all finite at its end."""
        n_batches = len(batches)
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, n_batches)
        started = time.perf_counter()
        loss_sum = penalty_sum = 0.0
        seen = 0
        tracker = metrics.for_task(self.loss.task)
        for batch, (xb, yb) in enumerate(batches, start=1):
            data_loss, outputs = self.step(self.model, self.loss, xb, yb)
            penalty = self.model.add_penalty_grad(self.weight_decay, self.l1)
            objective = data_loss + penalty
            self.check_divergence(
                epoch, batch, objective, (loss_sum + penalty_sum + objective * yb.shape[0]) / (seen + yb.shape[0])
            )
            seen += yb.shape[0]
            tracker.update(outputs, yb)
            if self.transforms:
                apply_transforms(self.transforms, self.model.flat_grads)
            self.optimizer.apply(self.params, self.grads, self.state, loss=objective)
            loss_sum += data_loss * yb.shape[0]
            penalty_sum += penalty * yb.shape[0]
            for callback in self.callbacks:
                callback.on_batch_end(epoch, batch, n_batches, {"loss": data_loss, "objective": objective})
        seconds = time.perf_counter() - started
        if not np.all(np.isfinite(self.model.flat_params)):
            raise Diverged(epoch, n_batches, math.nan)
        n = batches.n_samples
        return {
            "epoch": epoch,
            "train_loss": loss_sum / n,
            **{f"train_{k}": v for k, v in tracker.result().items()},
            "train_penalty": penalty_sum / n,
            "seconds": seconds,
        }

    def check_divergence(self, epoch: int, batch: int, objective: float, running: float) -> None:
        """Raise :class:`Diverged` when the mini-batch's ``objective`` is not finite, or ``running``
        (the mean objective of the epoch so far, this mini-batch included) exceeds
        ``DIVERGENCE_FACTOR * max(1, L0)`` with ``L0`` the first mini-batch's objective of this call of
        :func:`fit` (a finite blow-up: a healthy run never multiplies its starting loss by 100; the mean,
        not one mini-batch, so the noise of batch size 1 does not count)."""
        if self.bound is None:
            self.bound = DIVERGENCE_FACTOR * max(1.0, objective)
        if not (math.isfinite(objective) and running <= self.bound):
            raise Diverged(epoch, batch, running if math.isfinite(objective) else objective, self.bound)


def _validation_metrics(
    model: Sequential, loss: losses.Loss, validation_data: tuple[ArrayLike, ArrayLike], batch_size: int | None
) -> dict[str, Any]:
    """``val_<name>`` of every score of :func:`evaluate` on the validation set, and ``eval_seconds``."""
    started = time.perf_counter()
    x_val, y_val = validation_data
    scores = evaluate(model, loss, x_val, y_val, batch_size=batch_size)
    return {**{f"val_{k}": v for k, v in scores.items()}, "eval_seconds": time.perf_counter() - started}


def _end_epoch(callbacks: list[Callback], epoch: int, epoch_metrics: dict[str, Any]) -> bool:
    """Hand the epoch's metrics to every callback, even after one asks to stop; whether one did."""
    stop = False
    for callback in callbacks:
        try:
            callback.on_epoch_end(epoch, epoch_metrics)
        except StopTraining:
            stop = True
    return stop


def evaluate(
    model: Sequential, loss: losses.Loss | str, x: ArrayLike, y: ArrayLike, batch_size: int | None = None
) -> dict[str, float]:
    """Mean data loss (no penalty) and the task's metrics over a data set, in evaluation mode
    and large chunks: ``{"loss": ..., "accuracy": ...}`` or ``{"loss": ..., "rmse": ..., ...}``.
    :func:`nn.metrics.score_split` gives the same numbers and the per-class ones, and keeps the outputs."""
    value, tracker, _ = metrics.evaluate_in_chunks(model, _as_loss(loss), x, y, batch_size)
    return {"loss": value, **tracker.result()}


def objective_and_grads(
    model: Sequential,
    loss: losses.Loss | str,
    x: ArrayLike,
    y: ArrayLike,
    weight_decay: float = 0.0,
    l1: float = 0.0,
) -> tuple[float, dict[str, np.ndarray]]:
    """Objective (data loss + penalties) on one batch in training mode and its gradient:
    ``(value, grads)`` with ``grads`` a dict keyed like ``model.params`` holding copies."""
    loss = _as_loss(loss)
    value, _ = default_step(model, loss, model.as_input(x), np.asarray(y))
    value += model.add_penalty_grad(weight_decay, l1)
    return value, {name: g.copy() for name, g in model.grads.items()}


def input_gradient(
    model: Sequential, loss: losses.Loss | str, x: ArrayLike, y: ArrayLike, training: bool = False
) -> tuple[float, np.ndarray]:
    """``(L, dL/dx)`` of the data loss for a batch, in evaluation mode unless ``training``:
    what FGSM, saliency maps and layer-wise pretraining need. Parameter gradients are
    overwritten as a side effect."""
    loss = _as_loss(loss)
    outputs = model.forward(model.as_input(x), training=training)
    value, doutputs = loss.value_and_gradient(outputs, np.asarray(y))
    return value, _input_grad(model, doutputs)


def _input_grad(model: Sequential, doutputs: np.ndarray) -> np.ndarray:
    dx = model.backward(doutputs, need_input_grad=True)
    if dx is None:
        raise RuntimeError("the model returned no input gradient")
    return dx.copy()


def output_gradient(model: Sequential, x: ArrayLike, index: ArrayLike) -> np.ndarray:
    """``d outputs[n, index[n]] / d x[n]`` for each sample, in evaluation mode: the saliency of
    ``x`` for the logit of class ``index[n]`` (its absolute value is the saliency map)."""
    outputs = model.forward(model.as_input(x))
    selector = np.zeros_like(outputs)
    index = np.asarray(index)
    selector[np.arange(len(index)), index] = 1.0
    return _input_grad(model, selector)
