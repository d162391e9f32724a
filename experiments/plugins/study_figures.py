"""``--plots``: pictures of the trained weights: per-layer weight histograms and, for an mlp on
images, the first layer's weights drawn as images (one per hidden unit)."""

from __future__ import annotations

from dataclasses import dataclass

from ..options import option
from ..plugin import Changes, Plugin, Priority


@dataclass(frozen=True)
class FiguresConfig:
    title = "Figures"
    plots: bool = option(
        False,
        "--plots",
        help="At the end, also draw the first layer's weights as images, per-layer weight histograms and saliency "
        "maps.",
    )


def plots_on(config) -> bool:
    return config.get(FiguresConfig).plots


class StudyFigures(Plugin):
    name = "study_figures"
    example = {"plots": True}
    changes = Changes(files=("weight_histograms.png", "first_layer_weights.png"))
    section = FiguresConfig
    priority = Priority.REPORT

    def enabled(self, config):
        return plots_on(config)

    def figures(self, run):
        if "test" not in run.evaluations:
            return {}
        from tracking import plots, tiles

        from .titles import run_title

        model, data = run.model, run.data
        figures = {"weight_histograms": plots.weight_histograms(model, run.folder / "weight_histograms.png")}
        first = model.params[model.decayed_names()[0]]
        if (
            data.image_shape is not None and first.ndim == 2 and first.shape[0] == data.n_features
        ):  # a dense first layer
            figures["first_layer_weights"] = tiles.first_layer_figure(
                first,
                data.image_shape,
                run.folder / "first_layer_weights.png",
                title=run_title(run.config, epochs=len(run.history), pixels=True),
            )
        return figures
