"""The hold-out split is scikit-learn's train_test_split written out in NumPy (so a run does not pay
for importing scikit-learn): it must give the same indices, in the same order, for every seed."""

import itertools
import math

import numpy as np
import pytest

from datasets.splits import holdout


@pytest.mark.parametrize("stratify", [True, False])
def test_holdout_gives_scikit_learns_indices(stratify):
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(0)
    compared = 0
    for n, k, fraction, seed in itertools.product([50, 97, 1000], [2, 3, 10], [0.1, 0.25, 0.5], [0, 1, 7]):
        y = rng.integers(0, k, size=n)
        if k > 2:
            y[rng.integers(0, n, size=n // 4)] = 0  # unbalanced classes: ties in the rounding
        if stratify and (math.ceil(fraction * n) < k or np.bincount(y).min() < 2):
            continue  # scikit-learn refuses these, and so does holdout (with its own message)
        expected = train_test_split(
            np.arange(n), test_size=fraction, stratify=y if stratify else None, random_state=seed
        )
        train, val = holdout(y, fraction, seed, stratify=stratify)
        np.testing.assert_array_equal(train, expected[0])
        np.testing.assert_array_equal(val, expected[1])
        compared += 1
    assert compared >= 70


def test_stratified_holdout_keeps_each_class_on_both_sides():
    y = np.repeat(np.arange(3), [10, 20, 70])
    train, val = holdout(y, 0.1, seed=3)
    assert sorted(np.concatenate([train, val])) == list(range(100))
    assert np.bincount(y[val]).tolist() == [1, 2, 7]
