"""The local run folder, for users with no W&B account: config, history, summary, figures, model.

Layout: ``<output_dir>/<run name>/`` holding ``config.json``,
``history.json`` and ``history.csv`` (rewritten after every epoch, so an
interrupted run keeps what it computed), ``summary.json`` and the figures
the run draws there (``samples.png``, ``curves.png``, ``confusion_matrix.png``
...) and, with ``--save_model``, ``model.npz``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from . import Reporter
from .files import write_csv_rows, write_json, write_text


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


class LocalRun(Reporter):
    """A new run folder under ``parent`` holding ``config.json`` (or, resuming, the existing ``folder``,
    whose ``config.json`` is updated); the history is rewritten after each epoch."""

    WANDB_ID = "wandb_run_id"

    def __init__(self, parent, name: str, config: dict, folder=None):
        self.folder = unique_dir(parent, name) if folder is None else Path(folder)
        write_json(self.folder / "config.json", config)
        self.history: list[dict] = []
        self.columns: dict[str, list[str]] = {}  # each series' columns (log_scalars)

    def log_scalars(self, series, row, step):
        """Appends the row to ``<series>.csv`` (``batch_loss.csv``, ``pretraining.csv``); a row with a
        column the file lacks (pretraining's next layer) rewrites the file with every column."""
        path = self.folder / f"{series}.csv"
        columns = self.columns.setdefault(series, [])
        if all(key in columns for key in row) and path.exists():
            with open(path, "a", newline="") as handle:
                csv.DictWriter(handle, fieldnames=columns).writerow(row)
            return
        rows: list[dict] = []
        if path.exists():
            with open(path, newline="") as handle:
                rows = list(csv.DictReader(handle))
        columns.extend(key for key in row if key not in columns)
        write_csv_rows(path, columns, [*rows, row])

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

    def write_summary(self, summary: dict) -> None:
        """The history and ``summary.json`` as they are now (written again by :meth:`finish`)."""
        write_history(self.folder, self.history)
        write_json(self.folder / "summary.json", summary)

    def finish(self, summary, exit_code):
        self.write_summary(summary)
        return ""
