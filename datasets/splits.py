"""Splitting a training set: one hold-out validation split, or k folds.

Both return index arrays into the training set and, for classification,
stratify by class (each part keeps the class proportions), using
scikit-learn's splitters (``train_test_split``, ``StratifiedKFold``,
``KFold``) with shuffling seeded by ``seed``.
"""

from __future__ import annotations

import math

import numpy as np


def holdout(y: np.ndarray, fraction: float, seed: int, stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(train_indices, validation_indices)`` with ``fraction`` of the samples held out."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the validation fraction must be in (0, 1), got {fraction}")
    if stratify:
        n_classes, n_val = len(np.unique(y)), math.ceil(fraction * len(y))  # scikit-learn rounds the test part up
        if n_val < n_classes or len(y) - n_val < n_classes:
            raise ValueError(
                f"a validation fraction of {fraction:g} holds out {n_val} of {len(y)} examples; a "
                f"stratified split needs at least one of each of the {n_classes} classes on both sides"
            )
    return train_test_split(np.arange(len(y)), test_size=fraction, stratify=y if stratify else None, random_state=seed)


def kfold(y: np.ndarray, k: int, seed: int, stratify: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` pairs ``(train_indices, validation_indices)``; every sample is validated exactly once."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(y), 1)), y if stratify else None))
