"""What can end a command early, and the one line and exit code each gets: the same for ``train.py``,
``sweep.py`` and ``evaluate.py``.

Exit codes (the shell's conventions): 0 done; 1 a fault (the data could not be had, a file could not
be written, training diverged); 2 bad input (a usage error, a configuration that cannot run, a data
file that cannot be used); 130 Ctrl-C; 143 SIGTERM.
"""

from __future__ import annotations

import errno
from pathlib import Path

import datasets

EXIT_FAULT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class ConfigError(ValueError):
    """A configuration that cannot run: the message is the one line the user sees (exit 2)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (timeout, Slurm, Kubernetes, ``wandb agent``): handled as Ctrl-C is, exit code 143."""


def describe_os_error(error: OSError) -> str:
    """One line for a file that could not be written: a full disk says so, and where."""
    where = Path(error.filename).parent if error.filename else "the output folder"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full: cannot write in {where} ({error.strerror}); free some space, then --resume the run"
    return f"cannot write in {where}: {error.strerror or error}"


def stop_exit_code(error: KeyboardInterrupt) -> int:
    """143 for SIGTERM, 130 for Ctrl-C."""
    return EXIT_TERMINATED if isinstance(error, Terminated) else EXIT_INTERRUPTED


def one_line(error: BaseException, before: str = "before training started") -> tuple[str, int] | None:
    """``(message, exit code)`` for an error a command ends with in one line, ``None`` for any other
    (a bug: its traceback is the report). ``before`` names where a stop came (``interrupted before ...``)."""
    if isinstance(error, (ConfigError, datasets.DataFileError)):
        return str(error), EXIT_USAGE
    if isinstance(error, (datasets.DataUnavailable, datasets.DataError)):
        return str(error), EXIT_FAULT
    if isinstance(error, OSError):
        return describe_os_error(error), EXIT_FAULT
    if isinstance(error, KeyboardInterrupt):
        what = "stopped by SIGTERM" if isinstance(error, Terminated) else "interrupted"
        return f"{what} {before}", stop_exit_code(error)
    return None
