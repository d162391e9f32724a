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
import re
from pathlib import Path
from typing import Any

from nn.files import atomic_path

__all__ = [
    "atomic_path",
    "remove_temporaries",
    "save_figure",
    "write_bytes",
    "write_csv_rows",
    "write_json",
    "write_text",
]

TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^.]*)?")
"""The name :func:`atomic_path` gives a temporary file (``.<name>.<8 random characters><suffix of
name>``, e.g. ``.checkpoint.npz.3fa9c01e.npz``; older versions, through ``tempfile.mkstemp``, used
letters, digits and ``_``)."""


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


def is_temporary(name: str) -> bool:
    """Whether ``name`` is one of :func:`atomic_path`'s temporary names (its suffix that of its target)."""
    match = TEMPORARY.fullmatch(name)
    return match is not None and (match["suffix"] or "") == Path(match["name"]).suffix


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed process (``kill -9``, a power cut) left in ``folder`` while it
    was writing there through :func:`atomic_path`; nothing else, and nothing in its sub-folders. Call it
    only where no other process writes into ``folder`` (a run folder, as its run starts or resumes)."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(os.fspath(folder)):
            if entry.is_file(follow_symlinks=False) and is_temporary(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed
