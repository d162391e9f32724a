"""Files written whole or not at all, and what reading a ``.npz`` back can raise.

:func:`atomic_path`: a temporary name in the target's folder, renamed into place (``os.replace`` is
atomic on POSIX). A signal or a full disk never leaves a truncated or empty file: on any error the
temporary file is removed and the previous file, if any, stays as it was.

:data:`NPZ_READ_ERRORS`: the exceptions of ``np.load(path, allow_pickle=False)`` and of reading its
arrays when ``path`` is not a readable archive; the readers of model files, checkpoints and the Keras
MNIST archive turn exactly these into their own one-line error naming the file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

NPZ_READ_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # no such file, a folder, no permission
    EOFError,  # an empty file; an array cut short
    zipfile.BadZipFile,  # not a zip archive, truncated, a bad CRC
    zlib.error,  # a compressed (np.savez_compressed) array that does not inflate
    RuntimeError,  # zipfile: an encrypted entry; an unknown compression method (NotImplementedError)
    KeyError,  # an array the reader needs is not in the archive
    ValueError,  # neither zip nor .npy (NumPy refuses to unpickle it), object arrays, a damaged .npy header
    tokenize.TokenError,  # a .npy header too damaged to tokenize
    TypeError,  # a bare .npy file (np.load returns an array, not an archive); text where numbers belong
)
"""What a damaged, truncated or wrong file raises through ``np.load(..., allow_pickle=False)`` and
``archive[name]`` (each seen by flipping bytes of saved archives). JSON errors are ValueErrors."""


def npz_problem(error: Exception) -> str:
    """One of :data:`NPZ_READ_ERRORS` in words for the user: NumPy's own, except where they advise loading
    the file "unsafely" with pickle, which this tool never does."""
    text = str(error)
    if "contains pickled" in text:  # NumPy takes whatever is neither a zip archive nor a .npy array for a pickle
        return "neither a .npz archive nor a .npy array; pickled data is never loaded"
    if "allow_pickle" in text:
        return "it holds object arrays, which are never loaded (allow_pickle=False)"
    if "context manager" in text:  # np.load gave one array: a bare .npy file
        return "a single .npy array, not a .npz archive"
    return f"{type(error).__name__}: {error}"


def _new_temporary(target: Path, suffix: str | None) -> Path:
    """A new empty file ``.<name>.<8 random hex digits><suffix>`` beside ``target``, mode 0666 less the
    umask (as any file the run writes). Its name is chosen before it exists, so a stop (SIGTERM raises in
    Python code) that lands as it is made still finds it to remove (``tempfile.mkstemp`` names its file
    only when it returns, and one run in a few hundred left one behind)."""
    tail = target.suffix if suffix is None else suffix
    while True:
        temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}{tail}"
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temporary
        except FileExistsError:  # another writer's: never touched, another name drawn
            continue
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed to ``path`` when the block ends
    without an exception, removed otherwise. ``suffix`` (default: ``path``'s own) keeps writers
    that add or check an extension (``np.savez``, ``savefig``) from renaming the file."""
    target = Path(path)
    temporary = _new_temporary(target, suffix)  # no call between here and the try: a stop cannot land between
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError) and not error.filename and error.errno:
            raise OSError(error.errno, error.strerror, str(target)) from error  # say which file
        raise
