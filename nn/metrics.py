"""Metrics by task, computed in one place and nowhere else.

An accumulator takes batches of raw network outputs ``z`` and targets and
gives the metrics over everything it saw, so the training loop (per batch)
and evaluation (in large chunks) share it:

* classification: ``accuracy``, the fraction of samples whose largest
  output is the true class (``argmax`` of the logits equals ``argmax`` of
  the softmax probabilities; one output column is a sigmoid unit's logit
  ``z``, read as the two class logits ``[0, z]``: class 1 iff ``z > 0``,
  :func:`nn.losses.predicted_classes`);
* regression, over all ``n`` samples and ``k`` outputs, with ``e = z - y``:
  ``rmse = sqrt(sum e^2 / (n k))``, ``mae = sum |e| / (n k)``, and
  ``r2 = 1 - SSE_j / SST_j`` per output column ``j`` (``SST_j = sum_n
  (y_nj - mean_j)^2``), averaged over the columns with equal weights, as
  scikit-learn's ``r2_score`` does by default. Sums are kept in float64.

Whole-array functions give the same metrics from labels or values, and the
per-class ones (NumPy only: importing scikit-learn costs about a second):
:func:`confusion_counts`, :func:`precision_recall_f1` (scikit-learn's
``precision_recall_fscore_support`` with ``zero_division=0``, bit for bit),
:func:`macro_f1`, :func:`accuracy`, :func:`rmse`, :func:`mae`, :func:`r2`.

:func:`score_split` predicts a split once, in evaluation mode and in chunks,
and computes everything from those outputs into a :class:`SplitScores`: the
record that reports, summaries and figures read, so nothing predicts twice.

:data:`PRIMARY` names each task's headline metric and whether larger is
better: what "best epoch", early stopping and sweeps look at by default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from . import losses
from .tasks import Task

if TYPE_CHECKING:
    from .model import Sequential

PRIMARY = {task: (task.primary_metric, task.goal) for task in Task}


class Accumulator:
    """Metrics over batches: ``update(z, y)`` per batch, ``result()`` over all of them."""

    names: tuple[str, ...] = ()

    def update(self, z: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def result(self) -> dict[str, float]:
        raise NotImplementedError


class ClassificationMetrics(Accumulator):
    names = ("accuracy",)

    def __init__(self) -> None:
        self.correct = 0
        self.n = 0

    def update(self, z: np.ndarray, y: np.ndarray) -> None:
        self.correct += int(np.count_nonzero(losses.predicted_classes(z) == y))
        self.n += y.shape[0]

    def result(self) -> dict[str, float]:
        return {"accuracy": self.correct / max(self.n, 1)}


class RegressionMetrics(Accumulator):
    names = ("rmse", "mae", "r2")

    def __init__(self) -> None:
        self.n = 0
        self.sse = self.sae = 0.0
        self.sum_sq_by_column: float | np.ndarray = 0.0
        self.sum_y: float | np.ndarray = 0.0
        self.sum_y2: float | np.ndarray = 0.0

    def update(self, z: np.ndarray, y: np.ndarray) -> None:
        y = y.reshape(z.shape).astype(np.float64, copy=False)
        error = z - y
        squared = np.square(error, dtype=np.float64)
        self.sse += float(squared.sum())
        self.sae += float(np.abs(error).sum(dtype=np.float64))
        self.sum_sq_by_column = self.sum_sq_by_column + squared.sum(axis=0)
        self.sum_y = self.sum_y + y.sum(axis=0)
        self.sum_y2 = self.sum_y2 + np.square(y).sum(axis=0)
        self.n += z.shape[0]

    def result(self) -> dict[str, float]:
        if self.n == 0:
            return {"rmse": math.nan, "mae": math.nan, "r2": math.nan}
        size = self.n * np.size(self.sum_y)
        total = self.sum_y2 - np.square(self.sum_y) / self.n
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(total > 0, 1.0 - self.sum_sq_by_column / total, np.nan)
        return {"rmse": math.sqrt(self.sse / size), "mae": self.sae / size, "r2": float(np.mean(r2))}


ACCUMULATORS: dict[str, type[Accumulator]] = {
    Task.CLASSIFICATION: ClassificationMetrics,
    Task.REGRESSION: RegressionMetrics,
}


def for_task(task: str) -> Accumulator:
    """A fresh accumulator for ``task``."""
    try:
        return ACCUMULATORS[task]()
    except KeyError:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(ACCUMULATORS)}") from None


# -- classification, from labels ------------------------------------------------------------
def _labels(values: ArrayLike, what: str, n_classes: int) -> np.ndarray:
    labels = np.asarray(values)
    if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.size == 0):
        raise ValueError(f"{what} labels must be a vector of integer class ids, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{what} labels must lie in [0, {n_classes}), got {labels.min()}..{labels.max()}")
    return labels.astype(np.int64, copy=False)


def confusion_counts(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> np.ndarray:
    """``counts[i, j]``: how many samples of true class ``i`` were predicted as ``j`` (int64,
    ``n_classes x n_classes``, rows are true classes: scikit-learn's ``confusion_matrix`` with
    ``labels=range(n_classes)``). Classes absent from both keep their row and column of zeros."""
    if n_classes < 1:
        raise ValueError(f"need at least one class, got n_classes={n_classes}")
    true, predicted = _labels(y_true, "true", n_classes), _labels(y_pred, "predicted", n_classes)
    if true.shape != predicted.shape:
        raise ValueError(f"{true.size} true labels but {predicted.size} predicted ones")
    flat = np.bincount(true * n_classes + predicted, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` in float64, 0 where the denominator is 0 (``zero_division=0``)."""
    zero = denominator == 0
    safe = np.asarray(denominator, dtype=np.float64).copy()
    safe[zero] = 1.0
    result = np.asarray(numerator, dtype=np.float64) / safe
    result[zero] = 0.0
    return result


def precision_recall_f1(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per class, from a :func:`confusion_counts` matrix: ``(precision, recall, f1, support)``.

    With ``tp`` the diagonal, ``predicted`` the column sums and ``support`` the row sums:
    ``precision = tp / predicted``, ``recall = tp / support`` and ``f1 = 2 tp / (support + predicted)``
    (the harmonic mean of the two, written as scikit-learn computes it), each 0 where its
    denominator is 0 (scikit-learn's ``zero_division=0``): a class never predicted has precision 0,
    a class absent from the data recall 0. ``support`` stays int64; the rest are float64.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"a confusion matrix is square, got shape {counts.shape}")
    tp = np.diagonal(counts)
    predicted, support = counts.sum(axis=0), counts.sum(axis=1)
    precision = _divide(tp, predicted)
    recall = _divide(tp, support)
    f1 = _divide(2.0 * tp.astype(np.float64), support.astype(np.float64) + predicted.astype(np.float64))
    return precision, recall, f1, support.astype(np.int64, copy=False)


def macro_f1(counts: np.ndarray) -> float:
    """The unweighted mean of the per-class F1 over every class of ``counts``, those absent from
    the data and the predictions included (with F1 0): scikit-learn's ``f1_score(average="macro",
    labels=range(n_classes), zero_division=0)``."""
    return float(np.mean(precision_recall_f1(counts)[2]))


def log_loss(y_true: ArrayLike, probabilities: ArrayLike) -> float:
    """Mean negative log-likelihood of the true classes, ``-(1/N) Σ_i log p_i[y_i]`` (scikit-learn's
    ``log_loss``), for probabilities that are not a model's softmax (an ensemble's mean); a probability of
    0 counts as 1e-300, so one sure mistake gives a large finite loss, not inf."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = _labels(y_true, "true", p.shape[1])
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None))))


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The fraction of predicted labels equal to the true ones (0 for no samples, as the accumulator)."""
    true, predicted = np.asarray(y_true), np.asarray(y_pred)
    if true.shape != predicted.shape:
        raise ValueError(f"{true.size} true labels but {predicted.size} predicted ones")
    return int(np.count_nonzero(true == predicted)) / max(true.size, 1)


# -- regression, from values ----------------------------------------------------------------
def _columns(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 ``n x k`` (a vector is one column); ``ValueError`` if they do not match."""

    def columns(values: ArrayLike) -> np.ndarray:
        array = np.asarray(values, dtype=np.float64)
        return array.reshape(array.shape[0], math.prod(array.shape[1:])) if array.ndim > 1 else array.reshape(-1, 1)

    true, predicted = columns(y_true), columns(y_pred)
    if true.shape != predicted.shape:
        raise ValueError(f"targets of shape {np.shape(y_true)} but predictions of shape {np.shape(y_pred)}")
    return true, predicted


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``sqrt(sum e^2 / (n k))`` over all values: the square root of scikit-learn's
    ``mean_squared_error`` (nan for no samples)."""
    true, predicted = _columns(y_true, y_pred)
    return math.sqrt(float(np.mean(np.square(predicted - true)))) if true.size else math.nan


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``sum |e| / (n k)``: scikit-learn's ``mean_absolute_error`` (nan for no samples)."""
    true, predicted = _columns(y_true, y_pred)
    return float(np.mean(np.abs(predicted - true))) if true.size else math.nan


def r2(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """``1 - SSE_j / SST_j`` per output column, averaged with equal weights: scikit-learn's
    ``r2_score`` with its defaults, edge cases included: a constant column scores 1 if predicted
    exactly, else 0, and fewer than two samples give nan. (The accumulator, which streams over
    chunks, gives nan for a constant column.)"""
    true, predicted = _columns(y_true, y_pred)
    if true.shape[0] < 2:
        return math.nan
    sse = np.square(true - predicted).sum(axis=0)
    sst = np.square(true - true.mean(axis=0)).sum(axis=0)
    scores = np.ones(sst.shape)
    fitted = sst != 0
    scores[fitted] = 1.0 - sse[fitted] / sst[fitted]
    scores[~fitted & (sse != 0)] = 0.0
    return float(np.mean(scores))


# -- one split, predicted once --------------------------------------------------------------
def as_loss(loss: losses.Loss | str) -> losses.Loss:
    """A :class:`nn.losses.Loss` from itself or its name."""
    return losses.get(loss) if isinstance(loss, str) else loss


def evaluate_in_chunks(
    model: Sequential,
    loss: losses.Loss,
    x: ArrayLike,
    y: ArrayLike,
    batch_size: int | None = None,
    keep_outputs: bool = False,
) -> tuple[float, Accumulator, np.ndarray | None]:
    """One pass over a data set in evaluation mode and chunks of ``batch_size`` rows (default
    ``model.eval_batch_size``): ``(mean data loss, the task's accumulator fed chunk by chunk,
    the raw outputs if keep_outputs else None)``. The mean loss is the chunks' mean losses
    weighted by their sizes, summed in chunk order: what :func:`nn.evaluate` has always reported."""
    x, y = model.as_input(x), np.asarray(y)
    tracker = for_task(loss.task)
    total = 0.0
    batch_size = batch_size or model.eval_batch_size
    kept: np.ndarray | None = None
    for i in range(0, x.shape[0], batch_size):
        outputs, targets = model.forward(x[i : i + batch_size]), y[i : i + batch_size]
        if keep_outputs:
            if kept is None:
                kept = np.empty((x.shape[0], *outputs.shape[1:]), dtype=outputs.dtype)
            kept[i : i + outputs.shape[0]] = outputs
        value, _ = loss.value_and_grad(outputs, targets, need_grad=False)
        total += value * targets.shape[0]
        tracker.update(outputs, targets)
    if keep_outputs and kept is None:
        kept = np.empty((0, *model.output_shape(x.shape[1:])), dtype=model.dtype)
    return total / max(x.shape[0], 1), tracker, kept


@dataclass(frozen=True, eq=False)
class SplitScores:
    """Every score of one split (``train``, ``val`` or ``test``) from one prediction pass.

    ``metrics``: classification ``accuracy`` and ``macro_f1``; regression ``rmse``, ``mae``, ``r2``.
    ``outputs`` are the network's raw outputs (logits, scores or values), kept so that callers
    (mistake tables, figures) never predict again; for classification, one column per class (a
    sigmoid unit's logit ``z`` as the class logits ``[0, z]``, :func:`nn.losses.class_logits`, so
    their softmax is ``[1 - p, p]`` and their arg-max the prediction, as for any classifier).
    Classification also has the ``confusion`` counts (rows true, columns predicted) and
    ``per_class``: class name -> ``precision``, ``recall``, ``f1``, ``support``.
    """

    split: str
    task: str
    loss: float
    metrics: dict[str, float]
    outputs: np.ndarray
    y: np.ndarray
    confusion: np.ndarray | None = None
    per_class: dict[str, dict[str, float]] | None = None

    @property
    def predictions(self) -> np.ndarray:
        """Predicted class ids (the arg-max of the outputs) for classification, the outputs for regression."""
        return losses.predicted_classes(self.outputs) if Task(self.task).classifies else self.outputs

    def flat(self, prefix: str | None = None) -> dict[str, float]:
        """One flat dict for summaries and loggers, keys prefixed by ``prefix`` (default: the split)
        and ``_``: ``test_loss``, ``test_accuracy``, ``test_macro_f1``, then ``test_precision/<class>``,
        ``test_recall/<class>``, ``test_f1/<class>`` per class; for regression ``test_loss``,
        ``test_rmse``, ``test_mae``, ``test_r2``. ``prefix=""`` gives the bare names."""
        prefix = self.split if prefix is None else prefix
        start = f"{prefix}_" if prefix else ""
        flat = {f"{start}loss": self.loss, **{f"{start}{key}": value for key, value in self.metrics.items()}}
        for name, scores in (self.per_class or {}).items():
            for key in ("precision", "recall", "f1"):
                flat[f"{start}{key}/{name}"] = scores[key]
        return flat


def score_split(
    model: Sequential,
    loss: losses.Loss | str,
    x: ArrayLike,
    y: ArrayLike,
    split: str,
    class_names: Sequence[str] | None = None,
    batch_size: int | None = None,
) -> SplitScores:
    """Predict ``x`` once (evaluation mode, chunks as :func:`nn.evaluate`) and score it against
    ``y``. The loss and the accumulator's metrics are bit for bit those of :func:`nn.evaluate`;
    for classification the confusion counts, per-class scores (named by ``class_names``, default
    ``"0"``, ``"1"``, ...) and macro F1 come from the same outputs, read as class logits (one per
    class: a sigmoid unit's ``z`` becomes ``[0, z]``)."""
    loss = as_loss(loss)
    value, tracker, outputs = evaluate_in_chunks(model, loss, x, y, batch_size, keep_outputs=True)
    assert outputs is not None  # keep_outputs=True
    targets = np.asarray(y)
    scores = tracker.result()
    if not loss.task.classifies:
        return SplitScores(split, loss.task, value, scores, outputs, targets)
    outputs = losses.class_logits(outputs)
    n_classes = outputs.shape[1]
    names = [str(k) for k in range(n_classes)] if class_names is None else [str(name) for name in class_names]
    if len(names) != n_classes:
        raise ValueError(f"{len(names)} class names for {n_classes} outputs")
    counts = confusion_counts(targets, losses.predicted_classes(outputs), n_classes)
    precision, recall, f1, support = precision_recall_f1(counts)
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": float(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support)
    }
    metrics = {**scores, "macro_f1": float(np.mean(f1))}
    return SplitScores(split, loss.task, value, metrics, outputs, targets, counts, per_class)
