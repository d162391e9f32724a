"""What every run measures inside the network each epoch: the mean gradient norm of each weight
matrix (``grad_norm/<k>``), the fraction of dead ReLU units (``dead_relu/<k>``, on a fixed sample of
1,024 training inputs) and, in the summary, how many distinct units each hidden layer has."""

from __future__ import annotations

import nn

from ..plugin import Changes, Plugin, Priority

PROBE = 1024  # the fixed training sample of the dead-unit count


class Measurements(Plugin):
    name = "measurements"
    priority = Priority.MEASURE
    changes = Changes(summary=("distinct_units/*",))

    def callbacks(self, run):
        return [nn.GradientNorms(run.model), nn.DeadUnits(run.model, run.data.x_train[:PROBE])]

    def logged_metrics(self, config):
        return ["distinct_units/*"]

    def summarize(self, run):
        return {f"distinct_units/{k}": n for k, n in enumerate(nn.distinct_units(run.model))}
