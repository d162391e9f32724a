"""Stopping rules: early stopping on the validation score (``--patience``, the best weights
restored) and the older loss-plateau rule (``--min_delta``: stop once the mean training loss
changes by less than this between epochs)."""

from __future__ import annotations

from dataclasses import dataclass

import click

import nn

from ..options import NON_NEGATIVE, option
from ..plugin import Changes, Plugin, Priority


@dataclass(frozen=True)
class StoppingConfig:
    title = "Stopping rules"
    patience: int = option(
        0,
        "--patience",
        type=click.IntRange(min=0),
        help="Early stopping: stop after this many epochs without a better validation score and restore the best "
        "weights (0: off).",
    )
    min_delta: float = option(
        0.0,
        "--min_delta",
        "--min-delta",
        type=NON_NEGATIVE,
        help="Stop once the mean training loss changes by less than this between epochs (0: off).",
    )


class Stopping(Plugin[list]):
    name = "stopping"
    example = {"patience": 1, "min_delta": 0.001}
    changes = Changes(summary=("restored_weights_of_epoch",))
    section = StoppingConfig
    priority = Priority.STOP

    def new_state(self) -> list:
        return []  # the stopping rules of this run

    def enabled(self, config):
        s = config.get(StoppingConfig)
        return bool(s.patience or s.min_delta)

    def callbacks(self, run):
        s = run.config.get(StoppingConfig)
        stoppers: list = []
        if s.patience and run.data.x_val is None:
            run.say("note: --patience needs a validation set (--val_fraction > 0 or --val_data); early stopping is off")
        elif s.patience:
            stoppers.append(nn.EarlyStopping(run.model, s.patience, best=run.best))
        if s.min_delta:
            plateau = nn.LossPlateau(s.min_delta)
            if run.history:  # resumed: the rule compares with the last completed epoch
                plateau.previous = run.history[-1]["train_loss"]
            stoppers.append(plateau)
        run.state_of(self)[:] = stoppers
        return stoppers

    def logged_metrics(self, config):
        return ["stopped_early_at_epoch", "restored_weights_of_epoch"]

    def summarize(self, run):
        summary = {}
        stoppers = run.state_of(self)
        for stopper in stoppers:
            if stopper.stopped_epoch is not None:
                summary["stopped_early_at_epoch"] = stopper.stopped_epoch
                summary["stopped_by"] = type(stopper).__name__
        if any(isinstance(s, nn.EarlyStopping) for s in stoppers) and run.best.best_epoch is not None:
            summary["restored_weights_of_epoch"] = run.best.best_epoch  # restored; testing uses them
        return summary
