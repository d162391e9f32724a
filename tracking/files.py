"""Files written whole or not at all: every file the tool writes goes to a temporary name in its
own folder and is renamed into place (``os.replace`` is atomic on POSIX), so a signal or a full disk
never leaves a truncated or empty file; on error the temporary file is removed and the old file, if
any, stays as it was."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from nn.files import atomic_path

__all__ = ["atomic_path", "save_figure", "write_bytes", "write_csv_rows", "write_json", "write_text"]


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
