"""Splitting a training set: one hold-out validation split, or k folds.

Both return index arrays into the training set and, for classification,
stratify by class (each part keeps the class proportions), with shuffling
seeded by ``seed``. The hold-out split is scikit-learn's ``train_test_split``
(``ShuffleSplit`` / ``StratifiedShuffleSplit``) written out in NumPy, index
for index (``tests/test_splits.py`` compares the two), so that a plain run
does not pay the second it takes to import scikit-learn; k-fold uses
scikit-learn's ``StratifiedKFold`` / ``KFold``.

A validation split may also be given (``--val_data FILE``, or an NPZ's own ``x_val``/``y_val``):
then nothing is held out. Its labels name the training data's classes (:func:`in_classes`), and
:func:`holdout_source` / the loader say where a run's validation split came from (``val_source``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def holdout(y: np.ndarray, fraction: float, seed: int, stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(train_indices, validation_indices)`` with ``fraction`` of the samples held out (rounded up)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the validation fraction must be in (0, 1), got {fraction}")
    if stratify:
        n_classes, n_val = len(np.unique(y)), math.ceil(fraction * len(y))  # scikit-learn rounds the test part up
        if n_val < n_classes or len(y) - n_val < n_classes:
            raise ValueError(
                f"{fraction:g} of {len(y)} examples holds out {n_val}; a stratified split needs at least one of "
                f"each of the {n_classes} classes on both sides"
            )
    n = len(y)
    n_test = math.ceil(fraction * n)
    if n_test >= n:
        raise ValueError(f"{fraction:g} of {n} examples holds out {n_test}, which leaves none to train on")
    rng = np.random.RandomState(seed)  # the legacy generator: scikit-learn's check_random_state(int)
    if not stratify:
        permutation = rng.permutation(n)
        return permutation[n_test:], permutation[:n_test]
    return _stratified_holdout(np.asarray(y), n - n_test, n_test, rng)


def _stratified_holdout(y: np.ndarray, n_train: int, n_test: int, rng: np.random.RandomState):
    """scikit-learn's ``StratifiedShuffleSplit`` (one split): per class, the training and test counts
    by :func:`_approximate_mode`, each class's indices permuted and cut, both parts permuted."""
    _, y_indices = np.unique(y, return_inverse=True)
    y_indices = y_indices.reshape(-1)
    class_counts = np.bincount(y_indices)
    class_indices = np.split(np.argsort(y_indices, kind="mergesort"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i, indices in enumerate(class_indices):
        permuted = indices.take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(permuted[: n_i[i]])
        test.extend(permuted[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of ``n_draws`` to take from each class: the floor of its proportional share, the
    remainder given to the classes with the largest fractional parts, ties broken at random."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (indices,) = np.where(remainder == value)
            add_now = min(len(indices), need_to_add)
            floored[rng.choice(indices, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def kfold(y: np.ndarray, k: int, seed: int, stratify: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` pairs ``(train_indices, validation_indices)``; every sample is validated exactly once."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(y), 1)), y if stratify else None))


def holdout_source(fraction: float, seed: int, stratify: bool) -> str:
    """Where :func:`holdout`'s validation split comes from, as a run's summary says it: ``held out 10% of
    train (stratified, seed 0)``; ``none`` for a fraction of 0."""
    if fraction <= 0:
        return "none"
    return f"held out {fraction * 100:g}% of train ({'stratified, ' if stratify else ''}seed {seed})"


def in_classes(names: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    """The class ids of the labels ``names`` (strings) among the training data's ``class_names``:
    ``class_names.index(name)`` for each; a ``ValueError`` naming the labels that are not among them."""
    known = {name: k for k, name in enumerate(class_names)}
    distinct, inverse = np.unique(np.asarray(names).astype(str).reshape(-1), return_inverse=True)
    unknown = [name for name in distinct.tolist() if name not in known]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        raise ValueError(
            f"labels the training data does not have: {listed} (its classes: {', '.join(class_names[:12])}"
            f"{' ...' if len(class_names) > 12 else ''})"
        )
    return np.array([known[name] for name in distinct.tolist()], dtype=np.int64)[inverse.reshape(-1)]
