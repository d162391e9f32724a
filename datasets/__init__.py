"""Data sets, one file each in a registry (:data:`DATASETS`), or the user's own .csv/.npz file
(:mod:`datasets.files`), loaded into a :class:`Dataset`.

:func:`load` gets a data set's raw arrays (local files first, then
``keras.datasets`` for the image sets: :mod:`datasets.sources`; a user's file and its test
part), holds out a
seeded validation split (stratified for classification: :mod:`datasets.splits`) unless one is given
(``val_data``: a file of its own; or an NPZ's ``x_val``/``y_val``: then nothing is held out),
flattens images to vectors (784 values for 28x28) as float32 and applies the
preprocessing fitted on the training split only (:mod:`datasets.preprocessing`).
The test set is never used to fit or choose anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from nn.registry import import_submodules
from nn.tasks import Task

from . import files
from .base import DATASETS, DataDir, DatasetInfo, RawData
from .files import DataFileError, FileData, read_validation, short_name
from .idx import DataError, read_idx, write_idx
from .images import COLORS, folder_info, is_image_folder, read_folder
from .preprocessing import SCALINGS, Preprocessing
from .sources import ENV_VAR, DataUnavailable
from .splits import holdout, holdout_source, kfold
from .tables import TableEncoding

LIBRARY = ("base", "cache", "files", "idx", "images", "preprocessing", "sources", "splits", "tables")  # not data sets
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
    val_source: str = ""  # where the validation split came from ("held out 10% of train (stratified, seed 0)", ...)

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


def _flat(x: np.ndarray) -> np.ndarray:
    """Rows as vectors; 8-bit values stay bytes, for :meth:`Preprocessing.apply` to convert to float32 as it
    scales them (the same numbers, with one pass over the data fewer), other values float32."""
    return x.reshape(x.shape[0], -1) if x.dtype == np.uint8 else _flat_float32(x)


def _fitted(x_train: np.ndarray, scaling: str, permutation: np.ndarray | None, per_feature: bool) -> Preprocessing:
    """:meth:`Preprocessing.fit` on the training features: 8-bit values as they are for a min-max over all of
    them or none (their minimum and maximum are those of their float32 copies), as float32 for the others."""
    if x_train.dtype == np.uint8 and not (Preprocessing.global_minmax(scaling, per_feature) or scaling == "none"):
        x_train = _flat_float32(x_train)
    return Preprocessing.fit(x_train, scaling, permutation, per_feature=per_feature)


def _as_table(x: np.ndarray) -> np.ndarray:
    """A table's raw cells stay as read (strings, or float64 with NaN): its encoding turns them into features."""
    return x


def _targets(y: ArrayLike, task: str) -> np.ndarray:
    y = np.asarray(y)
    return y.astype(np.int64) if Task(task).classifies else y.reshape(len(y), -1).astype(np.float32)


def is_data_file(name: str) -> bool:
    """Whether ``-d name`` is the user's own data: a .csv/.npz file (:mod:`datasets.files`) or a folder of
    class folders of images (:mod:`datasets.images`), not a registered data set."""
    return files.is_data_file(name) or is_image_folder(name)


def read_file(
    name: str, target: str | None = None, task: str = "auto", image_size: object = None, color: str = "auto"
) -> FileData:
    """The user's .csv/.npz file (:func:`datasets.files.read`) or image folder (:func:`datasets.images.read_folder`)."""
    if is_image_folder(name):
        return read_folder(name, target, task, image_size, color)
    return files.read(name, target, task)


def describe(name: str, target: str | None = None, task: str = "auto") -> DatasetInfo:
    """What ``-d name`` is (its task, classes, description): the registry's entry, or read from the file
    (an image folder: from its listing, no image opened)."""
    if is_image_folder(name):
        return folder_info(name, target, task)
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


def _raw(
    name: str, data_dir: DataDir, target: str | None, task: str, image_size: object = None, color: str = "auto"
) -> tuple[DatasetInfo, RawData, FileData | None]:
    if (image_size is not None or color != "auto") and not is_image_folder(name):
        raise DataFileError(f"--image_size and --color are for image folders; {name} is not one")
    if not is_data_file(name):
        info = describe(name, target, task)
        return info, info.load_raw(data_dir), None
    file = read_file(name, target, task, image_size, color)
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
    val_data: str | None = None,
    image_size: object = None,
    color: str = "auto",
) -> Dataset:
    """Load the data set ``name`` (registered, a .csv/.npz file: :mod:`datasets.files`, or an image folder read
    at ``image_size`` in ``color``: :mod:`datasets.images`) and split off
    ``val_fraction`` of training as validation, or take the validation split given (:func:`_split`)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    info, raw, file = _raw(name, data_dir, target, task, image_size, color)
    if file is not None:
        files.check_trained_classes(file, use_val=val_data is None)
    image_shape = tuple(raw.x_train.shape[1:]) if raw.x_train.ndim > 2 else None
    table = file is not None and file.is_table
    flatten = _as_table if table else _flat
    x_train, y_train, x_val, y_val, val_source, val_notes = _split(
        name, raw, info, file, val_data, val_fraction, seed, target
    )
    x_train, x_val, x_test = flatten(x_train), None if x_val is None else flatten(x_val), flatten(raw.x_test)
    encoding, notes = None, list(file.notes) if file else []
    if table:
        assert file is not None
        encoding, (x_train, x_val, x_test) = _encoded(name, file, (x_train, x_val, x_test), notes)
    if file is not None:
        what = f"{info.n_classes} classes ({', '.join(info.class_names[:8])}{' ...' if info.n_classes > 8 else ''})"
        why = "inferred from the target; --task overrides" if task == "auto" else "--task"
        why = "its class folders" if is_image_folder(name) else why
        notes.append(f"{name}: {info.task} ({why}), {what if info.n_classes else 'a numeric target'}")
    permutation = np.random.default_rng([seed, 2]).permutation(x_train.shape[1]) if permute_pixels else None
    preprocessing = _fitted(x_train, scaling, permutation, per_feature=image_shape is None)
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
        (*notes, *val_notes),
        val_source,
    )


def _encoded(name: str, file: FileData, splits: tuple, notes: list[str]) -> tuple[TableEncoding, tuple]:
    """A table's encoding fitted on the training split (the first of ``splits``) and every split encoded;
    how many cells were imputed is added to ``notes``."""
    assert file.columns is not None and file.numeric is not None
    encoding = TableEncoding.fit(splits[0], file.columns, file.numeric)
    imputed = sum(encoding.count_missing(x) for x in splits if x is not None)
    if imputed:
        notes.append(
            f"{name}: {imputed:,} missing cells imputed (numbers: the training median; "
            "categories: the most frequent training value)"
        )
    return encoding, tuple(None if x is None else encoding.transform(x) for x in splits)


def _split(
    name: str,
    raw: RawData,
    info: DatasetInfo,
    file: FileData | None,
    val_data: str | None,
    val_fraction: float,
    seed: int,
    target: str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, str, list[str]]:
    """``(x_train, y_train, x_val, y_val, val_source, notes)``, rows as read: a given validation split (the file
    ``val_data``, which wins, or an NPZ's own ``x_val``/``y_val``) and every training row; or ``val_fraction``
    of the training rows held out (seeded, stratified for classes); or no validation split."""
    y_all = _targets(raw.y_train, info.task)
    given = None
    if val_data is not None:
        built_in = FileData(name, str(info.task), raw.x_train, raw.y_train, None, None, info.class_names, indexed=True)
        given, source = read_validation(str(val_data), file or built_in, target), f"given file {val_data}"
    elif file is not None and file.x_val is not None and file.labels_val is not None:
        given = FileData(name, file.task, file.x_val, file.labels_val, None, None, file.class_names)
        source = f"x_val/y_val of {name}"
    if given is not None:
        unused = val_data is not None and file is not None and file.x_val is not None
        note = (
            f"validation: {source} ({len(given.labels):,} rows); nothing held out of the training data, "
            f"--val_fraction does not apply{f'; x_val/y_val of {name} unused' if unused else ''}"
        )
        return raw.x_train, y_all, given.x, _targets(given.labels, info.task), source, [*given.notes, note]
    if val_fraction <= 0:
        return raw.x_train, y_all, None, None, holdout_source(0, seed, False), []
    try:
        train, val = holdout(y_all, val_fraction, seed, stratify=info.task.classifies)
    except ValueError as error:
        n_classes = len(np.unique(y_all)) if info.task.classifies else 1
        way = "raise it" if math.ceil(val_fraction * len(y_all)) < n_classes else "lower it"
        raise DataFileError(
            f"{name}: too few training rows for --val_fraction {val_fraction:g}: {error}; {way}, or give "
            "validation rows with --val_data"
        ) from None
    source = holdout_source(val_fraction, seed, info.task.classifies)
    return raw.x_train[train], y_all[train], raw.x_train[val], y_all[val], source, []


def names() -> list[str]:
    return DATASETS.names()


__all__ = [
    "COLORS",
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
