"""What a regression run reports: the output bias started at the training targets' mean; after
training, the test RMSE, MAE and R² (:mod:`nn.metrics`, from the one evaluation of the test set)
and a figure: the fitted curve for a one-dimensional input (data, the true function when known, the
prediction), predicted against true values otherwise."""

from __future__ import annotations

import numpy as np

from .base import Plugin, Priority
from .classification import task_of


class RegressionReport(Plugin):
    name = "regression"
    example = {"dataset": "sine", "loss": "squared_error"}
    priority = Priority.RECORD

    def enabled(self, config):
        return task_of(config) == "regression"

    def before_training(self, run):
        """Start the linear output at the mean target (its bias), so training fits the variation,
        not a constant offset that would take thousands of small steps to reach."""
        run.model.layers[-1].params["b"][...] = run.data.y_train.mean(axis=0)

    def after_training(self, run):
        return run.evaluations["test"].flat("test")

    def figures(self, run):
        test = run.evaluations.get("test")
        if test is None:
            return {}
        return {"fit": fit_figure(run.data, run.model, test.outputs, run.folder / "fit.png")}


def fit_figure(data, model, predictions, path):
    from tracking.plots import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    y_test = data.y_test.reshape(len(data.y_test), -1)
    if data.n_features == 1:
        raw_x = data.preprocessing.invert(data.x_test)[:, 0]
        grid = np.linspace(raw_x.min(), raw_x.max(), 400)
        scaled = data.preprocessing.apply(grid[:, None].astype(np.float32))
        ax.scatter(raw_x, y_test[:, 0], s=6, alpha=0.35, color="tab:gray", label="test data")
        if data.info.truth is not None:
            ax.plot(grid, data.info.truth(grid), color="tab:green", lw=2, label="truth")
        ax.plot(grid, model.predict(scaled)[:, 0], color="tab:red", lw=2, label="network")
        ax.set(xlabel="x", ylabel="y")
    else:
        ax.scatter(y_test[:, 0], predictions[:, 0], s=10, alpha=0.6)
        low, high = float(y_test.min()), float(y_test.max())
        ax.plot([low, high], [low, high], color="tab:green", lw=1.5, label="perfect")
        ax.set(xlabel="true value", ylabel="predicted value")
    rmse = float(np.sqrt(np.mean((predictions - y_test) ** 2)))
    ax.set_title(f"{data.name} test set: RMSE {rmse:.4g}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
