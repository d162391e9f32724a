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
    def watch(self, monitor: str, goal: str) -> None:
        """The metric whose best value (``goal`` "max" or "min") the run reports, e.g. ``val_accuracy``."""

    def log_samples(self, x, y, image_shape, class_names, grid_png) -> None: ...

    def log_figures(self, figures: dict) -> None: ...

    def log_confusion(self, y_true, y_pred, class_names, split: str = "test") -> None:
        """The confusion matrix of one split (``train``, ``val`` or ``test``), as :func:`confusion_key` names it."""

    def log_model(self, path, metadata: dict) -> None: ...

    def log_mistakes(self, rows: list[dict], images, image_shape, class_names) -> None:
        """The misclassified test examples: ``rows`` of index, true, predicted and probabilities."""

    def log_pretraining(self, row: dict) -> None:
        """One ``{"pretrain_epoch", "pretrain/reconstruction_loss/<layer>": ...}`` row."""

    def log_batch(self, row: dict) -> None:
        """One ``{"batch", "epoch", "batch_loss"}`` row of the within-epoch loss (``--log_every``)."""

    def log_histograms(self, epoch: int, values: dict) -> None:
        """Distributions of epoch ``epoch``, ``{name: 1-D array}`` (``weights/<parameter>``,
        ``activations/<layer>``: ``--dynamics``), handed over before the epoch's metrics."""

    def finish(self, summary: dict, exit_code: int) -> str:
        """Write the summary and close; return a line saying where the results are ("" if nothing to say)."""
        return ""
