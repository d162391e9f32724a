"""Learning-rate schedules (``--lr_schedule``): constant, step or cosine, after a linear warm-up.

The rate is set before every update (:class:`nn.LearningRateSchedule`, whose
docstring has the formulas) and logged per epoch as ``learning_rate``; with
the constant schedule it is only logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

import nn

from ..options import NON_NEGATIVE, Choice, FiniteFloat, option
from ..plugin import Changes, Plugin, Priority


@dataclass(frozen=True)
class ScheduleConfig:
    title = "Learning-rate schedule"
    lr_schedule: str = option(
        "constant",
        "--lr_schedule",
        "--lr-schedule",
        type=Choice(nn.SCHEDULES),
        help="Learning-rate schedule per mini-batch: constant, step (times --lr_gamma every --lr_step_epochs epochs) "
        "or cosine (annealed to 0 over the run); after --warmup_epochs of linear warm-up. The rate is logged per "
        "epoch.",
    )
    warmup_epochs: float = option(
        0.0,
        "--warmup_epochs",
        "--warmup-epochs",
        type=NON_NEGATIVE,
        help="Epochs (may be fractional) over which the learning rate rises linearly from lr/steps to lr (0: none).",
    )
    lr_step_epochs: int = option(
        10,
        "--lr_step_epochs",
        "--lr-step-epochs",
        type=click.IntRange(min=1),
        help="--lr_schedule step: epochs per step.",
    )
    lr_gamma: float = option(
        0.1,
        "--lr_gamma",
        "--lr-gamma",
        type=FiniteFloat(0.0, 1.0, min_open=True),
        help="--lr_schedule step: factor of each step.",
    )


class Schedule(Plugin):
    name = "schedule"
    example = {"lr_schedule": "cosine", "warmup_epochs": 0.5}
    changes = Changes(trajectory=True)
    section = ScheduleConfig
    priority = Priority.SCHEDULE

    def callbacks(self, run):
        s = run.config.get(ScheduleConfig)
        return [
            nn.LearningRateSchedule(
                run.optimizer, s.lr_schedule, run.config.training.epochs, s.warmup_epochs, s.lr_step_epochs, s.lr_gamma
            )
        ]

    def name_part(self, config):
        schedule = config.get(ScheduleConfig).lr_schedule
        return "" if schedule == "constant" else f"_{schedule}"
