"""Encoding a table of mixed columns (a CSV file's cells) as numbers, fitted on the training split.

Numeric columns keep their values; a missing cell takes the column's training median. Categorical
columns are one-hot encoded over the categories seen in training (one column per category, in
sorted order); a missing cell takes the most frequent training category (ties: the smallest, as
scikit-learn breaks them) and an unseen category encodes as all zeros. The fitting is
scikit-learn's (``SimpleImputer`` and ``OneHotEncoder``); what it learns is kept as plain data (the
medians, the categories), so that a saved model carries it in its JSON metadata and applies it to a
new file without pickles. ``tests/test_files.py`` checks :meth:`TableEncoding.transform` against
scikit-learn's fitted ``ColumnTransformer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .files import MISSING


def missing_mask(cells: np.ndarray) -> np.ndarray:
    """True where a cell (a stripped string) is missing."""
    return np.isin(cells.astype(str), list(MISSING))


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
            values = _numbers(cells[:, numbers])
            imputer = SimpleImputer(strategy="median", keep_empty_features=True).fit(values)
            for j, median in zip(numbers, imputer.statistics_):
                fills[j] = float(median)
        if texts:
            text = cells[:, texts].astype(object)
            text[missing_mask(text)] = np.nan
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
        """The ``N x n_features`` float32 encoding of ``cells`` (columns in :attr:`columns`' order)."""
        parts = []
        for j, seen in enumerate(self.categories):
            column = cells[:, j].astype(str)
            missing = missing_mask(column)
            if seen is None:
                values = np.where(missing, repr(float(self.fills[j])), column).astype(np.float64)
                parts.append(values[:, None])
            else:
                column = np.where(missing, self.fills[j], column)
                parts.append(column[:, None] == np.asarray(seen, dtype=str)[None, :])
        return np.hstack(parts).astype(np.float32) if parts else np.empty((len(cells), 0), np.float32)

    def count_missing(self, cells: np.ndarray) -> int:
        return int(missing_mask(cells).sum())

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
    def from_dict(cls, values: dict[str, Any]) -> TableEncoding:
        return cls(
            tuple(values["columns"]),
            tuple(bool(v) for v in values["numeric"]),
            tuple(values["fills"]),
            tuple(None if seen is None else tuple(seen) for seen in values["categories"]),
        )


def _numbers(cells: np.ndarray) -> np.ndarray:
    """Numeric cells as float64, NaN where missing."""
    out = np.full(cells.shape, np.nan)
    present = ~missing_mask(cells)
    out[present] = cells[present].astype(np.float64)
    return out
