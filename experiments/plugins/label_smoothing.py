"""Label smoothing (``--label_smoothing e``): cross-entropy against ``(1 - e) one_hot + e / K``
(:func:`nn.losses.with_label_smoothing`); the logged losses are smoothed too."""

from __future__ import annotations

from dataclasses import dataclass

from nn import losses

from ..errors import ConfigError
from ..options import UNIT, option
from ..plugin import Changes, Plugin


@dataclass(frozen=True)
class LabelSmoothingConfig:
    title = "Label smoothing"
    label_smoothing: float = option(
        0.0,
        "--label_smoothing",
        "--label-smoothing",
        type=UNIT,
        help="Label smoothing of cross_entropy: targets (1-e)*one_hot + e/K (0: off; the logged losses are smoothed "
        "too).",
    )


class LabelSmoothing(Plugin):
    name = "label_smoothing"
    example = {"label_smoothing": 0.1}
    changes = Changes(trajectory=True)
    section = LabelSmoothingConfig

    def enabled(self, config):
        return config.get(LabelSmoothingConfig).label_smoothing > 0

    def smoothed(self, loss, config):
        return losses.with_label_smoothing(loss, config.get(LabelSmoothingConfig).label_smoothing)

    def check(self, config, data):
        try:
            self.smoothed(losses.for_task(config.training.loss, data.task), config)
        except ValueError as error:
            raise ConfigError(f"--label_smoothing on {data.name}: {error}") from None

    def prepare(self, run):
        run.loss = self.smoothed(run.loss, run.config)

    def name_part(self, config):
        return f"_ls_{config.get(LabelSmoothingConfig).label_smoothing:g}"
