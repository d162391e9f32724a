"""Data sets, one file each in a registry (:data:`DATASETS`), loaded into a :class:`Dataset`.

:func:`load` gets a data set's raw arrays (local files first, then
``keras.datasets`` for the image sets: :mod:`datasets.sources`), holds out a
seeded validation split (stratified for classification: :mod:`datasets.splits`),
flattens images to vectors (784 values for 28x28) as float32 and applies the
preprocessing fitted on the training split only (:mod:`datasets.preprocessing`).
The test set is never used to fit or choose anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from nn.registry import import_submodules

from .base import DATASETS, DataDir, DatasetInfo, RawData
from .idx import DataError, read_idx, write_idx
from .preprocessing import SCALINGS, Preprocessing
from .sources import ENV_VAR, DataUnavailable
from .splits import holdout, kfold

import_submodules(__name__, __path__, skip=lambda name: name in ("base", "idx", "preprocessing", "sources", "splits"))


@dataclass
class Dataset:
    info: DatasetInfo
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, ...] | None
    preprocessing: Preprocessing
    source: str = ""

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def task(self) -> str:
        return self.info.task

    @property
    def class_names(self) -> list[str]:
        return list(self.info.class_names)

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return self.info.n_classes

    @property
    def n_outputs(self) -> int:
        """Output units the network needs: one per class, or one per regression target."""
        return self.n_classes if self.task == "classification" else int(np.prod(self.y_train.shape[1:]))

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(x_val, y_val)``, or ``None`` without a validation split."""
        if self.x_val is None or self.y_val is None:
            return None
        return self.x_val, self.y_val

    def __repr__(self) -> str:
        val = 0 if self.x_val is None else len(self.x_val)
        return (
            f"Dataset({self.name!r}, {self.task}, train={len(self.x_train)}, val={val}, "
            f"test={len(self.x_test)}, features={self.n_features}, source={self.source!r})"
        )


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1).astype(np.float32)


def _targets(y: ArrayLike, task: str) -> np.ndarray:
    y = np.asarray(y)
    return y.astype(np.int64) if task == "classification" else y.reshape(len(y), -1).astype(np.float32)


def load(
    name: str,
    data_dir: DataDir = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    scaling: str = "auto",
    permute_pixels: bool = False,
) -> Dataset:
    """Load the registered data set ``name`` and split off ``val_fraction`` of training as validation."""
    info = DATASETS.get(name)
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    raw = info.load_raw(data_dir)
    image_shape = tuple(raw.x_train.shape[1:]) if raw.x_train.ndim > 2 else None
    y_all = _targets(raw.y_train, info.task)
    x_val = y_val = None
    if val_fraction > 0:
        train, val = holdout(y_all, val_fraction, seed, stratify=info.task == "classification")
        x_train, y_train, x_val, y_val = _flat(raw.x_train[train]), y_all[train], _flat(raw.x_train[val]), y_all[val]
    else:
        x_train, y_train = _flat(raw.x_train), y_all
    permutation = np.random.default_rng([seed, 2]).permutation(x_train.shape[1]) if permute_pixels else None
    preprocessing = Preprocessing.fit(x_train, scaling, permutation, per_feature=image_shape is None)
    return Dataset(
        info,
        preprocessing.apply(x_train),
        y_train,
        None if x_val is None else preprocessing.apply(x_val),
        y_val,
        preprocessing.apply(_flat(raw.x_test)),
        _targets(raw.y_test, info.task),
        image_shape,
        preprocessing,
        raw.source,
    )


def names() -> list[str]:
    return DATASETS.names()


__all__ = [
    "DATASETS",
    "ENV_VAR",
    "SCALINGS",
    "DataError",
    "DataUnavailable",
    "Dataset",
    "DatasetInfo",
    "Preprocessing",
    "RawData",
    "holdout",
    "kfold",
    "load",
    "names",
    "read_idx",
    "write_idx",
]
