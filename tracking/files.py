"""Files written whole or not at all: every file the tool writes goes to a temporary name in its
own folder and is renamed into place (``os.replace`` is atomic on POSIX), so a signal or a full disk
never leaves a truncated or empty file; on error the temporary file is removed and the old file, if
any, stays as it was."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block ends
    without an exception, removed otherwise. ``suffix`` (default: ``path``'s own) keeps writers
    that add or check an extension (``np.savez``, ``savefig``) happy."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix if suffix is None else suffix
    )
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode())


def write_json(path: str | os.PathLike, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=float) + "\n")


def write_csv_rows(path: str | os.PathLike, fieldnames: list[str], rows: list[dict]) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 100) -> Path:
    """``fig.savefig`` through a temporary file (PNG)."""
    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=dpi, format="png")
    return Path(path)
