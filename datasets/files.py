"""Data sets from the user's own files: ``-d PATH.csv --target COLUMN`` and ``-d PATH.npz``.

A **CSV** file has a header row. ``--target`` names the column to predict; every other column is a
feature: a column whose every present cell is a number is numeric, any other is categorical (text).
Cells are stripped of surrounding blanks; a cell that is empty or one of :data:`MISSING` (``?`` as in
the UCI Adult census, ``NA``, ``NaN`` ...) is missing. Features are encoded by
:class:`datasets.tables.TableEncoding` (median imputation and one-hot encoding, fitted on the
training split). Rows whose target is missing are dropped, and said so.

An **NPZ** file (loaded with ``allow_pickle=False``) holds ``x`` and ``y``, optionally ``x_test``
and ``y_test``, and optionally ``class_names``. ``x`` is ``N x F`` (tabular), ``N x H x W`` or
``N x H x W x C`` (images: 8-bit or float; ``C = 1`` is dropped).

**The task** (``--task auto``) is classification for a text target or one with at most
:data:`MAX_CLASSES` distinct integer values (or an NPZ with ``class_names``), regression otherwise;
``--task classification|regression`` overrides it. Class names are the target's values, sorted
(numerically for numbers).

**The test set** is the file's own (``x_test``/``y_test``) or, without one, a fixed 80/20 split of the
file (seed :data:`TEST_SEED`, whatever ``--seed`` is, so that every run and ``evaluate.py`` test on the
same rows; stratified for classes), scikit-learn's ``train_test_split`` as :func:`datasets.splits.holdout`
makes it. ``--val_fraction`` is carved from the rest, as for the built-in sets.

A file that cannot be used raises :class:`DataFileError`: one line that names the file and the
problem (the CLI exits with 2).
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nn.files import NPZ_READ_ERRORS
from nn.tasks import Task

SUFFIXES = (".csv", ".npz")
TASKS = ("auto", "classification", "regression")
MISSING = frozenset({"", "?", "NA", "N/A", "NaN", "nan", "NULL", "null", "None"})
MAX_CLASSES = 20
FLOAT32_MAX = float(np.finfo(np.float32).max)
"""The largest number a network's float32 input or target can hold (3.4e38)."""
TEST_FRACTION = 0.2
TEST_SEED = 0


class DataFileError(ValueError):
    """A data file that cannot be used: the message names the file and the problem."""


def fits_float32(value: object) -> bool:
    """A number (not a bool, not NaN) that the networks' float32 arithmetic can take: at most
    :data:`FLOAT32_MAX` in size."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= FLOAT32_MAX


def is_data_file(name: str) -> bool:
    """Whether ``-d`` names a file (by its suffix) rather than a registered data set."""
    return str(name).lower().endswith(SUFFIXES)


def short_name(name: str) -> str:
    """The file's name, reduced to letters, digits, ``-``, ``_`` and ``.``: for run names (never a path)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(str(name)).name).strip(".-") or "data"


@dataclass
class FileData:
    """A file's contents before any fitting. ``x`` is an array of stripped strings for a CSV
    (``columns`` names its columns, ``numeric`` says which are numbers) and a numeric array for an
    NPZ; ``labels`` are class ids (classification, into ``class_names``) or float targets."""

    path: str
    task: str
    x: np.ndarray
    labels: np.ndarray
    x_test: np.ndarray | None
    labels_test: np.ndarray | None
    class_names: tuple[str, ...]
    columns: tuple[str, ...] | None = None
    numeric: tuple[bool, ...] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_table(self) -> bool:
        return self.columns is not None

    def require_numbers(self, columns: Iterable[str]) -> None:
        """Each of the CSV ``columns`` holds numbers (or missing cells), as a model trained on numbers there
        needs; a :class:`DataFileError` naming the column, the line and the first cell that is text."""
        assert self.columns is not None and self.numeric is not None
        for name in columns:
            if name in self.columns and not self.numeric[self.columns.index(name)]:
                line, cell = first_cell(self.path, name, lambda value: value not in MISSING and _number(value) is None)
                raise DataFileError(
                    f"{self.path}: column {name!r} holds {cell!r} (line {line}); the model takes numbers there"
                )

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
        """``(x_train, y_train, x_test, y_test, how)``: the file's own test arrays, or the fixed 80/20 split."""
        if self.x_test is not None and self.labels_test is not None:
            return self.x, self.labels, self.x_test, self.labels_test, "its own test arrays"
        from .splits import holdout

        try:
            train, test = holdout(self.labels, TEST_FRACTION, TEST_SEED, stratify=Task(self.task).classifies)
        except ValueError as error:
            raise DataFileError(f"{self.path}: too few rows for a test split: {error}") from None
        how = f"a fixed {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} split"
        return self.x[train], self.labels[train], self.x[test], self.labels[test], how


def read(path: str, target: str | None = None, task: str = "auto") -> FileData:
    """The file at ``path`` (cached while the file is unchanged: the task is asked for several times)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except OSError as error:
        raise DataFileError(f"{path}: cannot be read ({error.strerror})") from None
    if not Path(path).is_file():
        raise DataFileError(f"{path}: not a file")
    return _read(str(path), stat.st_mtime_ns, stat.st_size, target, task)


@functools.lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int, size: int, target: str | None, task: str) -> FileData:
    if task not in TASKS:
        raise DataFileError(f"{path}: unknown task {task!r} (one of {', '.join(TASKS)})")
    if path.lower().endswith(".csv"):
        return _read_csv(path, target, task)
    if target is not None:
        raise DataFileError(f"{path}: --target names a CSV column; an NPZ file's targets are its array y")
    return _read_npz(path, task)


# CSV ------------------------------------------------------------------------------------------


def _read_csv(path: str, target: str | None, task: str) -> FileData:
    header, table = _csv_table(path)
    if target is None:
        raise DataFileError(f"{path}: say which column to predict with --target (columns: {', '.join(header)})")
    if target not in header:
        raise DataFileError(f"{path}: --target {target!r} is not a column (columns: {', '.join(header)})")
    t = header.index(target)
    present = ~is_missing(table[:, t])
    notes = []
    if not present.all():
        notes.append(f"{path}: {int((~present).sum())} rows without a {target!r} value dropped")
        table = table[present]
    if len(table) == 0:
        raise DataFileError(f"{path}: no row has a {target!r} value")
    features = [name for name in header if name != target]
    if not features:
        raise DataFileError(f"{path}: no column besides the target {target!r}")
    x = np.delete(table, t, axis=1)
    parsed = [numbers(x[:, j]) for j in range(x.shape[1])] if x.dtype.kind == "U" else list(x.T)
    numeric = tuple(column is not None for column in parsed)
    if all(numeric) and x.dtype.kind == "U":  # one float64 array, NaN where missing
        x = np.column_stack([column for column in parsed if column is not None])
    for name, column in zip(features, parsed):
        if column is not None:
            _check_range(path, name, column)
    target_values = numbers(table[:, t])
    values: np.ndarray = table[:, t] if target_values is None else target_values
    task = _task(path, values, task, target=repr(target))
    if task == "regression":
        _check_range(path, target, values)
    labels, class_names = _labels(path, values, task)
    return FileData(path, task, x, labels, None, None, class_names, tuple(features), numeric, notes)


def _csv_table(path: str) -> tuple[list[str], np.ndarray]:
    """The header and the cells: float64 when every cell is a number (NumPy's ``loadtxt``, fast), or
    stripped strings (Python's ``csv``, for text, missing cells and the errors of a malformed file)."""
    fast = _numeric_csv(path)
    if fast is not None:
        return fast
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            first = next((row for row in reader if any(cell.strip() for cell in row)), None)
            if first is None:
                raise DataFileError(f"{path}: the file is empty")
            header = [name.strip() for name in first]
            if len(set(header)) != len(header) or "" in header:
                raise DataFileError(f"{path}: the header row needs a distinct, non-empty name for every column")
            rows = [row for row in reader if any(cell.strip() for cell in row)]  # blank lines carry nothing
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as error:
        raise DataFileError(f"{path}: not a readable CSV file ({error})") from None
    if not rows:
        raise DataFileError(f"{path}: the file has a header row and no data")
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise DataFileError(
                f"{path}: row {line} has {len(row)} cells; the header has {len(header)} columns (ragged rows)"
            )
    cells = np.array(rows, dtype=str)
    del rows
    try:
        return header, cells.astype(np.float64)  # every cell a number: parsed at once
    except ValueError:
        return header, np.strings.strip(cells)


def _numeric_csv(path: str) -> tuple[list[str], np.ndarray] | None:
    """A CSV whose every cell below its header (its first line) is a number, read by ``np.loadtxt`` in C
    (MNIST as CSV, 110 MB: 1 s instead of 13); ``None`` for any other file."""
    import warnings

    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = [name.strip() for name in next(csv.reader(handle), [])]
        if not header or "" in header or len(set(header)) != len(header):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": the general path says so
            values = np.loadtxt(
                path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2, quotechar='"', encoding="utf-8-sig"
            )
    except (ValueError, UnicodeDecodeError, csv.Error):
        return None
    if values.shape[0] == 0 or values.shape[1] != len(header):
        return None
    return header, values


def _check_range(path: str, name: str, column: np.ndarray) -> None:
    """A numeric column's values fit in float32, the network's numbers (inf and 1e308 do not: they would
    end as inf, NaN and a warning); a :class:`DataFileError` naming the column and the line otherwise."""
    if np.any(np.abs(column) > FLOAT32_MAX):  # NaN (a missing cell) compares False
        line, cell = first_cell(path, name, lambda value: abs(_number(value) or 0.0) > FLOAT32_MAX)
        raise DataFileError(
            f"{path}: column {name!r} holds {cell} (line {line}), beyond float32's range (±{FLOAT32_MAX:.1e})"
        )


def _number(cell: str) -> float | None:
    """A present cell's number; ``None`` for a missing cell or text."""
    if cell in MISSING:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def first_cell(path: str, column: str, wrong: Callable[[str], bool]) -> tuple[int, str]:
    """``(line number, cell)`` of the first row of the CSV file ``path`` whose (stripped) ``column`` cell is
    ``wrong``, for an error's message: the file is read again, only then. ``(0, "?")`` if none is."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next((row for row in reader if any(cell.strip() for cell in row)), [])
        j = [name.strip() for name in header].index(column)
        for row in reader:
            if len(row) > j and wrong(row[j].strip()):
                return reader.line_num, row[j].strip()
    return 0, "?"


def is_missing(cells: np.ndarray) -> np.ndarray:
    """True where a cell (a stripped string, or a number: NaN) is missing."""
    if cells.dtype.kind == "f":
        return np.isnan(cells)
    return np.isin(cells, list(MISSING))


def numbers(column: np.ndarray) -> np.ndarray | None:
    """A column of strings as float64, NaN where missing; ``None`` if a present cell is not a number."""
    if column.dtype.kind == "f":
        return column.astype(np.float64)
    try:
        return column.astype(np.float64)  # NumPy parses the whole column at once: the common case
    except ValueError:
        pass
    missing = is_missing(column)
    out = np.full(column.shape, np.nan)
    try:
        out[~missing] = column[~missing].astype(np.float64)
    except ValueError:
        return None
    return out


# NPZ ------------------------------------------------------------------------------------------


def _read_npz(path: str, task: str) -> FileData:
    arrays = _load_npz(path)
    _check_npz(path, arrays)
    x, y = arrays["x"], arrays["y"]
    if x.ndim == 4 and x.shape[3] == 1:
        x = x[..., 0]
    x_test, y_test = arrays.get("x_test"), arrays.get("y_test")
    if x_test is not None:
        if x_test.ndim == 4 and x_test.shape[3] == 1:
            x_test = x_test[..., 0]
        if x_test.shape[1:] != x.shape[1:]:
            raise DataFileError(f"{path}: x_test's rows have shape {x_test.shape[1:]}, x's have {x.shape[1:]}")
    names = arrays.get("class_names")
    if names is not None and task == "auto":
        task = "classification"
    both = y if y_test is None else np.concatenate([y.reshape(len(y), -1), y_test.reshape(len(y_test), -1)])
    values = both if both.dtype.kind in "US" else both.astype(np.float64)
    if values.ndim > 1 and values.shape[1] == 1:
        values = values[:, 0]
    task = _task(path, values, task, target="y")
    if task == "classification" and values.ndim > 1:
        raise DataFileError(f"{path}: y has shape {y.shape}; class labels are one per row")
    if names is not None:
        labels, class_names = _named_labels(path, values, names)
    else:
        labels, class_names = _labels(path, values, task)
    n = len(y)
    return FileData(path, task, x, labels[:n], x_test, None if y_test is None else labels[n:], class_names, notes=[])


def _load_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of the archive, read without pickle; :class:`DataFileError` if it cannot be read."""
    with open(path, "rb") as handle:
        if handle.read(4) != b"PK\x03\x04":  # NumPy would try to unpickle anything that is not a zip
            raise DataFileError(f"{path}: not a readable .npz file (not a zip archive of .npy arrays)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataFileError(
                f"{path}: holds object arrays, which are not loaded (allow_pickle=False); save numbers or strings"
            ) from None
        raise DataFileError(f"{path}: not a readable .npz file ({error})") from None
    except NPZ_READ_ERRORS as error:  # a truncated archive with a valid header among them
        raise DataFileError(f"{path}: not a readable .npz file ({error})") from None


def _check_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    """``x`` and ``y`` (and ``x_test`` with ``y_test``, if either) are there, row for row, non-empty and
    finite, ``x`` of numbers and of rank 2 to 4; :class:`DataFileError` naming the first problem."""
    missing = [key for key in ("x", "y") if key not in arrays]
    if missing:
        raise DataFileError(
            f"{path}: needs arrays x and y (found: {', '.join(sorted(arrays)) or 'none'}; "
            f"missing: {', '.join(missing)})"
        )
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataFileError(f"{path}: has one of x_test and y_test without the other")
    parts = [("x", "y")] + ([("x_test", "y_test")] if "x_test" in arrays else [])
    for x_key, y_key in parts:
        x, y = arrays[x_key], arrays[y_key]
        if len(x) != len(y):
            raise DataFileError(f"{path}: {x_key} has {len(x)} rows but {y_key} has {len(y)}")
        if len(x) == 0:
            raise DataFileError(f"{path}: {x_key} is empty")
        if x.dtype.kind not in "biuf":
            raise DataFileError(f"{path}: {x_key} holds {x.dtype} values; it must hold numbers")
        for key, values in ((x_key, x), (y_key, y)):
            if values.dtype.kind in "fc" and not np.all(np.abs(values) <= FLOAT32_MAX):  # NaN, inf, 1e308
                raise DataFileError(
                    f"{path}: {key} holds NaN or infinite values, or values beyond float32's range (±{FLOAT32_MAX:.1e})"
                )
        if x.ndim not in (2, 3, 4):
            raise DataFileError(f"{path}: {x_key} has shape {x.shape}; expected N x F, N x H x W or N x H x W x C")


def _named_labels(path: str, values: np.ndarray, names: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels that index ``class_names`` (an NPZ's own): integers in ``[0, len(class_names))``."""
    class_names = tuple(str(name) for name in np.asarray(names).reshape(-1))
    if values.dtype.kind in "US" or not np.all(values == np.round(values)):
        raise DataFileError(f"{path}: with class_names, y must hold class indices (integers)")
    labels = values.astype(np.int64)
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise DataFileError(
            f"{path}: y holds labels {labels.min()}..{labels.max()}, but class_names has {len(class_names)} names"
        )
    if len(np.unique(labels)) < 2:
        raise DataFileError(f"{path}: y holds a single class; classification needs at least two")
    return labels, class_names


# Both -----------------------------------------------------------------------------------------


def _task(path: str, values: np.ndarray, task: str, target: str) -> str:
    """The task the target supports (see the module's docstring); ``task`` given explicitly is checked."""
    text = values.dtype.kind in "USO"
    if task == "regression" and text:
        raise DataFileError(f"{path}: --task regression needs a numeric target; {target} holds text")
    if task != "auto":
        return task
    if text:
        return "classification"
    if values.ndim == 1 and np.all(values == np.round(values)) and len(np.unique(values)) <= MAX_CLASSES:
        return "classification"
    return "regression"


def _labels(path: str, values: np.ndarray, task: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class ids and class names (the distinct values, sorted), or the float targets and no names."""
    if task == "regression":
        return values.astype(np.float32), ()
    classes, labels = np.unique(values, return_inverse=True)
    if len(classes) < 2:
        raise DataFileError(f"{path}: the target holds a single class ({classes[0]}); classification needs two")
    if classes.dtype.kind == "f":
        names = tuple(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in classes)
    else:
        names = tuple(str(v) for v in classes)
    return labels.reshape(-1).astype(np.int64), names
