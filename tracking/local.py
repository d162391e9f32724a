"""The local run folder, for users with no W&B account: config, history, summary, figures, model.

Layout: ``<output_dir>/<run name>/`` holding ``config.json``,
``history.json`` and ``history.csv`` (rewritten after every epoch, so an
interrupted run keeps what it computed), ``summary.json`` and the figures
the run draws there (``samples.png``, ``curves.png``, ``confusion_matrix.png``
...) and, with ``--save_model``, ``model.npz``.

Every file is written whole, through a temporary file renamed into place
(:mod:`tracking.files`), and the temporary files a killed process left there
are removed when the folder is opened again. A series of rows
(``batch_loss.csv``, :meth:`LocalRun.log_scalars`) is not appended to the
file, which a stop would leave with half a row: its rows are kept in memory,
already formatted, and the file is written whole at every epoch's end, when
the summary is written and, within a long epoch, every
:data:`FLUSH_SECONDS`. Writing it costs a copy of its text, never the
formatting of earlier rows again, and happens at most every few seconds,
whatever ``--log_every`` is.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import Reporter
from .files import remove_temporaries, write_csv_rows, write_json, write_text

FLUSH_SECONDS = 5.0  # within an epoch, a series' file is written again at most this often


def unique_dir(parent, name: str) -> Path:
    """``parent/name``, or ``parent/name-2``, ``-3``, ... if taken; created."""
    parent = Path(parent)
    candidate, k = parent / name, 2
    while candidate.exists():
        candidate, k = parent / f"{name}-{k}", k + 1
    candidate.mkdir(parents=True)
    return candidate


def write_history(folder: Path, history: list[dict]) -> None:
    write_json(folder / "history.json", history)
    if history:
        write_csv_rows(folder / "history.csv", list(dict.fromkeys(k for row in history for k in row)), history)


@dataclass
class Series:
    """One series' rows as its CSV file holds them: the columns, and the rows formatted as CSV lines."""

    path: Path
    columns: list[str]
    text: io.StringIO = field(default_factory=lambda: io.StringIO(newline=""))
    written: float = float("-inf")  # time.monotonic() of the last write
    pending: bool = False  # rows not yet in the file

    def add(self, rows: list[dict]) -> None:
        csv.DictWriter(self.text, fieldnames=self.columns).writerows(rows)
        self.pending = True

    def widen(self, row: dict) -> None:
        """Columns for every key of ``row``: the rows so far are formatted again with them (rare:
        pretraining's next layer)."""
        rows = list(csv.DictReader(io.StringIO(self.text.getvalue(), newline=""), fieldnames=self.columns))
        self.columns.extend(key for key in row if key not in self.columns)
        self.text = io.StringIO(newline="")
        self.add(rows)

    def flush(self) -> None:
        header = io.StringIO(newline="")
        csv.writer(header).writerow(self.columns)
        write_text(self.path, header.getvalue() + self.text.getvalue())
        self.written, self.pending = time.monotonic(), False


def continue_series(path: Path, first: dict, step: str) -> Series:
    """The series of ``path`` as a resumed run continues it from its row ``first``: the rows of the
    file logged before ``first[step]`` (the later ones are of the epoch the checkpoint did not keep:
    the resumed run logs them again), or a new series."""
    if not path.is_file():
        return Series(path, list(first))
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        series = Series(path, list(reader.fieldnames or first))
        series.add([row for row in reader if _whole(row) and _before(row.get(step), first.get(step))])
    series.pending = False
    return series


def _whole(row: dict) -> bool:
    """Not a row cut short, or run into the next, by a process stopped while appending (older versions)."""
    return None not in row and None not in row.values()


def _before(value, limit) -> bool:
    try:
        return float(value) < float(limit)
    except (TypeError, ValueError):
        return True


class LocalRun(Reporter):
    """A new run folder under ``parent`` holding ``config.json`` (or, resuming, the existing ``folder``,
    whose ``config.json`` is updated); the history is rewritten after each epoch."""

    WANDB_ID = "wandb_run_id"

    def __init__(self, parent, name: str, config: dict, folder=None):
        self.folder = unique_dir(parent, name) if folder is None else Path(folder)
        remove_temporaries(self.folder)  # of a process killed while writing here
        write_json(self.folder / "config.json", config)
        self.history: list[dict] = []
        self.series: dict[str, Series] = {}  # log_scalars' series, by name

    def log_scalars(self, series, row, step):
        """Adds the row to ``<series>.csv`` (``batch_loss.csv``, ``pretraining.csv``), written whole at
        most every :data:`FLUSH_SECONDS` and at every epoch's end; a row with a column the series lacks
        (pretraining's next layer) gives it that column. A resumed run's series goes on from the rows
        the file holds."""
        if series not in self.series:
            self.series[series] = continue_series(self.folder / f"{series}.csv", row, step)
        kept = self.series[series]
        if any(key not in kept.columns for key in row):
            kept.widen(row)
        kept.add([row])
        if time.monotonic() - kept.written >= FLUSH_SECONDS:
            kept.flush()

    def flush(self) -> None:
        """Write every series with rows its file lacks."""
        for series in self.series.values():
            if series.pending:
                series.flush()

    def remember_wandb(self, run_id) -> None:
        """Keep the W&B run's id, so a resumed run continues the same W&B run."""
        if run_id:
            write_text(self.folder / self.WANDB_ID, run_id + "\n")

    @classmethod
    def wandb_id(cls, folder):
        path = None if folder is None else Path(folder) / cls.WANDB_ID
        return path.read_text().strip() if path is not None and path.is_file() else None

    def on_epoch_end(self, epoch, metrics):
        self.history.append(dict(metrics))
        write_history(self.folder, self.history)
        self.flush()

    def write_summary(self, summary: dict) -> None:
        """The history, the series and ``summary.json`` as they are now (written again by :meth:`finish`)."""
        write_history(self.folder, self.history)
        self.flush()
        write_json(self.folder / "summary.json", summary)

    def finish(self, summary, exit_code):
        self.write_summary(summary)
        return ""
