"""Metrics by task, computed in one place and nowhere else.

An accumulator takes batches of raw network outputs ``z`` and targets and
gives the metrics over everything it saw, so the training loop (per batch)
and evaluation (in large chunks) share it:

* classification: ``accuracy``, the fraction of samples whose largest
  output is the true class (``argmax`` of the logits equals ``argmax`` of
  the softmax probabilities);
* regression, over all ``n`` samples and ``k`` outputs, with ``e = z - y``:
  ``rmse = sqrt(sum e^2 / (n k))``, ``mae = sum |e| / (n k)``, and
  ``r2 = 1 - SSE_j / SST_j`` per output column ``j`` (``SST_j = sum_n
  (y_nj - mean_j)^2``), averaged over the columns with equal weights, as
  scikit-learn's ``r2_score`` does by default. Sums are kept in float64.

:data:`PRIMARY` names each task's headline metric and whether larger is
better: what "best epoch", early stopping and sweeps look at by default.
"""

from __future__ import annotations

import math

import numpy as np

PRIMARY = {"classification": ("accuracy", "max"), "regression": ("rmse", "min")}


class ClassificationMetrics:
    names = ("accuracy",)

    def __init__(self):
        self.correct = 0
        self.n = 0

    def update(self, z: np.ndarray, y: np.ndarray) -> None:
        self.correct += int(np.count_nonzero(z.argmax(axis=1) == y))
        self.n += y.shape[0]

    def result(self) -> dict:
        return {"accuracy": self.correct / max(self.n, 1)}


class RegressionMetrics:
    names = ("rmse", "mae", "r2")

    def __init__(self):
        self.n = 0
        self.sse = self.sae = 0.0
        self.sum_sq_by_column = self.sum_y = self.sum_y2 = 0.0

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

    def result(self) -> dict:
        if self.n == 0:
            return {"rmse": math.nan, "mae": math.nan, "r2": math.nan}
        size = self.n * np.size(self.sum_y)
        total = self.sum_y2 - np.square(self.sum_y) / self.n
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(total > 0, 1.0 - self.sum_sq_by_column / total, np.nan)
        return {"rmse": math.sqrt(self.sse / size), "mae": self.sae / size, "r2": float(np.mean(r2))}


ACCUMULATORS = {"classification": ClassificationMetrics, "regression": RegressionMetrics}


def for_task(task: str):
    """A fresh accumulator for ``task``."""
    try:
        return ACCUMULATORS[task]()
    except KeyError:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(ACCUMULATORS)}") from None
