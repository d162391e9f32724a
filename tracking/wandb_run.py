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

import numpy as np

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
        self.steps, self.stepped = {"epoch"}, set()  # step metrics, and the keys drawn against one
        self.best = None
        self.monitor, self.goal = "val_accuracy", "max"
        # wandb agent sets the sweep's id: the run is one of its trials
        self.in_sweep = bool(getattr(self.run, "sweep_id", None) or os.environ.get("WANDB_SWEEP_ID"))

    def rename(self, name: str) -> None:
        self.run.name = name

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

    def log_images(self, name: str, images: list, captions: list[str]) -> None:
        logged = [self.wandb.Image(image, caption=caption) for image, caption in zip(images, captions)]
        self.run.log({name: logged}, commit=False)

    def log_confusion(self, y_true, y_pred, class_names, split: str = "test") -> None:
        matrix = self.wandb.plot.confusion_matrix(
            y_true=list(map(int, y_true)),
            preds=list(map(int, y_pred)),
            class_names=list(class_names),
            title=f"{SPLIT_TITLES.get(split, split)} confusion matrix",
        )
        self.run.log({confusion_key(split): matrix}, commit=False)

    def log_table(self, name: str, columns: list[str], rows: list[list]) -> None:
        """A W&B Table, its array cells as images (as W&B's own Keras evaluation callback logs predictions)."""
        table = self.wandb.Table(columns=list(columns))
        for row in rows:
            table.add_data(*[self.wandb.Image(cell) if isinstance(cell, np.ndarray) else cell for cell in row])
        self.run.log({name: table}, commit=False)

    def log_scalars(self, series: str, row: dict, step: str) -> None:
        """The row against its step metric, defined on first sight (W&B draws each key against it)."""
        if step not in self.steps:
            self.steps.add(step)
            self.run.define_metric(step)
        for key in row:
            if key not in self.steps and key not in self.stepped:
                self.stepped.add(key)
                self.run.define_metric(key, step_metric=step)
        self.run.log({key: value for key, value in row.items() if key == step or key not in self.steps})

    def log_histograms(self, values: dict, step: str, at: int) -> None:
        """W&B histograms (64 bins) of ``values``, joined to the step's row: they arrive before the
        epoch's metrics, whose log commits the row."""
        histograms = {name: self.wandb.Histogram(array, num_bins=64) for name, array in values.items()}
        self.run.log({step: at, **histograms}, commit=False)

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
