"""Encoding a table of mixed columns (a CSV file's cells) as numbers, fitted on the training split.

Numeric columns keep their values; a missing cell takes the column's training median. Categorical
columns are one-hot encoded over the categories seen in training (one column per category, in
sorted order); a missing cell takes the most frequent training category (ties: the smallest, as
scikit-learn breaks them) and an unseen category encodes as all zeros. The fitting is
scikit-learn's (``SimpleImputer`` and ``OneHotEncoder``; the medians NumPy's ``nanmedian``, equal to
``SimpleImputer``'s and ten times faster on wide tables); what it learns is kept as plain data (the
medians, the categories), so that a saved model carries it in its JSON metadata and applies it to a
new file without pickles. ``tests/test_files.py`` checks :meth:`TableEncoding.transform` against
scikit-learn's fitted ``ColumnTransformer``.
"""

from __future__ import annotations

import reprlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from .files import fits_float32, is_missing


@dataclass
class TableEncoding:
    """``columns[j]`` is numeric with ``fills[j]`` its median, or categorical with ``categories[j]``
    (sorted) and ``fills[j]`` its most frequent value."""

    columns: tuple[str, ...]
    numeric: tuple[bool, ...]
    fills: tuple[Any, ...]
    categories: tuple[tuple[str, ...] | None, ...]

    @classmethod
    def fit(cls, cells: np.ndarray, columns: tuple[str, ...], numeric: tuple[bool, ...]) -> TableEncoding:
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import OneHotEncoder

        fills: list[Any] = [None] * len(columns)
        categories: list[tuple[str, ...] | None] = [None] * len(columns)
        numbers = [j for j, is_number in enumerate(numeric) if is_number]
        texts = [j for j, is_number in enumerate(numeric) if not is_number]
        if numbers:
            # SimpleImputer(strategy="median", keep_empty_features=True)'s statistics (tests/test_files.py
            # compares), from NumPy's partition-based nanmedian: 0.4 s instead of 4 on MNIST as CSV
            values = _numbers(cells[:, numbers])
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: its fill is 0
                medians = np.nan_to_num(np.nanmedian(values, axis=0), nan=0.0)
            for j, median in zip(numbers, medians):
                fills[j] = float(median)
        if texts:
            text = cells[:, texts].astype(object)
            text[is_missing(cells[:, texts])] = np.nan
            imputer = SimpleImputer(strategy="most_frequent", missing_values=np.nan, keep_empty_features=True)
            filled = imputer.fit_transform(text)
            encoder = OneHotEncoder(handle_unknown="ignore").fit(filled.astype(str))
            for j, fill, seen in zip(texts, imputer.statistics_, encoder.categories_):
                fills[j] = str(fill)
                categories[j] = tuple(str(value) for value in seen)
        return cls(tuple(columns), tuple(numeric), tuple(fills), tuple(categories))

    @property
    def feature_names(self) -> list[str]:
        """The encoded columns' names: ``age``, ``workclass=Private`` ..."""
        names: list[str] = []
        for column, seen in zip(self.columns, self.categories):
            names += [column] if seen is None else [f"{column}={value}" for value in seen]
        return names

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def transform(self, cells: np.ndarray) -> np.ndarray:
        """The ``N x n_features`` float32 encoding of ``cells`` (strings, or float64 with NaN for missing
        cells when every column is numeric; columns in :attr:`columns`' order)."""
        widths = [1 if seen is None else len(seen) for seen in self.categories]
        starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(int)
        out = np.zeros((len(cells), sum(widths)), dtype=np.float32)
        numbers = [j for j, seen in enumerate(self.categories) if seen is None]
        if numbers:  # all numeric columns at once: MNIST as CSV has 784 of them
            values = _numbers(cells[:, numbers])
            fills = np.array([self.fills[j] for j in numbers], dtype=np.float64)
            out[:, starts[numbers]] = np.where(np.isnan(values), fills[None, :], values)
        for j, seen in enumerate(self.categories):
            if seen is not None:
                column = np.where(self._missing(j, cells[:, j]), self.fills[j], cells[:, j])
                out[:, starts[j] : starts[j] + len(seen)] = column[:, None] == np.asarray(seen, dtype=str)[None, :]
        return out

    def _missing(self, j: int, column: np.ndarray) -> np.ndarray:
        """Where column ``j``'s cells are missing: a category the encoding was fitted on never is (a model
        saved before that value became a missing-value marker keeps reading it as itself)."""
        seen = self.categories[j]
        return is_missing(column) if seen is None else is_missing(column) & ~np.isin(column, seen)

    def count_missing(self, cells: np.ndarray) -> int:
        return sum(int(self._missing(j, cells[:, j]).sum()) for j in range(cells.shape[1]))

    def unseen(self, cells: np.ndarray) -> dict[str, tuple[int, str]]:
        """For each categorical column, how many present cells hold a category the encoding was not
        fitted on (they encode as all zeros), with one of them: ``{column: (count, example)}``."""
        found = {}
        for j, seen in enumerate(self.categories):
            if seen is None:
                continue
            column = cells[:, j]
            new = ~np.isin(column, seen) & ~self._missing(j, column)
            if new.any():
                found[self.columns[j]] = (int(new.sum()), str(column[new][0]))
        return found

    def reorder(self, columns: tuple[str, ...] | list[str], cells: np.ndarray, where: str) -> np.ndarray:
        """``cells`` (with the named ``columns``) in this encoding's column order; a file whose columns
        differ from the ones the encoding was fitted on is a ``ValueError`` naming the difference."""
        if set(columns) != set(self.columns):
            extra, lacking = sorted(set(columns) - set(self.columns)), sorted(set(self.columns) - set(columns))
            parts = ([f"missing {', '.join(lacking)}"] if lacking else []) + (
                [f"unknown {', '.join(extra)}"] if extra else []
            )
            raise ValueError(f"{where}: its columns differ from the model's ({'; '.join(parts)})")
        index = [list(columns).index(name) for name in self.columns]
        return cells[:, index]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "numeric": list(self.numeric),
            "fills": list(self.fills),
            "categories": [None if seen is None else list(seen) for seen in self.categories],
        }

    @classmethod
    def from_dict(cls, values: Any, where: str = "encoding") -> TableEncoding:
        """The encoding :meth:`to_dict` wrote (a saved model's), checked first: anything else is a
        ``ValueError`` naming the field (``<where>.fills``)."""
        if not isinstance(values, dict):
            raise ValueError(f"{where} must be a mapping, not {reprlib.repr(values)}")
        keys = ("columns", "numeric", "fills", "categories")
        for key in keys:
            if not isinstance(values.get(key), list):
                raise ValueError(f"{where}.{key} must be a list, not {reprlib.repr(values.get(key))}")
        columns, numeric, fills, categories = (values[key] for key in keys)
        if not all(isinstance(name, str) for name in columns) or len(set(columns)) != len(columns):
            raise ValueError(f"{where}.columns must be distinct column names, not {reprlib.repr(columns)}")
        for key in keys[1:]:
            if len(values[key]) != len(columns):
                raise ValueError(f"{where}.{key} holds {len(values[key])} entries for {len(columns)} columns")
        for j, name in enumerate(columns):
            _check_column(f"{where}, column {name!r}", numeric[j], fills[j], categories[j])
        return cls(
            tuple(columns),
            tuple(numeric),
            tuple(fills),
            tuple(None if seen is None else tuple(seen) for seen in categories),
        )


def _check_column(where: str, numeric: Any, fill: Any, seen: Any) -> None:
    """A saved column: numeric with a finite number as its fill and no categories, or categorical with
    its categories (names) and one of them, or another name, as its fill."""
    if numeric is True:
        if seen is not None or not fits_float32(fill):
            raise ValueError(
                f"{where}: a numeric column takes a number as its fill (within float32's range) and no categories"
            )
    elif numeric is False:
        if not (isinstance(seen, list) and seen and all(isinstance(v, str) for v in seen) and isinstance(fill, str)):
            raise ValueError(f"{where}: a categorical column takes a list of category names and a name as its fill")
    else:
        raise ValueError(f"{where}: numeric must be true or false, not {reprlib.repr(numeric)}")


def _numbers(cells: np.ndarray) -> np.ndarray:
    """Numeric cells as float64, NaN where missing (or written as NaN)."""
    if cells.dtype.kind == "f":  # a table of numbers only (datasets.files reads it so)
        return cells.astype(np.float64)
    out = np.full(cells.shape, np.nan)
    present = ~is_missing(cells)
    out[present] = cells[present].astype(np.float64)
    return out
