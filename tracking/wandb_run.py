"""Weights & Biases reporting: mode resolution, per-epoch logging, images, summary.

``auto`` mode goes online only when an API key is configured (``WANDB_API_KEY``
or a ``~/.netrc`` entry for the W&B host) *and* the host answers within a
few seconds; otherwise offline, so there is never a 90-second wait for a
server that cannot be reached. ``WANDB_MODE`` in the environment wins over
``auto``. Offline runs are written under ``./wandb`` (or ``$WANDB_DIR``) and
can be uploaded later with ``wandb sync``.
"""

from __future__ import annotations

import netrc
import os
import socket
import uuid
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from . import SPLIT_TITLES, Reporter, confusion_key


def _host() -> str:
    return urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"


def has_api_key() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators(_host()) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def reachable(host: str, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


Mode = Literal["online", "offline", "disabled"]
MODES: tuple[Mode, ...] = ("online", "offline", "disabled")


def resolve_mode(mode: str) -> Mode:
    """``auto`` made concrete: ``WANDB_MODE`` if set, else online only with a key and an answering host."""
    for chosen in (mode, os.environ.get("WANDB_MODE") if mode == "auto" else None):
        for known in MODES:
            if chosen == known:
                return known
    return "online" if has_api_key() and reachable(_host()) else "offline"


class WandbRun(Reporter):
    """One W&B run: started in ``__init__``, per-epoch metrics as a callback, finished by :meth:`finish`."""

    def __init__(self, *, project, entity, name, config, mode, group=None, tags=None, resume_id=None, job_type=None):
        import wandb

        self.wandb = wandb
        self.mode = resolve_mode(mode)
        extra = {"id": resume_id, "resume": "allow"} if resume_id else {}
        if job_type == "fold":  # a run of its own beside the cross-validation's (which may be wandb agent's)
            extra = {"id": uuid.uuid4().hex[:8], "reinit": "create_new"}
        self.run = wandb.init(
            project=project,
            entity=entity,
            name=name,
            config=config,
            group=group,
            tags=tags,
            mode=self.mode,
            settings=wandb.Settings(silent=True),
            job_type=job_type,
            **extra,
        )
        self.run_id = self.run.id
        self.run.define_metric("epoch")
        self.run.define_metric("*", step_metric="epoch")
        self.run.define_metric("batch")
        self.run.define_metric("batch_loss", step_metric="batch")
        self.run.define_metric("pretrain_epoch")
        self.run.define_metric("pretrain/*", step_metric="pretrain_epoch")
        self.best = None
        self.monitor, self.goal = "val_accuracy", "max"

    @property
    def in_sweep(self) -> bool:
        """Whether ``wandb agent`` started this run (it sets the sweep's id)."""
        return bool(getattr(self.run, "sweep_id", None) or os.environ.get("WANDB_SWEEP_ID"))

    def watch(self, monitor: str, goal: str) -> None:
        """The metric whose best value and epoch go into the summary as they happen (goal "max"/"min")."""
        self.monitor, self.goal = monitor, goal

    @property
    def injected_config(self) -> dict:
        """The values W&B holds for this run (under ``wandb agent``: the sweep's)."""
        return dict(self.run.config)

    def update_config(self, values: dict) -> None:
        self.run.config.update(values, allow_val_change=True)

    def on_epoch_end(self, epoch, metrics):
        self.run.log(dict(metrics))
        value = metrics.get(self.monitor)
        if value is not None and (
            self.best is None or (value > self.best if self.goal == "max" else value < self.best)
        ):
            self.best = float(value)
            self.run.summary[f"best_{self.monitor}"] = self.best  # a plain float: summary="max" would be replaced
            self.run.summary["best_epoch"] = int(epoch)

    def log_samples(self, x, y, image_shape, class_names, grid_png: Path) -> None:
        from .plots import one_sample_per_class

        images = [
            self.wandb.Image(x[i].reshape(image_shape), caption=class_names[y[i]])
            for i in one_sample_per_class(x, y, len(class_names))
        ]
        self.run.log({"samples": images, "sample_grid": self.wandb.Image(str(grid_png))}, commit=False)

    def log_confusion(self, y_true, y_pred, class_names, split: str = "test") -> None:
        matrix = self.wandb.plot.confusion_matrix(
            y_true=list(map(int, y_true)),
            preds=list(map(int, y_pred)),
            class_names=list(class_names),
            title=f"{SPLIT_TITLES.get(split, split)} confusion matrix",
        )
        self.run.log({confusion_key(split): matrix}, commit=False)

    def log_mistakes(self, rows, images, image_shape, class_names) -> None:
        """A W&B Table of the misclassified test examples (image, labels, probabilities), as W&B's
        own Keras evaluation callback logs predictions."""
        columns = ["index", "image", "true", "predicted", *[f"p({name})" for name in class_names]]
        table = self.wandb.Table(columns=columns)
        for row, image in zip(rows, images):
            table.add_data(
                row["index"],
                self.wandb.Image(image.reshape(image_shape)) if image_shape else None,
                row["true"],
                row["predicted"],
                *[row[f"p({name})"] for name in class_names],
            )
        self.run.log({"misclassified_test_examples": table}, commit=False)

    def log_pretraining(self, row: dict) -> None:
        self.run.log(row)

    def log_batch(self, row: dict) -> None:
        self.run.log({"batch": row["batch"], "batch_loss": row["batch_loss"]})

    def log_histograms(self, epoch: int, values: dict) -> None:
        """W&B histograms (64 bins) of ``values``, joined to the epoch's row: they arrive before the
        epoch's metrics, whose log commits the row."""
        histograms = {name: self.wandb.Histogram(array, num_bins=64) for name, array in values.items()}
        self.run.log({"epoch": epoch, **histograms}, commit=False)

    def log_model(self, path, metadata: dict) -> None:
        """The saved model as a W&B Artifact of type "model", its metrics in the metadata."""
        artifact = self.wandb.Artifact(f"model-{self.run.id}", type="model", metadata=metadata)
        artifact.add_file(str(path))
        self.run.log_artifact(artifact)

    def log_figures(self, figures: dict) -> None:
        self.run.log({key: self.wandb.Image(str(path)) for key, path in figures.items()}, commit=False)

    def where(self) -> str:
        if self.mode == "offline":
            folder = Path(self.run.dir).parent
            return f"W&B: offline run saved in {folder}; upload it with `wandb sync {folder}`"
        if self.mode == "online":
            return f"W&B: {self.run.url}"
        return ""

    def finish(self, summary: dict, exit_code: int = 0) -> str:
        for key, value in summary.items():
            if isinstance(value, (int, float, str)):
                self.run.summary[key] = value
        where = self.where()
        if exit_code == 143:  # SIGTERM: the scheduler's stop, W&B's "preempted"
            self.run.mark_preempting()
        self.run.finish(exit_code=exit_code)
        return where
