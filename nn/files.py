"""Files written whole or not at all: a temporary name in the target's folder, renamed into place
(``os.replace`` is atomic on POSIX). A signal or a full disk never leaves a truncated or empty file:
on any error the temporary file is removed and the previous file, if any, stays as it was."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block ends
    without an exception, removed otherwise. ``suffix`` (default: ``path``'s own) keeps writers
    that add or check an extension (``np.savez``, ``savefig``) from renaming the file."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix if suffix is None else suffix
    )
    os.close(handle)
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would make results private to their writer
        yield Path(temporary)
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError) and not error.filename and error.errno:
            raise OSError(error.errno, error.strerror, str(target)) from error  # say which file
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
