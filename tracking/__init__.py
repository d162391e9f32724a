"""Reporting, kept out of the core: console progress, the local run folder, figures, W&B.

Everything here observes training through :class:`nn.Callback` hooks. A
:class:`Reporter` is a callback that also takes what a run produces after
training (figures, the confusion matrix, the summary); the experiment hands
the same calls to every reporter it has (the local folder, W&B), so no code
asks which ones are on.
"""

import nn

SPLIT_TITLES = {"train": "Training set", "val": "Validation set", "test": "Test set"}


def confusion_key(split: str) -> str:
    """``confusion_matrix`` for the test set (the name it always had), ``confusion_matrix_<split>`` for the others."""
    return "confusion_matrix" if split == "test" else f"confusion_matrix_{split}"


class Reporter(nn.Callback):
    """What a run hands to each of its reporters. The interface is generic, as Lightning's loggers
    are: numbers against a step, distributions, figures, images, tables, the confusion matrix, the
    model, the summary. A study that logs something new calls one of these; no reporter learns
    about the study. Every method does nothing here: a reporter takes what it can keep."""

    run_id: str | None = None  # the tracker's id of the run (W&B's), kept to resume the same run
    in_sweep: bool = False  # whether a sweep's agent (``wandb agent``) started the run

    @property
    def injected_config(self) -> dict:
        """The values the tracker holds for this run (under ``wandb agent``: the sweep's)."""
        return {}

    def update_config(self, values: dict) -> None:
        """Complete the tracker's configuration with ``values``."""

    def rename(self, name: str) -> None:
        """The run's final name (a folder name taken already gets a ``-2``)."""

    def watch(self, monitor: str, goal: str) -> None:
        """The metric whose best value (``goal`` "max" or "min") the run reports, e.g. ``val_accuracy``."""

    def log_scalars(self, series: str, row: dict, step: str) -> None:
        """One row of numbers of the series ``series`` (``batch_loss``, ``pretraining``) against its step
        ``row[step]`` (``batch``, ``pretrain_epoch``); the epoch's own metrics come by ``on_epoch_end``.
        Other step keys in the row (the epoch of a batch) are context, not values."""

    def log_histograms(self, values: dict, step: str, at: int) -> None:
        """Distributions ``{name: 1-D array}`` at step ``at`` of ``step`` (``weights/<parameter>`` at
        ``epoch`` N: ``--dynamics``), handed over before that epoch's metrics."""

    def log_figures(self, figures: dict) -> None:
        """``{name: png path}``: figures drawn in the run folder."""

    def log_images(self, name: str, images: list, captions: list[str]) -> None:
        """Images (2-D or H x W x C arrays), each with its caption, under one name."""

    def log_table(self, name: str, columns: list[str], rows: list[list]) -> None:
        """A table; an array cell (2-D or H x W x C) is an image."""

    def log_confusion(self, y_true, y_pred, class_names, split: str = "test") -> None:
        """The confusion matrix of one split (``train``, ``val`` or ``test``), as :func:`confusion_key` names it."""

    def log_model(self, path, metadata: dict) -> None:
        """The saved model file, with its metrics as metadata."""

    def finish(self, summary: dict, exit_code: int) -> str:
        """Write the summary and close; return a line saying where the results are ("" if nothing to say)."""
        return ""
