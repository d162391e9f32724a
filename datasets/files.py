"""Data sets from the user's own files: ``-d PATH.csv --target COLUMN`` and ``-d PATH.npz``.

A **CSV** file has a header row. ``--target`` names the column to predict; every other column is a
feature: a column whose every present cell is a number is numeric, any other is categorical (text).
Cells are stripped of surrounding blanks; a cell that is empty or one of :data:`MISSING` (``?`` as in
the UCI Adult census, ``NA``, ``NaN`` ...) is missing. Features are encoded by
:class:`datasets.tables.TableEncoding` (median imputation and one-hot encoding, fitted on the
training split). Rows whose target is missing are dropped, and said so.

An **NPZ** file (loaded with ``allow_pickle=False``) holds ``x`` and ``y``, optionally ``x_test``
and ``y_test``, ``x_val`` and ``y_val`` (its validation split), and ``class_names``. ``x`` is
``N x F`` (tabular), ``N x H x W`` or ``N x H x W x C`` (images: 8-bit or float; ``C = 1`` is dropped).

**The task** (``--task auto``) is classification for a text target or one with at most
:data:`MAX_CLASSES` distinct integer values (or an NPZ with ``class_names``), regression otherwise;
``--task classification|regression`` overrides it. Class names are the target's values, sorted
(numerically for numbers).

**The test set** is the file's own (``x_test``/``y_test``) or, without one, a fixed 80/20 split of the
file (seed :data:`TEST_SEED`, whatever ``--seed`` is, so that every run and ``evaluate.py`` test on the
same rows; stratified for classes), scikit-learn's ``train_test_split`` as :func:`datasets.splits.holdout`
makes it. ``--val_fraction`` is carved from the rest, as for the built-in sets, unless validation is
given: an NPZ's own ``x_val``/``y_val``, or a file of its own (``--val_data``, :func:`read_validation`).

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
# pandas' default missing-value markers (Excel's #N/A among them) and the UCI sets' "?"; not everyday words
# such as "none" or "-", which may be a category ("none", "mild", "severe")
MISSING = frozenset(
    {"", "?", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None"}
    | {"#N/A", "#N/A N/A", "#NA", "<NA>", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN"}
)
MAX_CLASSES = 20
CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: an image's last axis
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
    x_val: np.ndarray | None = None  # an NPZ's own validation split (x_val, y_val)
    labels_val: np.ndarray | None = None
    indexed: bool = False  # labels index class names of their own (an NPZ's class_names, a built-in set)

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
            raise DataFileError(
                f"{self.path}: too few rows for the fixed test split ({TEST_FRACTION:.0%} of the rows): {error}"
            ) from None
        how = f"a fixed {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} split"
        return self.x[train], self.labels[train], self.x[test], self.labels[test], how


def read(path: str, target: str | None = None, task: str = "auto") -> FileData:
    """The file at ``path`` (cached while the file is unchanged: the task is asked for several times)."""
    stat = _stat(path)
    return _read(str(path), stat.st_mtime_ns, stat.st_size, target, task)


def _stat(path: str) -> os.stat_result:
    """``os.stat`` of a regular file (the key of the readers' caches), or :class:`DataFileError`."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except OSError as error:
        raise DataFileError(f"{path}: cannot be read ({error.strerror})") from None
    if not Path(path).is_file():
        raise DataFileError(f"{path}: not a file")
    return stat


@functools.lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int, size: int, target: str | None, task: str) -> FileData:
    if task not in TASKS:
        raise DataFileError(f"{path}: unknown task {task!r} (one of {', '.join(TASKS)})")
    if path.lower().endswith(".csv"):
        return _read_csv(path, target, task)
    if target is not None:
        raise DataFileError(f"{path}: --target names a CSV column; an NPZ file's targets are its array y")
    return _read_npz(path, task)


def read_rows(path: str) -> tuple[tuple[str, ...] | None, np.ndarray]:
    """An unlabelled file's rows (``--pretrain_data``), no column singled out, nothing fitted: a CSV's
    column names and cells (float64 when every cell is a number, stripped strings otherwise), or an NPZ's
    array ``x`` (numbers, finite, rank 2 to 4, at least one row; other arrays ignored) and ``None``.
    Cached while the file is unchanged; :class:`DataFileError` naming the file and the problem."""
    if not is_data_file(path):
        raise DataFileError(f"{path}: not a .csv or .npz file")
    stat = _stat(path)
    return _read_rows(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1)
def _read_rows(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, ...] | None, np.ndarray]:
    if path.lower().endswith(".csv"):
        header, cells = _csv_table(path)
        return tuple(header), cells
    x = _load_npz(path).get("x")
    if x is None or x.dtype.kind not in "biuf" or x.ndim not in (2, 3, 4) or len(x) == 0:
        what = "no array x" if x is None else f"x of {x.dtype} values and shape {x.shape}"
        raise DataFileError(f"{path}: holds {what}; expected an array x of numbers, N x F, N x H x W or N x H x W x C")
    if x.dtype.kind == "f" and not np.all(np.abs(x) <= FLOAT32_MAX):  # NaN, inf, 1e308
        raise DataFileError(f"{path}: x holds NaN or infinite values, or values beyond float32's range")
    return None, x


# CSV ------------------------------------------------------------------------------------------


def _read_csv(path: str, target: str | None, task: str) -> FileData:
    header, table = _csv_table(path)
    if target is None:
        raise DataFileError(f"{path}: say which column to predict with --target (columns: {', '.join(header)})")
    if target not in header:
        other = next((mark for mark in ";\t|" if len(header) == 1 and mark in header[0]), None)
        hint = f"; the header looks separated by {other!r}: save the file with commas" if other else ""
        raise DataFileError(f"{path}: --target {target!r} is not a column (columns: {', '.join(header)}){hint}")
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
    notes += [
        note for j, name in enumerate(features) if not numeric[j] for note in _text_column_notes(path, name, x[:, j])
    ]
    target_values = numbers(table[:, t])
    values: np.ndarray = table[:, t] if target_values is None else target_values
    task = _task(path, values, task, target=repr(target))
    if task == "regression":
        _check_range(path, target, values)
    labels, class_names = _labels(path, values, task)
    return FileData(path, task, x, labels, None, None, class_names, tuple(features), numeric, notes)


FORMATTED = re.compile(r"[+-]?[$€£]?\s?\d[\d,]*(\.\d+)?\s?%?")
"""A number as a spreadsheet may show it: ``7,247``, ``82%``, ``$12.50``, ``3,5`` (a decimal comma)."""
SAMPLE = 5000  # distinct values looked at per column: a 100,000-row identifier costs no more than this


def _text_column_notes(path: str, name: str, cells: np.ndarray) -> list[str]:
    """What a user may not mean by a text column: one that is numbers but for a few cells, numbers as a
    spreadsheet shows them (thousands separators, %, currency, decimal commas), or an identifier (every
    value different), each one-hot encoded into a column of its own."""
    present = cells[~is_missing(cells)]
    values, counts = np.unique(present, return_counts=True)
    distinct, step = len(values), max(1, len(values) // SAMPLE)
    values, counts = values[::step], counts[::step]
    total = int(counts.sum())
    wrong = [(value, count) for value, count in zip(values.tolist(), counts.tolist()) if _number(value) is None]
    n_wrong = sum(count for _, count in wrong)
    if wrong and n_wrong * 5 <= total:  # at least four cells in five are numbers
        examples = ", ".join(repr(value) for value, _ in wrong[:3])
        return [
            f"{path}: column {name!r} is read as text categories because {n_wrong * step} of {len(present)} cells "
            f"are not numbers (e.g. {examples}); write them as numbers, or leave the cell empty if it means missing"
        ]
    formatted = sum(count for value, count in wrong if FORMATTED.fullmatch(value))
    if wrong and formatted * 5 >= total * 4:
        return [
            f"{path}: column {name!r} looks like numbers as a spreadsheet shows them (e.g. {wrong[0][0]!r}) and is "
            "read as text categories; save plain numbers: no thousands separators, % or currency signs, and a "
            "decimal point rather than a comma"
        ]
    if len(present) > 20 and distinct == len(present):
        return [
            f"{path}: column {name!r} holds a different value in every row (an identifier?): one-hot encoded, it "
            "gives a column per row that no other row shares; leave it out of the file if it names the rows"
        ]
    return []


def _csv_table(path: str, text: bool = False) -> tuple[list[str], np.ndarray]:
    """The header and the cells: float64 when every cell is a number (NumPy's ``loadtxt``, fast), or
    stripped strings (Python's ``csv``, for text, missing cells and the errors of a malformed file;
    always with ``text``)."""
    fast = None if text else _numeric_csv(path)
    if fast is not None:
        return fast
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            first = next((row for row in reader if any(cell.strip() for cell in row)), None)
            if first is None:
                raise DataFileError(f"{path}: the file is empty")
            header = [name.strip() for name in first]
            twice = sorted({name for name in header if header.count(name) > 1 and name})
            if twice or "" in header:
                which = f" ({', '.join(repr(name) for name in twice)} twice)" if twice else " (an empty one)"
                raise DataFileError(f"{path}: the header row needs a distinct, non-empty name for every column{which}")
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
        if not text:
            return header, cells.astype(np.float64)  # every cell a number: parsed at once
    except ValueError:
        pass
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
    x, y = _one_channel_dropped(arrays["x"]), arrays["y"]
    extra = {part: _rows_like(path, arrays, part, x) for part in ("test", "val") if f"x_{part}" in arrays}
    names = arrays.get("class_names")
    if names is not None and task == "auto":
        task = "classification"
    ys = [y, *(arrays[f"y_{part}"] for part in extra)]
    both = y if len(ys) == 1 else np.concatenate([part.reshape(len(part), -1) for part in ys])
    values = both if both.dtype.kind in "US" else both.astype(np.float64)
    if values.ndim > 1 and values.shape[1] == 1:
        values = values[:, 0]
    if task != "regression" and _one_hot(values):
        raise DataFileError(
            f"{path}: y is one-hot ({values.shape[0]} x {values.shape[1]}, one 1 per row); save the class ids, "
            "y.argmax(axis=1) (or give --task regression to predict the columns as numbers)"
        )
    task = _task(path, values, task, target="y")
    if task == "classification" and values.ndim > 1:
        raise DataFileError(f"{path}: y has shape {y.shape}; class labels are one per row")
    if names is not None:
        labels, class_names = _named_labels(path, values, names)
    else:
        labels, class_names = _labels(path, values, task)
    own, *parts = np.split(labels, np.cumsum([len(part) for part in ys])[:-1])
    given = dict(zip(extra, parts))
    file = FileData(path, task, x, own, extra.get("test"), given.get("test"), class_names, notes=[])
    file.x_val, file.labels_val, file.indexed = extra.get("val"), given.get("val"), names is not None
    return file


def _one_hot(values: np.ndarray) -> bool:
    """Targets that are one-hot rows (0 and 1, one 1 per row, two columns or more): class labels saved
    the way a softmax output looks, not numbers to predict."""
    if values.ndim != 2 or values.shape[1] < 2 or values.dtype.kind in "USO":
        return False
    return bool(np.isin(values, (0, 1)).all() and (values.sum(axis=1) == 1).all())


def check_trained_classes(file: FileData, use_val: bool) -> None:
    """Before training on an NPZ of classes: every class has examples in ``y``. A class that only
    ``y_test`` (or ``y_val``, when it is used) holds, or that only ``class_names`` names, could never be
    predicted; :class:`DataFileError` naming it. (Evaluating a saved model reads files without this.)"""
    if file.is_table or file.task != "classification":
        return
    trained = set(np.unique(file.labels).tolist())
    given = {"test": file.labels_test, "val": file.labels_val if use_val else None}
    for part, labels in given.items():
        unseen = [] if labels is None else sorted(set(np.unique(labels).tolist()) - trained)
        if unseen:
            names = [file.class_names[k] for k in unseen]
            raise DataFileError(f"{file.path}: y_{part} holds {_classes(names)}, which y has no example of")
    untrained = [name for k, name in enumerate(file.class_names) if k not in trained]
    if untrained:
        raise DataFileError(f"{file.path}: class_names names {_classes(untrained)}, which y has no example of")


def _classes(names: list[str]) -> str:
    return f"class{'es' if len(names) > 1 else ''} {_some(names)}"


def _one_channel_dropped(x: np.ndarray) -> np.ndarray:
    """Images ``N x H x W x 1`` as ``N x H x W``; anything else as it is."""
    return x[..., 0] if x.ndim == 4 and x.shape[3] == 1 else x


def _rows_like(path: str, arrays: dict[str, np.ndarray], part: str, x: np.ndarray) -> np.ndarray:
    """``x_<part>`` (``x_test``, ``x_val``), its channel of 1 dropped; rows shaped as ``x``'s or a
    :class:`DataFileError`."""
    rows = _one_channel_dropped(arrays[f"x_{part}"])
    if rows.shape[1:] != x.shape[1:]:
        raise DataFileError(f"{path}: x_{part}'s rows have shape {rows.shape[1:]}, x's have {x.shape[1:]}")
    return rows


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
    """``x`` and ``y`` (and ``x_test`` with ``y_test``, ``x_val`` with ``y_val``, if either) are there, row
    for row, non-empty and finite, ``x`` of numbers and of rank 2 to 4; :class:`DataFileError` naming the
    first problem."""
    missing = [key for key in ("x", "y") if key not in arrays]
    if missing:
        raise DataFileError(
            f"{path}: needs arrays x and y (found: {', '.join(sorted(arrays)) or 'none'}; "
            f"missing: {', '.join(missing)})"
        )
    for part in ("test", "val"):
        if (f"x_{part}" in arrays) != (f"y_{part}" in arrays):
            raise DataFileError(f"{path}: has one of x_{part} and y_{part} without the other")
    parts = [("x", "y")] + [(f"x_{part}", f"y_{part}") for part in ("test", "val") if f"x_{part}" in arrays]
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
        if x.ndim == 4 and x.shape[3] not in CHANNELS:
            first = f"; channels first? save np.moveaxis({x_key}, 1, -1)" if x.shape[1] in CHANNELS else ""
            raise DataFileError(
                f"{path}: {x_key} has shape {x.shape}; images are N x H x W x C, channels last, with C = 1, 3 "
                f"or 4{first}"
            )


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
    return labels.reshape(-1).astype(np.int64), value_names(classes)


def value_names(classes: np.ndarray) -> tuple[str, ...]:
    """The class names of target values: a whole number as an integer (``3``, not ``3.0``), text as it is."""
    if classes.dtype.kind == "f":
        return tuple(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in classes)
    return tuple(str(v) for v in classes)


# A validation file of its own (--val_data) ----------------------------------------------------


def read_validation(path: str, train: FileData, target: str | None = None) -> FileData:
    """The file ``path`` as the validation split of ``train`` (a data file, or a built-in set's training
    arrays with its class ids: ``indexed``), nothing fitted on it: for a table, a CSV with ``train``'s
    columns and the ``target`` column (in any order), its cells put in ``train``'s column order for the
    training rows' encoding; for arrays, an NPZ whose ``x`` rows are shaped as ``train``'s (or hold as many
    values, flat). Its labels are ``train``'s (:func:`_given_labels`). Anything else: a
    :class:`DataFileError` naming ``path``."""
    kind = ".csv with the same columns" if train.is_table else ".npz with arrays x and y"
    if not path.lower().endswith(".csv" if train.is_table else ".npz"):
        raise DataFileError(f"{path}: a validation file for {train.path} must be a {kind}")
    if not Path(path).is_file():
        raise DataFileError(f"{path}: no such file")
    return (_validation_table if train.is_table else _validation_arrays)(path, train, target)


def _validation_table(path: str, train: FileData, target: str | None) -> FileData:
    assert train.columns is not None and train.numeric is not None and target is not None
    header, table = _csv_table(path, text=not all(train.numeric))  # categories compare as text
    features = [name for name in header if name != target]
    if target not in header or set(features) != set(train.columns):
        lacking = sorted(set(train.columns) - set(features)) + ([] if target in header else [f"{target} (the target)"])
        extra = sorted(set(features) - set(train.columns))
        parts = [f"missing {_some(lacking)}"] if lacking else []
        parts += [f"unknown {_some(extra)}"] if extra else []
        raise DataFileError(f"{path}: its columns differ from the training file {train.path}'s ({'; '.join(parts)})")
    t = header.index(target)
    present = ~is_missing(table[:, t])
    if not present.any():
        raise DataFileError(f"{path}: no row has a {target!r} value")
    notes = [] if present.all() else [f"{path}: {int((~present).sum())} rows without a {target!r} value dropped"]
    table = table[present]
    cells = table[:, [header.index(name) for name in train.columns]]
    for j, name in enumerate(train.columns):
        column = numbers(cells[:, j]) if train.numeric[j] else None
        if train.numeric[j] and column is None:
            line, cell = first_cell(path, name, lambda value: value not in MISSING and _number(value) is None)
            raise DataFileError(
                f"{path}: column {name!r} holds {cell!r} (line {line}); it holds numbers in {train.path}"
            )
        if column is not None:
            _check_range(path, name, column)
    targets = numbers(table[:, t])
    if targets is not None and not Task(train.task).classifies:
        _check_range(path, target, targets)
    labels = _given_labels(path, table[:, t], train)
    return FileData(path, train.task, cells, labels, None, None, train.class_names, train.columns, train.numeric, notes)


def _some(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _validation_arrays(path: str, train: FileData, target: str | None) -> FileData:
    arrays = _load_npz(path)
    _check_npz(path, arrays)
    x, y = _one_channel_dropped(arrays["x"]), arrays["y"]
    shape = train.x.shape[1:]
    if x.shape[1:] not in (shape, (int(np.prod(shape)),)):
        raise DataFileError(f"{path}: x's rows have shape {x.shape[1:]}; {train.path} has rows of shape {shape}")
    width = 1 if Task(train.task).classifies else int(np.prod(train.labels.shape[1:]))
    if y.reshape(len(y), -1).shape[1] != width:
        raise DataFileError(
            f"{path}: y has shape {y.shape}; {train.path} has {width} target value{'s' * (width > 1)} a row"
        )
    y = y.reshape(len(y)) if width == 1 else y.reshape(len(y), -1)
    own = arrays.get("class_names")
    if own is not None and Task(train.task).classifies:  # its ids name its own classes: matched by name
        names = np.asarray(own).astype(str).reshape(-1)
        if y.dtype.kind in "USb" or not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= len(names):
            raise DataFileError(f"{path}: with class_names, y must hold class indices (0..{len(names) - 1})")
        from .splits import in_classes

        try:  # by name, never read back as numbers (class names "1", "2" are names, not ids)
            labels = in_classes(names[y.astype(np.int64)], train.class_names)
        except ValueError as error:
            raise DataFileError(f"{path}: {error}") from None
        return FileData(path, train.task, x, labels, None, None, train.class_names)
    return FileData(path, train.task, x, _given_labels(path, y, train), None, None, train.class_names)


def _given_labels(path: str, values: np.ndarray, train: FileData) -> np.ndarray:
    """A validation file's targets as ``train``'s: float values for regression; for classification, class
    ids into ``train.class_names`` matched by name (a number named as :func:`value_names` names it), or,
    where ``train``'s labels index its class names (``indexed``), numbers are those ids."""
    from .splits import in_classes

    parsed = numbers(values) if values.dtype.kind in "US" else values.astype(np.float64)
    if not Task(train.task).classifies:
        if parsed is None:
            raise DataFileError(f"{path}: the target holds text; {train.path} has a numeric target (regression)")
        return parsed.astype(np.float32)
    if parsed is not None and train.indexed:
        n = len(train.class_names)
        if not np.all(parsed == np.round(parsed)) or parsed.min() < 0 or parsed.max() >= n:
            raise DataFileError(
                f"{path}: labels {parsed.min():g}..{parsed.max():g}; {train.path} has class ids 0..{n - 1}"
            )
        return parsed.astype(np.int64)
    if parsed is None:
        names = values
    else:
        classes, inverse = np.unique(parsed, return_inverse=True)
        names = np.asarray(value_names(classes))[inverse.reshape(-1)]
    try:
        return in_classes(names, train.class_names)
    except ValueError as error:
        raise DataFileError(f"{path}: {error}") from None
