"""What a regression run reports: the output bias started at the training targets' mean; after
training, the test RMSE, MAE and R² (:mod:`nn.metrics`, from the one evaluation of the test set)
and a figure: the fitted curve for a one-dimensional input (data, the true function when known, the
prediction), predicted against true values otherwise."""

from __future__ import annotations

import numpy as np

from ..plugin import Changes, Plugin, Priority


class RegressionReport(Plugin):
    name = "regression"
    example = {"dataset": "sine", "loss": "squared_error"}
    changes = Changes(files=("fit.png",))
    priority = Priority.RECORD

    def enabled(self, config):
        return not config.task.classifies

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


def fit_figure(data, model, predictions: np.ndarray, path):
    """``fit.png``: the network's curve over a one-dimensional input's range (the data in its own
    units, the true function when the data set knows it), predicted against true values otherwise."""
    from tracking import plots

    y_test = data.y_test.reshape(len(data.y_test), -1)
    rmse = float(np.sqrt(np.mean((predictions - y_test) ** 2)))
    curve = None
    if data.n_features == 1:
        raw_x = data.preprocessing.invert(data.x_test)[:, 0]
        grid = np.linspace(raw_x.min(), raw_x.max(), 400)
        fitted = model.predict(data.preprocessing.apply(grid[:, None].astype(np.float32)))[:, 0]
        truth = data.info.truth(grid) if data.info.truth is not None else None
        curve = (raw_x, grid, fitted, truth)
    from .titles import dataset_title

    title = f"{dataset_title(data.name)} test set: RMSE {rmse:.4g}"
    return plots.fit_figure(path, title, y_test[:, 0], predictions[:, 0], curve)
