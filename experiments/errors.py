"""What can end a command early, and the one line and exit code each gets: the same for ``train.py``,
``sweep.py`` and ``evaluate.py``.

Exit codes (the shell's conventions; docs/training.md lists them for users): 0 done; 1 a fault (the
data could not be had: no file and no network; a file could not be written; training diverged); 2 bad
input (a usage error, a configuration that cannot run, a data or model file that is there but damaged
or wrong); 130 Ctrl-C; 143 SIGTERM.
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


class Fault(RuntimeError):
    """Something outside the command's control failed while it ran (a sweep's database that stopped
    answering): the message is the one line the user sees (exit 1)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (timeout, Slurm, Kubernetes, ``wandb agent``): handled as Ctrl-C is, exit code 143."""


def describe_os_error(error: OSError) -> str:
    """One line for a file that could not be written: a full disk says so, and where."""
    where = Path(error.filename).parent if error.filename else "the output folder"
    if error.errno == errno.EPIPE:
        return f"a pipe was closed by its reader while writing to it ({error.strerror})"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full: cannot write in {where} ({error.strerror}); free some space, then --resume the run"
    return f"cannot write in {where}: {error.strerror or error}"


def stop_exit_code(error: KeyboardInterrupt) -> int:
    """143 for SIGTERM, 130 for Ctrl-C."""
    return EXIT_TERMINATED if isinstance(error, Terminated) else EXIT_INTERRUPTED


def one_line(error: BaseException, before: str = "before training started") -> tuple[str, int] | None:
    """``(message, exit code)`` for an error a command ends with in one line, ``None`` for any other
    (a bug: its traceback is the report). ``before`` names where a stop came (``interrupted before ...``)."""
    if isinstance(error, (ConfigError, datasets.DataFileError, datasets.DataError)):
        return str(error), EXIT_USAGE
    if isinstance(error, (datasets.DataUnavailable, Fault)):
        return str(error), EXIT_FAULT
    if isinstance(error, OSError):
        return describe_os_error(error), EXIT_FAULT
    if isinstance(error, KeyboardInterrupt):
        what = "stopped by SIGTERM" if isinstance(error, Terminated) else "interrupted"
        return f"{what} {before}", stop_exit_code(error)
    return None


def describe_yaml_error(path: Path, error: Exception) -> str:
    """One line for a YAML syntax error: the file, the line (yaml's marks count from 0), the problem and
    where the construct it breaks began."""
    mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
    if mark is None or not problem:
        return f"{path}: not valid YAML ({' '.join(str(error).split())})"
    context, start = getattr(error, "context", None), getattr(error, "context_mark", None)
    began = f" ({context} from line {start.line + 1})" if context and start is not None else ""
    return f"{path}, line {mark.line + 1}: not valid YAML: {problem}{began}"
