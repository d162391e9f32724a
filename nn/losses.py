"""Losses: each says what it consumes and for which task.

A :class:`Loss` takes the network's raw outputs ``z`` (one row per sample)
and the targets ``y`` and returns the mean loss over the batch as a Python
float and, when asked, ``dL/dz``. Its metadata says

* ``task``: ``classification`` (targets are integer class ids, shape ``N``)
  or ``regression`` (targets are real values, shape ``N x k`` like ``z``;
  a vector is read as one column);
* ``output``: what ``z`` is fed through: ``softmax`` (the loss owns the
  softmax, so the network's last layer is linear and :meth:`Loss.predict`
  gives probabilities), ``sigmoid`` (two classes, ONE output unit: ``z`` is
  the logit of class 1, the loss owns the sigmoid), ``scores`` (class
  scores, the largest wins) or ``linear`` (``z`` is the prediction itself).
  :meth:`Loss.units` says how many output units a data set needs.

Conventions, with ``p = softmax(z)``, ``Y`` the one-hot targets, ``N`` the
batch size:

* ``cross_entropy`` (classification, softmax): ``L = -(1/N) sum_n log p[n, y_n]``,
  computed as ``logsumexp(z_n) - z[n, y_n]`` so it is finite for any finite
  logits, even when a probability underflows to exactly 0 or rounds to 1.
  Gradient (softmax fused with the loss): ``dL/dz = (p - Y) / N``. That short
  form holds for softmax + cross-entropy only (as for sigmoid + binary
  cross-entropy); it is not used for the squared errors.
* ``mean_squared_error`` (classification, softmax; the assignment's):
  ``L = (1/N) sum_n sum_c (p[n, c] - Y[n, c])^2`` (summed over classes,
  averaged over samples, no factor 1/2). Gradient through the softmax
  Jacobian ``dp_i/dz_j = p_i (delta_ij - p_j)``: with ``g = dL/dp = 2 (p - Y) / N``,
  ``dL/dz = p * (g - sum_c g_c p_c)``.
* ``perceptron`` (classification, scores): the multi-class perceptron criterion
  ``L = (1/N) sum_n max(0, max_{j != y} z[n, j] - z[n, y])`` (equal to
  ``max(0, max_j z_j - z_y)``). Subgradient, with ``j*`` the best-scoring wrong
  class: ``+1/N`` at ``j*`` and ``-1/N`` at ``y`` when ``z[j*] >= z[y]``, else 0.
  At a tie the updating subgradient is taken, so a zero-initialised perceptron
  learns. With SGD, batch 1 and learning rate 1 this is Rosenblatt's rule:
  ``w_y += x, w_j* -= x`` (and the biases by 1) on every mistake.
* ``binary_cross_entropy`` (classification, sigmoid; two classes, one output
  unit): with ``p = sigmoid(z) = 1 / (1 + exp(-z))`` the probability of class 1
  and ``y`` in {0, 1}, ``L = -(1/N) sum_n [y_n log p_n + (1 - y_n) log(1 - p_n)]``,
  computed from the logit as ``log(1 + exp(-|z|)) + max(z, 0) - y z`` (no
  overflow, no ``log 0``: finite for any finite logit). Gradient (sigmoid fused
  with the loss): ``dL/dz = (p - y) / N``. It is the softmax cross-entropy of
  the two class logits ``[0, z]`` (``softmax([0, z]) = [1 - p, p]``), which is
  how the metrics see its outputs (:func:`class_logits`): class 1 iff ``z > 0``.
* ``squared_error`` (regression, linear): ``L = (1/N) sum_n sum_k (z[n, k] - y[n, k])^2``,
  the same convention without the softmax; ``dL/dz = 2 (z - y) / N``. For one
  output it is the usual mean squared error, whose square root is the RMSE.

:func:`class_logits` gives any classification outputs as per-class logits
(the sigmoid's one column as two) and :func:`predicted_classes` their class
ids: what the metrics, confusion matrices and saved-model ensembles read.

:func:`for_task` resolves the name a user typed for the data set's task: on
a regression data set ``mean_squared_error`` means ``squared_error``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .registry import Registry
from .tasks import Task

TASKS = tuple(Task)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so ``exp`` never overflows."""
    shifted = z - z.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` elementwise, as ``1 / (1 + e)`` for ``z >= 0`` and ``e / (1 + e)`` below, with
    ``e = exp(-|z|)`` in ``(0, 1]``: no overflow for any logit, and ``z``'s dtype kept."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def class_logits(z: np.ndarray) -> np.ndarray:
    """Classification outputs (``N x K``) as per-class logits: one column, the logit ``z`` of a sigmoid
    output unit (``binary_cross_entropy``), becomes the two columns ``[0, z]``, whose softmax is
    ``[1 - sigmoid(z), sigmoid(z)]`` and whose arg-max is class 1 iff ``z > 0``; two or more columns
    (softmax logits, perceptron scores) are returned as they are (the same array)."""
    if z.ndim != 2 or z.shape[1] != 1:
        return z
    logits = np.zeros((z.shape[0], 2), dtype=z.dtype)
    logits[:, 1] = z[:, 0]
    return logits


def class_logits_gradient(grad: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``dL/dz`` from ``grad = dL/d class_logits(z)``: for one column ``d[0, z]/dz = [0, 1]``, so the
    second column of ``grad``; ``grad`` itself otherwise."""
    return np.ascontiguousarray(grad[:, 1:]) if z.ndim == 2 and z.shape[1] == 1 else grad


def predicted_classes(z: np.ndarray) -> np.ndarray:
    """Class ids from classification outputs: the arg-max of :func:`class_logits` (``z > 0`` for one
    sigmoid unit, ties going to class 0 as ``argmax`` sends them to the first class)."""
    if z.ndim == 2 and z.shape[1] == 1:
        return (z[:, 0] > 0).astype(np.int64)
    return z.argmax(axis=1)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values, dtype=np.float64))


def cross_entropy(
    z: np.ndarray, y: np.ndarray, need_grad: bool = True, smoothing: float = 0.0
) -> tuple[float, np.ndarray | None]:
    """Softmax cross-entropy. Returns ``(loss, dL/dz or None)``.

    With label ``smoothing`` ``e`` the target is ``T = (1 - e) Y + e / K`` (``K`` classes; Szegedy et
    al. 2016): ``L = (1/N) sum_n [logsumexp(z_n) - sum_c T[n, c] z[n, c]]`` and ``dL/dz = (p - T) / N``.
    """
    rows = np.arange(z.shape[0])
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1)
    if smoothing:
        k = z.shape[1]
        target_score = (1.0 - smoothing) * shifted[rows, y] + (smoothing / k) * shifted.sum(axis=1)
    else:
        target_score = shifted[rows, y]
    loss = _mean(np.log(total) - target_score)
    if not need_grad:
        return loss, None
    exp /= total[:, None]  # exp is now p
    if smoothing:
        exp -= smoothing / k
        exp[rows, y] -= 1.0 - smoothing
    else:
        exp[rows, y] -= 1.0
    exp *= 1.0 / z.shape[0]
    return loss, exp


def with_label_smoothing(loss: Loss, smoothing: float) -> Loss:
    """``loss`` (cross-entropy only) with label smoothing ``smoothing`` in ``[0, 1)``."""
    if not smoothing:
        return loss
    if loss.value_and_grad is not cross_entropy:
        raise ValueError(f"label smoothing applies to cross_entropy, not {loss.name}")
    if not 0.0 < smoothing < 1.0:
        raise ValueError(f"label smoothing must be in [0, 1), got {smoothing}")
    return dataclasses.replace(loss, value_and_grad=functools.partial(cross_entropy, smoothing=float(smoothing)))


def mean_squared_error(z: np.ndarray, y: np.ndarray, need_grad: bool = True) -> tuple[float, np.ndarray | None]:
    """Squared error between softmax probabilities and one-hot targets (see the module docstring)."""
    rows = np.arange(z.shape[0])
    p = softmax(z)
    diff = p.copy()
    diff[rows, y] -= 1.0  # p - Y
    loss = float(np.sum(np.square(diff, dtype=np.float64)) / z.shape[0])
    if not need_grad:
        return loss, None
    g = diff
    g *= 2.0 / z.shape[0]  # dL/dp
    inner = np.sum(g * p, axis=1, keepdims=True)
    g -= inner
    g *= p
    return loss, g


def perceptron(z: np.ndarray, y: np.ndarray, need_grad: bool = True) -> tuple[float, np.ndarray | None]:
    """The multi-class perceptron criterion (see the module docstring)."""
    rows = np.arange(z.shape[0])
    true = z[rows, y]
    others = z.astype(np.float64, copy=True)
    others[rows, y] = -np.inf
    rival = others.argmax(axis=1)
    margin = others[rows, rival] - true
    loss = float(np.mean(np.maximum(margin, 0.0)))
    if not need_grad:
        return loss, None
    grad = np.zeros_like(z)
    wrong = margin >= 0.0
    grad[rows[wrong], rival[wrong]] = 1.0 / z.shape[0]
    grad[rows[wrong], y[wrong]] = -1.0 / z.shape[0]
    return loss, grad


def binary_cross_entropy(z: np.ndarray, y: np.ndarray, need_grad: bool = True) -> tuple[float, np.ndarray | None]:
    """Sigmoid + binary cross-entropy of one output unit (``z``: ``N x 1`` logits, ``y``: class ids 0/1).

    ``L = (1/N) sum_n [log(1 + exp(-|z_n|)) + max(z_n, 0) - y_n z_n]``, which equals
    ``-(1/N) sum_n [y_n log p_n + (1 - y_n) log(1 - p_n)]`` with ``p = sigmoid(z)`` (for ``z >= 0``:
    ``-log p = log(1 + e^-z)`` and ``-log(1 - p) = z + log(1 + e^-z)``; symmetrically below), summed in
    float64; ``dL/dz = (p - y) / N`` in ``z``'s dtype.
    """
    if z.ndim != 2 or z.shape[1] != 1:
        raise ValueError(f"binary_cross_entropy takes one output unit (N x 1 logits), got outputs of shape {z.shape}")
    logit = z[:, 0].astype(np.float64)
    target = np.asarray(y).reshape(-1)
    loss = _mean(np.log1p(np.exp(-np.abs(logit))) + np.maximum(logit, 0.0) - target * logit)
    if not need_grad:
        return loss, None
    grad = sigmoid(z)
    grad -= target.astype(z.dtype)[:, None]
    grad *= z.dtype.type(1.0 / z.shape[0])
    return loss, grad


def squared_error(z: np.ndarray, y: np.ndarray, need_grad: bool = True) -> tuple[float, np.ndarray | None]:
    """Squared error of a linear output against real targets (see the module docstring)."""
    diff = z - y.reshape(z.shape)
    loss = float(np.sum(np.square(diff, dtype=np.float64)) / z.shape[0])
    if not need_grad:
        return loss, None
    diff *= 2.0 / z.shape[0]
    return loss, diff


@dataclass(frozen=True)
class Loss:
    name: str
    task: Task  # given as its name too ("classification"): kept as a Task
    output: str
    value_and_grad: Callable[..., tuple[float, np.ndarray | None]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", Task(self.task))

    def value_and_gradient(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """``(L, dL/dz)``: :attr:`value_and_grad` with the gradient, which is then never ``None``."""
        value, grad = self.value_and_grad(z, y)
        if grad is None:
            raise RuntimeError(f"{self.name} returned no gradient")
        return value, grad

    def units(self, n: int) -> int:
        """Output units of the network for a data set of ``n`` classes (or ``n`` regression targets):
        ``n``; for a sigmoid output one unit, which needs ``n == 2`` (``ValueError`` otherwise)."""
        if self.output != "sigmoid":
            return n
        if n != 2:
            raise ValueError(
                f"{self.name} is for two classes (one sigmoid output unit), not {n}; use cross_entropy for more"
            )
        return 1

    def predict(self, z: np.ndarray) -> np.ndarray:
        """Class probabilities (softmax output; ``[1 - p, p]`` of a sigmoid unit, ``N x 2``), or the scores /
        predicted values themselves."""
        if self.output == "sigmoid":
            return softmax(class_logits(z))
        return softmax(z) if self.output == "softmax" else z

    def check_targets(self, y: np.ndarray, n_outputs: int | None = None) -> None:
        """``ValueError`` if ``y`` is not what this loss consumes (never a silent cast); with
        ``n_outputs``, also if the class ids or the number of values do not fit the outputs. A sigmoid
        output takes class ids 0 and 1 (and has one output unit)."""
        y = np.asarray(y)
        if self.task.classifies:
            if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"{self.name} takes integer class ids (a vector), got {y.dtype} of shape {y.shape}")
            if self.output == "sigmoid" and n_outputs not in (None, 1):
                raise ValueError(f"{self.name} has one output unit, not {n_outputs}")
            classes = 2 if self.output == "sigmoid" else n_outputs
            if classes is not None and y.size and (y.min() < 0 or y.max() >= classes):
                raise ValueError(f"{self.name}: class ids must lie in [0, {classes}), got {y.min()}..{y.max()}")
        elif y.ndim > 2 or not np.issubdtype(y.dtype, np.floating):
            raise ValueError(f"{self.name} takes real targets (N or N x k floats), got {y.dtype} of shape {y.shape}")
        elif n_outputs is not None and y.size // max(y.shape[0], 1) != n_outputs:
            raise ValueError(
                f"{self.name}: {y.size // max(y.shape[0], 1)} target values per sample for {n_outputs} outputs"
            )

    def __repr__(self) -> str:
        return f"Loss({self.name!r}, {self.task}, {self.output} output)"


LOSSES = Registry("loss")
for _loss in (
    Loss("cross_entropy", Task.CLASSIFICATION, "softmax", cross_entropy),
    Loss("mean_squared_error", Task.CLASSIFICATION, "softmax", mean_squared_error),
    Loss("perceptron", Task.CLASSIFICATION, "scores", perceptron),
    Loss("binary_cross_entropy", Task.CLASSIFICATION, "sigmoid", binary_cross_entropy),
    Loss("squared_error", Task.REGRESSION, "linear", squared_error),
):
    LOSSES.register(_loss.name, _loss)
# The name a user types -> the loss it means on a task where its own task differs.
TASK_ALIASES = {("mean_squared_error", "regression"): "squared_error"}

get = LOSSES.get


def names_for(task: str) -> list[str]:
    """The names a user may type for ``task`` (registered losses of that task and aliases)."""
    return [name for name in LOSSES if LOSSES[name].task == task] + [
        alias for (alias, aliased_task) in TASK_ALIASES if aliased_task == task
    ]


def for_task(name: str, task: str) -> Loss:
    """The loss ``name`` means on a ``task`` data set; ``ValueError`` if it does not fit the task."""
    canonical = LOSSES.canonical(name)
    loss = LOSSES[TASK_ALIASES.get((canonical, task), canonical)]
    if loss.task != task:
        raise ValueError(
            f"loss {canonical!r} is for {loss.task}, but the data set is a {task} task; "
            f"use one of: {', '.join(names_for(task))}"
        )
    return loss
