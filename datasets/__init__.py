"""Data sets, one file each in a registry (:data:`DATASETS`), or the user's own .csv/.npz file
(:mod:`datasets.files`), loaded into a :class:`Dataset`.

:func:`load` gets a data set's raw arrays (local files first, then
``keras.datasets`` for the image sets: :mod:`datasets.sources`; a user's file and its test
part), holds out a
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
from nn.tasks import Task

from .base import DATASETS, DataDir, DatasetInfo, RawData
from .files import DataFileError, FileData, is_data_file, short_name
from .files import read as read_file
from .idx import DataError, read_idx, write_idx
from .preprocessing import SCALINGS, Preprocessing
from .sources import ENV_VAR, DataUnavailable
from .splits import holdout, kfold
from .tables import TableEncoding

LIBRARY = ("base", "files", "idx", "preprocessing", "sources", "splits", "tables")  # not data sets
import_submodules(__name__, __path__, skip=lambda name: name in LIBRARY)


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
    notes: tuple[str, ...] = ()  # what loading decided that the user should hear (the task inferred, imputations)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def task(self) -> Task:
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
        return self.n_classes if self.task.classifies else int(np.prod(self.y_train.shape[1:]))

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


def _flat_float32(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1).astype(np.float32)


def _as_table(x: np.ndarray) -> np.ndarray:
    """A table's raw cells stay as read (strings, or float64 with NaN): its encoding turns them into features."""
    return x


def _targets(y: ArrayLike, task: str) -> np.ndarray:
    y = np.asarray(y)
    return y.astype(np.int64) if Task(task).classifies else y.reshape(len(y), -1).astype(np.float32)


def describe(name: str, target: str | None = None, task: str = "auto") -> DatasetInfo:
    """What ``-d name`` is (its task, classes, description): the registry's entry, or read from the file."""
    if is_data_file(name):
        file = read_file(name, target, task)
        return _file_info(file, "")
    info = DATASETS.get(name)
    if target is not None:
        raise DataFileError(f"--target names a column of a CSV file; {name} is a built-in data set")
    if task not in ("auto", info.task):
        raise DataFileError(f"{name} is a {info.task} data set, not {task}")
    return info


def _file_info(file: FileData, how: str) -> DatasetInfo:
    kind = "table" if file.is_table else "images" if file.x.ndim > 2 else "arrays"
    return DatasetInfo(
        file.path,
        Task(file.task),
        f"{kind} from {file.path}" + (f" (test: {how})" if how else ""),
        lambda data_dir: RawData(*file.split()[:4], source=file.path),
        file.class_names,
        eight_bit=file.x.dtype == np.uint8,
    )


def _raw(name: str, data_dir: DataDir, target: str | None, task: str) -> tuple[DatasetInfo, RawData, FileData | None]:
    if not is_data_file(name):
        info = describe(name, target, task)
        return info, info.load_raw(data_dir), None
    file = read_file(name, target, task)
    x_train, y_train, x_test, y_test, how = file.split()
    return _file_info(file, how), RawData(x_train, y_train, x_test, y_test, source=f"{name}, test: {how}"), file


def load(
    name: str,
    data_dir: DataDir = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    scaling: str = "auto",
    permute_pixels: bool = False,
    target: str | None = None,
    task: str = "auto",
) -> Dataset:
    """Load the data set ``name`` (registered, or a .csv/.npz file: :mod:`datasets.files`) and split off
    ``val_fraction`` of training as validation."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    info, raw, file = _raw(name, data_dir, target, task)
    image_shape = tuple(raw.x_train.shape[1:]) if raw.x_train.ndim > 2 else None
    table = file is not None and file.is_table
    flatten = _as_table if table else _flat_float32
    y_all = _targets(raw.y_train, info.task)
    x_val = y_val = None
    if val_fraction > 0:
        train, val = holdout(y_all, val_fraction, seed, stratify=info.task.classifies)
        x_train, x_val = flatten(raw.x_train[train]), flatten(raw.x_train[val])
        y_train, y_val = y_all[train], y_all[val]
    else:
        x_train, y_train = flatten(raw.x_train), y_all
    x_test = flatten(raw.x_test)
    encoding, notes = None, list(file.notes) if file else []
    if table:
        assert file is not None and file.columns is not None and file.numeric is not None
        encoding = TableEncoding.fit(x_train, file.columns, file.numeric)
        imputed = sum(encoding.count_missing(x) for x in (x_train, x_val, x_test) if x is not None)
        if imputed:
            notes.append(
                f"{name}: {imputed:,} missing cells imputed (numbers: the training median; "
                "categories: the most frequent training value)"
            )
        x_train, x_test = encoding.transform(x_train), encoding.transform(x_test)
        x_val = None if x_val is None else encoding.transform(x_val)
    if file is not None:
        what = f"{info.n_classes} classes ({', '.join(info.class_names[:8])}{' ...' if info.n_classes > 8 else ''})"
        why = "inferred from the target; --task overrides" if task == "auto" else "--task"
        notes.append(f"{name}: {info.task} ({why}), {what if info.n_classes else 'a numeric target'}")
    permutation = np.random.default_rng([seed, 2]).permutation(x_train.shape[1]) if permute_pixels else None
    preprocessing = Preprocessing.fit(x_train, scaling, permutation, per_feature=image_shape is None)
    preprocessing.encoding = encoding
    return Dataset(
        info,
        preprocessing.apply(x_train),
        y_train,
        None if x_val is None else preprocessing.apply(x_val),
        y_val,
        preprocessing.apply(x_test),
        _targets(raw.y_test, info.task),
        image_shape,
        preprocessing,
        raw.source,
        tuple(notes),
    )


def names() -> list[str]:
    return DATASETS.names()


__all__ = [
    "DATASETS",
    "ENV_VAR",
    "SCALINGS",
    "DataError",
    "DataFileError",
    "DataUnavailable",
    "Dataset",
    "DatasetInfo",
    "Preprocessing",
    "RawData",
    "TableEncoding",
    "describe",
    "holdout",
    "is_data_file",
    "kfold",
    "load",
    "names",
    "read_file",
    "read_idx",
    "short_name",
    "write_idx",
]
