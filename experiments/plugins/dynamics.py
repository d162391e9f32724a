"""``--dynamics``: how the inside of the network changes while it trains.

* ``gradient_norms.png``: per weight matrix ``W_k`` the mean Frobenius norm ``||dL/dW_k||`` of each
  epoch (log scale), read from the history (``grad_norm/<k>``, measured by :mod:`.measurements`);
* ``dead_relu.png``: per ReLU layer the fraction of units that output 0 on every input of the
  measurements' probe (``dead_relu/<k>`` of the history); not drawn for a network without ReLU;
* ``weight_spread.png``: per weight matrix and per activation layer the 5th, 25th, 50th, 75th and
  95th percentiles of its values against the epoch, from epoch 0 (the weights training starts from,
  after any pretraining; not for a resumed run, whose earlier epochs this process did not see);
  activations are measured in evaluation mode on a fixed probe, the first :data:`PROBE` training
  inputs. The same values go to W&B as histograms after each epoch (``weights/<parameter>``,
  ``activations/<layer>``).

The percentiles and histograms are taken from at most :data:`MAX_VALUES` values per layer, the same
seeded sample of positions every epoch, so a large convolutional layer costs as little as a small one.
"""

from __future__ import annotations

import numpy as np

import nn
from nn.layers import ActivationLayer

from ..plugin import Changes, Plugin, Priority
from .inside import inside, layer_outputs

PROBE = 256
MAX_VALUES = 1 << 17
PERCENTILES = (5, 25, 50, 75, 95)


class Spread(nn.Callback):
    """Records, at the start of training (epoch 0) and after every epoch, the :data:`PERCENTILES` of each
    weight matrix and of each activation layer's outputs on ``x_probe`` (:attr:`rows`, one
    ``{"epoch": e, "weights/<name>": [p5, ..., p95], "activations/<layer>": [...]}`` per epoch), and
    hands every epoch's values to the ``reporters`` (``log_histograms``). Priority: MEASURE (before the
    W&B reporter writes the epoch, which the histograms join)."""

    def __init__(self, model, x_probe, reporters=(), seed: int = 0):
        self.model, self.x_probe, self.reporters = model, model.as_input(x_probe), list(reporters)
        self.activations = [k for k, layer in enumerate(model.layers) if isinstance(layer, ActivationLayer)]
        self.rng = np.random.default_rng([seed, 17])
        self.samples: dict[str, np.ndarray] = {}
        self.rows: list[dict] = []

    def values(self) -> dict[str, np.ndarray]:
        """``{"weights/<name>" | "activations/<layer>": 1-D values}`` of the model as it is now."""
        model = self.model
        found = {f"weights/{name}": model.params[name].ravel() for name in model.decayed_names()}
        outputs = layer_outputs(model, self.x_probe, self.activations)
        found.update({f"activations/{model.layers[k].name}": outputs[k].ravel() for k in self.activations})
        return {key: self._sample(key, values) for key, values in found.items()}

    def _sample(self, key: str, values: np.ndarray) -> np.ndarray:
        if values.size <= MAX_VALUES:
            return values.copy()
        if key not in self.samples:
            self.samples[key] = np.sort(self.rng.choice(values.size, size=MAX_VALUES, replace=False))
        return values[self.samples[key]]

    def record(self, epoch: int) -> dict[str, np.ndarray]:
        values = self.values()
        row: dict = {"epoch": epoch}
        row.update({key: np.percentile(v, PERCENTILES).tolist() for key, v in values.items()})
        self.rows.append(row)
        return values

    def on_train_begin(self, info):
        if info.get("initial_epoch", 0) == 0:
            self.record(0)

    def on_epoch_end(self, epoch, metrics):
        values = self.record(epoch)
        for reporter in self.reporters:
            reporter.log_histograms(values, step="epoch", at=epoch)


def series(history: list[dict], prefix: str, labels: list[str]) -> dict[str, list[float]]:
    """``{labels[k]: the history's prefix/<k> per epoch}`` for the k the history has (nan where missing)."""
    found = {}
    for k, label in enumerate(labels):
        key = f"{prefix}/{k}"
        if any(key in row for row in history):
            found[label] = [float(row.get(key, np.nan)) for row in history]
    return found


class Dynamics(Plugin[list]):
    name = "dynamics"
    example = {"dynamics": True}
    changes = Changes(files=("gradient_norms.png", "dead_relu.png", "weight_spread.png"))
    priority = Priority.MEASURE

    def new_state(self) -> list:
        return []  # the run's Spread callback

    def enabled(self, config):
        return inside(config).dynamics

    def callbacks(self, run):
        spread = Spread(run.model, run.data.x_train[:PROBE], run.reporters, seed=run.config.data.seed)
        run.state_of(self)[:] = [spread]
        return [spread]

    def figures(self, run):
        history = run.history
        if not history:
            return {}
        from tracking import plots

        from .titles import run_title

        model, folder, title = run.model, run.folder, run_title(run.config, epochs=len(history))
        epochs = [row["epoch"] for row in history]
        relus = [
            layer.name for layer in model.layers if isinstance(layer, ActivationLayer) and layer.function.name == "ReLU"
        ]
        figures = {
            "gradient_norms": plots.layer_lines_figure(
                epochs,
                series(history, "grad_norm", model.decayed_names()),
                folder / "gradient_norms.png",
                title=f"{title}\nmean gradient norm ||dL/dW|| of each weight matrix, per epoch",
                ylabel="mean ||dL/dW|| (log scale)",
                log=True,
            )
        }
        dead = series(history, "dead_relu", relus)
        if dead:
            figures["dead_relu"] = plots.layer_lines_figure(
                epochs,
                dead,
                folder / "dead_relu.png",
                title=f"{title}\nfraction of dead ReLU units (0 on every probe input)",
                ylabel="dead fraction",
                limits=(-0.02, 1.02),
            )
        spread = next(iter(run.state_of(self)), None)
        if spread is not None and spread.rows:
            figures["weight_spread"] = plots.spread_figure(
                spread.rows, PERCENTILES, folder / "weight_spread.png", title=title
            )
        return figures
