"""Data sets: Fashion-MNIST and MNIST (local IDX files first, keras.datasets second),
plus scikit-learn's 8x8 digits, tiny and always available, for tests and demos.

:func:`load` returns a :class:`Dataset`: images flattened (784 values for the
28x28 sets) as float32, a stratified, seeded validation split carved from the
training set, and the test set untouched.

Preprocessing (``scaling``), always fitted on the training split only and
then applied unchanged to validation and test:

* ``minmax`` (default): ``(x - min) / (max - min)`` with the minimum and
  maximum over all training pixels (0 and 255 here, so pixels land in [0, 1]);
* ``standard``: per pixel, ``(x - mean) / std`` (scikit-learn's
  ``StandardScaler``; constant pixels are only centred);
* ``none``: raw pixel values, 0 to 255.

``permute_pixels`` applies one fixed, seeded permutation of the pixel
positions to every split (the scrambled-pixels study): a fully connected
network should not care.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .idx import DataError, read_idx, write_idx
from .sources import ENV_VAR, DataUnavailable, RawData, load_raw

CLASS_NAMES = {
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
    "mnist": [str(d) for d in range(10)],
    "digits": [str(d) for d in range(10)],
}
NAMES = ("fashion_mnist", "mnist", "digits")


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: Optional[np.ndarray]
    y_val: Optional[np.ndarray]
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple
    class_names: list = field(default_factory=list)
    source: str = ""

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def validation(self):
        return None if self.x_val is None else (self.x_val, self.y_val)

    def __repr__(self):
        val = 0 if self.x_val is None else len(self.x_val)
        return (f"Dataset({self.name!r}, train={len(self.x_train)}, val={val}, test={len(self.x_test)}, "
                f"features={self.n_features}, source={self.source!r})")


def _digits() -> RawData:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)  # same [0, 255] range as MNIST
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.2, stratify=digits.target, random_state=0)
    return RawData(x_train, y_train, x_test, y_test, source="sklearn.datasets.load_digits")


SCALINGS = ("minmax", "standard", "none")


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(images.shape[0], -1).astype(np.float32)


def _scaler(x_train: np.ndarray, scaling: str):
    """A function applying ``scaling``, fitted on ``x_train`` only, **in place** (the arrays
    are the loader's own float32 copies; a full copy of the training set is 170 MB)."""
    if scaling == "none":
        return lambda x: x
    if scaling == "minmax":
        low, high = float(x_train.min()), float(x_train.max())
        span = 1.0 / (high - low) if high > low else 1.0

        def minmax(x):
            x -= low
            x *= span
            return x

        return minmax
    if scaling == "standard":
        from sklearn.preprocessing import StandardScaler

        fitted = StandardScaler(copy=False).fit(x_train)
        return lambda x: fitted.transform(x, copy=False).astype(np.float32, copy=False)
    raise ValueError(f"unknown scaling {scaling!r}; valid: {', '.join(SCALINGS)}")


def load(name: str, data_dir=None, val_fraction: float = 0.1, seed: int = 0, scaling: str = "minmax",
         permute_pixels: bool = False) -> Dataset:
    """Load ``name`` (one of :data:`NAMES`) and split off ``val_fraction`` of training as validation."""
    if name not in NAMES:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(NAMES)}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    raw = _digits() if name == "digits" else load_raw(name, data_dir)
    image_shape = tuple(raw.x_train.shape[1:])
    x_train, y_train = raw.x_train, np.asarray(raw.y_train, dtype=np.int64)
    x_val = y_val = None
    if val_fraction > 0:
        from sklearn.model_selection import train_test_split

        x_train, x_val, y_train, y_val = train_test_split(
            x_train, y_train, test_size=val_fraction, stratify=y_train, random_state=seed)
    x_train, x_test = _flat(x_train), _flat(raw.x_test)
    x_val = None if x_val is None else _flat(x_val)
    if permute_pixels:
        order = np.random.default_rng([seed, 2]).permutation(x_train.shape[1])
        x_train, x_test = x_train[:, order], x_test[:, order]
        x_val = None if x_val is None else x_val[:, order]
    scale = _scaler(x_train, scaling)
    return Dataset(name, scale(x_train), y_train, None if x_val is None else scale(x_val), y_val, scale(x_test),
                   np.asarray(raw.y_test, dtype=np.int64), image_shape, CLASS_NAMES[name], raw.source)


__all__ = ["SCALINGS", "Dataset", "DataError", "DataUnavailable", "ENV_VAR", "NAMES", "CLASS_NAMES", "load", "read_idx",
           "write_idx"]
