"""Input preprocessing, fitted on the training split only and applied unchanged to the others.

Scalings (:data:`SCALINGS`):

* ``auto`` (default): ``minmax`` for image sets, ``standard`` for tabular
  ones (regression targets and mixed units train far better standardised:
  the course's sine task reaches R² 0.97 instead of 0.13);
* ``minmax``: ``(x - min) / (max - min)``: for image sets with the
  minimum and maximum over all training pixels (0 and 255, so pixels land in
  [0, 1] and keep their relative brightness); for tabular sets per feature
  (scikit-learn's ``MinMaxScaler``), since their features have unrelated units;
* ``standard``: per feature, ``(x - mean) / std`` (fitted with scikit-learn's
  ``StandardScaler``; a constant feature is only centred);
* ``none``: raw values.

``permute_pixels`` applies one fixed, seeded permutation of the feature
positions first (the scrambled-pixels study). A fitted :class:`Preprocessing`
is plain data (a permutation, an offset, a scale), so it can be stored with
a model and applied again later. A table read from a CSV file is encoded as numbers first
(:class:`datasets.tables.TableEncoding`, fitted on the training split too): ``encoding`` keeps it,
and :meth:`Preprocessing.prepare` given the file's raw cells encodes them before scaling.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .files import fits_float32
from .tables import TableEncoding

SCALINGS = ("auto", "minmax", "standard", "none")


@dataclass
class Preprocessing:
    """``x -> (x[:, permutation] - offset) * scale``; offset and scale are Python floats
    (min-max: float32 arithmetic) or float64 arrays per feature (standard)."""

    scaling: str
    offset: float | np.ndarray
    scale: float | np.ndarray
    permutation: np.ndarray | None = None
    encoding: TableEncoding | None = None

    @classmethod
    def fit(
        cls, x_train: np.ndarray, scaling: str, permutation: np.ndarray | None = None, per_feature: bool = False
    ) -> Preprocessing:
        if permutation is not None:
            x_train = x_train[:, permutation]
        if scaling == "auto":
            scaling = "standard" if per_feature else "minmax"
        if scaling == "none":
            return cls(scaling, 0.0, 1.0, permutation)
        if scaling == "minmax" and per_feature:
            low, high = x_train.min(axis=0).astype(np.float64), x_train.max(axis=0).astype(np.float64)
            span = high - low
            return cls(scaling, low, np.where(span > 0, 1.0 / np.where(span > 0, span, 1.0), 1.0), permutation)
        if scaling == "minmax":
            low, high = float(x_train.min()), float(x_train.max())
            return cls(scaling, low, 1.0 / (high - low) if high > low else 1.0, permutation)
        if scaling == "standard":
            from sklearn.preprocessing import StandardScaler

            fitted = StandardScaler().fit(x_train)
            return cls(scaling, fitted.mean_, 1.0 / fitted.scale_, permutation)
        raise ValueError(f"unknown scaling {scaling!r}; valid: {', '.join(SCALINGS)}")

    @staticmethod
    def global_minmax(scaling: str, per_feature: bool) -> bool:
        """Whether ``scaling`` (as :meth:`fit` resolves ``auto``) is min-max over all values: the minimum and
        maximum of 8-bit values are those of their float32 copies, so it may be fitted on the bytes."""
        return not per_feature and scaling in ("auto", "minmax")

    def invert(self, x: np.ndarray) -> np.ndarray:
        """Raw values from preprocessed ones (for plots in the data's own units)."""
        raw = np.asarray(x, dtype=np.float64) / self.scale + self.offset
        if self.permutation is not None:
            raw = raw[:, np.argsort(self.permutation)]
        return raw

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The preprocessed float32 array; a float32 ``x`` without permutation is changed in place
        (the loader's own copies: a full copy of the training set is 170 MB). 8-bit values (the loader's
        images) scaled by a global min-max are converted as they are scaled, in one pass over them instead of
        three: float32(x) - float32(offset), times float32(scale), the same float32 arithmetic in the same order
        as converting first, so the same numbers to the bit. An offset of 0 is not subtracted (x - 0 is x)."""
        if self.permutation is not None:
            x = x[:, self.permutation]
        plain = type(self.offset) is float and type(self.scale) is float  # global min-max: float32 arithmetic
        if plain and self.scaling != "none" and getattr(x, "dtype", None) == np.uint8:
            if self.offset == 0.0:
                return np.multiply(x, self.scale, dtype=np.float32)
            x = np.subtract(x, self.offset, dtype=np.float32)
            x *= self.scale
            return x
        x = np.asarray(x, dtype=np.float32)
        if self.scaling != "none":
            if not (plain and self.offset == 0.0):
                x -= self.offset
            x *= self.scale
        return x

    def prepare(self, raw: np.ndarray) -> np.ndarray:
        """The network's input from raw values: a table's cells are encoded first (with an ``encoding``),
        then :meth:`apply`."""
        return self.apply(raw if self.encoding is None else self.encoding.transform(raw))

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly: stored in a saved model's metadata, so the model can be evaluated on raw data."""

        def plain(value: object) -> object:
            return value.tolist() if isinstance(value, np.ndarray) else value

        return {
            "scaling": self.scaling,
            "offset": plain(self.offset),
            "scale": plain(self.scale),
            "permutation": plain(self.permutation),
            **({} if self.encoding is None else {"encoding": self.encoding.to_dict()}),
        }

    @classmethod
    def from_dict(cls, values: Any, n_features: int | None = None) -> Preprocessing:
        """The preprocessing :meth:`to_dict` wrote (a saved model's), checked first (with ``n_features``,
        against the model's inputs too): anything else is a ``ValueError`` naming the field
        (``preprocessing.scale``)."""
        if not isinstance(values, dict):
            raise ValueError(f"preprocessing must be a mapping, not {reprlib.repr(values)}")
        missing = [key for key in ("scaling", "offset", "scale") if key not in values]
        if missing:
            raise ValueError(f"preprocessing.{missing[0]} is missing")
        if values["scaling"] not in SCALINGS[1:]:
            raise ValueError(
                f"preprocessing.scaling must be one of {', '.join(SCALINGS[1:])}, not {reprlib.repr(values['scaling'])}"
            )
        encoding = values.get("encoding")
        if encoding is not None:
            encoding = TableEncoding.from_dict(encoding, "preprocessing.encoding")
            if n_features is not None and encoding.n_features != n_features:
                raise ValueError(
                    f"preprocessing.encoding makes {encoding.n_features} features; the model takes {n_features}"
                )
        return cls(
            values["scaling"],
            _offset_or_scale("offset", values["offset"], n_features),
            _offset_or_scale("scale", values["scale"], n_features),
            _permutation(values.get("permutation"), n_features),
            encoding,
        )


def _offset_or_scale(key: str, value: Any, n_features: int | None) -> float | np.ndarray:
    """A saved ``offset`` or ``scale``: one finite number, or one per feature."""
    if fits_float32(value):
        return float(value)
    if not (isinstance(value, list) and value and all(fits_float32(v) for v in value)):
        raise ValueError(
            f"preprocessing.{key} must be a number within float32's range or a list of them, not {reprlib.repr(value)}"
        )
    if n_features is not None and len(value) != n_features:
        raise ValueError(f"preprocessing.{key} holds {len(value)} values; the model takes {n_features} features")
    return np.asarray(value, dtype=np.float64)


def _permutation(value: Any, n_features: int | None) -> np.ndarray | None:
    """A saved feature permutation: ``None``, or each position ``0 .. n - 1`` once."""
    if value is None:
        return None
    integers = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not integers or sorted(value) != list(range(len(value))):
        raise ValueError(f"preprocessing.permutation must hold each feature position once, not {reprlib.repr(value)}")
    if n_features is not None and len(value) != n_features:
        raise ValueError(f"preprocessing.permutation orders {len(value)} features; the model takes {n_features}")
    return np.asarray(value, dtype=np.intp)
