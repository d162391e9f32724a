"""Reader for the IDX files MNIST and Fashion-MNIST ship in (optionally gzip-compressed).

Format: two zero bytes, a type code (0x08 = unsigned byte), the number of
dimensions, then each dimension as a big-endian int32, then the data.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from os import PathLike
from pathlib import Path

import numpy as np


class DataError(Exception):
    """A data file exists but cannot be used (empty, truncated, corrupt, wrong shape, labels outside the
    data set's classes): bad input, exit code 2, as a user's own file that cannot be used."""


def read_idx(path: str | PathLike[str], expected_ndim: int) -> np.ndarray:
    """The array of the IDX file at ``path`` (gzip if its name ends in ``.gz``); :class:`DataError` naming
    the file if it cannot be read or is not an unsigned-byte IDX file of ``expected_ndim`` dimensions."""
    path = Path(path)
    try:
        stored = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror})") from None
    return decode_idx(path, stored, expected_ndim)


def decode_idx(path: Path, stored: bytes, expected_ndim: int) -> np.ndarray:
    """:func:`read_idx` of the file's bytes ``stored`` (still compressed for a ``.gz`` ``path``)."""
    try:
        raw = gzip.decompress(stored) if path.suffix == ".gz" else stored
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"{path}: cannot be read ({error}); the file is truncated or corrupt, delete it and fetch it again"
        ) from None
    if not raw:
        raise DataError(f"{path}: the file is empty; delete it and fetch it again")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    if ndim != expected_ndim:
        raise DataError(f"{path}: expected {expected_ndim} dimensions, the header says {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    size = math.prod(shape)
    if len(raw) != header + size:
        raise DataError(
            f"{path}: holds {len(raw) - header} bytes of data, the header promises {size} "
            f"(shape {shape}); the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | PathLike[str], array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip if the name ends in .gz); used by the tests."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + array.tobytes())
