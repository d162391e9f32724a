"""The learning curves of every run (``curves.png``): loss and the task's metric per epoch, for
the training and validation sets."""

from __future__ import annotations

from nn import metrics

from ..plugin import Changes, Plugin, Priority


class Curves(Plugin):
    name = "curves"
    priority = Priority.REPORT
    changes = Changes(files=("curves.png",))

    def figures(self, run):
        if not run.history:
            return {}
        from tracking import plots

        from .titles import run_title

        metric, _ = metrics.PRIMARY[run.data.task]
        title = run_title(run.config, epochs=len(run.history))
        return {"curves": plots.curves_figure(run.history, run.folder / "curves.png", title=title, metric=metric)}
