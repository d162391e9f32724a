"""What a classification run shows: sample images before training; after it, the test
accuracy and loss, the confusion matrix (counts as CSV, a row-normalised figure, W&B's
interactive matrix)."""
from __future__ import annotations

import numpy as np

import nn


def before_training(data, folder, reporters) -> None:
    """One training image per class (the assignment's question 1), for image data sets."""
    if data.image_shape is None:
        return
    from tracking import plots

    grid = plots.sample_grid(data.x_train, data.y_train, data.image_shape, data.class_names, folder / "samples.png")
    for reporter in reporters:
        reporter.log_samples(data.x_train, data.y_train, data.image_shape, data.class_names, grid)


def test_report(model, loss, data, folder, reporters) -> dict:
    """Test-set metrics for the summary, and the confusion matrix to every reporter."""
    from tracking import plots

    scores = nn.evaluate(model, loss, data.x_test, data.y_test)
    predictions = model.predict(data.x_test).argmax(axis=1)
    counts = plots.confusion_counts(data.y_test, predictions, data.n_classes)
    figure = plots.confusion_figure(counts, data.class_names, folder / "confusion_matrix.png",
                                    title=f"{data.name} test set")
    np.savetxt(folder / "confusion_matrix.csv", counts, fmt="%d", delimiter=",")
    for reporter in reporters:
        reporter.log_confusion(data.y_test, predictions, data.class_names)
        reporter.log_figures({"confusion_matrix_image": figure})
    return {f"test_{key}": value for key, value in scores.items()}
