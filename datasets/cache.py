"""A decoded copy of each IDX data file, so that a run does not decompress the same file again.

Fashion-MNIST's training images are 26 MB of gzip that take about 0.3-0.6 s to decompress on every
run. :func:`read_idx_cached` keeps the decoded array as ``idx-<SHA-256 of the file>.npy`` in the
cache folder and maps it read-only on later runs (``np.load(..., mmap_mode="r")``), which costs the
hash of the file's bytes (about 0.04 s) instead. The key is the content, so a changed file (a new
download, a different copy at the same path) is decoded again, never confused with the old one;
copies of one file in different folders share one entry.

Cache folder: ``$FFNN_CACHE_DIR``; otherwise ``$XDG_CACHE_HOME/ffnn/decoded``, or
``~/.cache/ffnn/decoded``. ``FFNN_CACHE_DIR=off`` turns the cache off. The cache never changes what a
run computes, only how fast it starts: a folder that cannot be written, a full disk or a damaged
entry fall back to decoding (a damaged entry is replaced), silently. Entries are written atomically
(a temporary name, then a rename), so a run killed while writing leaves no half entry.
"""

from __future__ import annotations

import hashlib
import os
from os import PathLike
from pathlib import Path

import numpy as np

from nn.files import atomic_path

from .idx import DataError, decode_idx

ENV_VAR = "FFNN_CACHE_DIR"
FORMAT = "idx-v1"  # part of each entry's name: a change of the layout never reads an old entry


def cache_folder() -> Path | None:
    """Where decoded arrays are kept (see the module docstring), or ``None`` when the cache is off."""
    chosen = os.environ.get(ENV_VAR)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ffnn" / "decoded"


def read_idx_cached(path: str | PathLike[str], expected_ndim: int) -> np.ndarray:
    """:func:`datasets.idx.read_idx`, from the cache when the file's decoded array is there (a read-only
    memory map), otherwise decoded and stored for the next run."""
    path = Path(path)
    try:
        stored = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror})") from None
    folder = cache_folder()
    if folder is None:
        return decode_idx(path, stored, expected_ndim)
    entry = folder / f"{FORMAT}-{hashlib.sha256(stored).hexdigest()}.npy"
    cached = _load(entry, expected_ndim)
    if cached is not None:
        return cached
    array = decode_idx(path, stored, expected_ndim)  # a bad file fails here, before anything is stored
    _store(entry, array)
    return array


def _load(entry: Path, expected_ndim: int) -> np.ndarray | None:
    try:
        array = np.load(entry, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError):  # damaged or unreadable: decoded again, and replaced if possible
        return None
    if array.dtype != np.uint8 or array.ndim != expected_ndim:
        return None
    return array


def _store(entry: Path, array: np.ndarray) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(entry) as temporary:
            np.save(temporary, array, allow_pickle=False)
    except OSError:  # read-only, full, or gone: this run decoded the file, the next will too
        pass
