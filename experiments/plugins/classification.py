"""What a classification run shows: sample images before training; after it, the test
accuracy and loss, per-class precision, recall and F1 and the macro F1 (scikit-learn's
metrics), the confusion matrix (counts as CSV, a row-normalised figure, W&B's interactive
matrix)."""

from __future__ import annotations

import numpy as np

import nn


def before_training(data, model, folder, reporters) -> None:
    """One training image per class (the assignment's question 1), for image data sets."""
    if data.image_shape is None:
        return
    from tracking import plots

    grid = plots.sample_grid(data.x_train, data.y_train, data.image_shape, data.class_names, folder / "samples.png")
    for reporter in reporters:
        reporter.log_samples(data.x_train, data.y_train, data.image_shape, data.class_names, grid)


def test_report(model, loss, data, folder, reporters) -> dict:
    """Test-set metrics for the summary, and the confusion matrix to every reporter."""
    from sklearn.metrics import precision_recall_fscore_support

    from tracking import plots

    scores = nn.evaluate(model, loss, data.x_test, data.y_test)
    predictions = model.predict(data.x_test).argmax(axis=1)
    labels = list(range(data.n_classes))
    precision, recall, f1, _ = precision_recall_fscore_support(data.y_test, predictions, labels=labels, zero_division=0)
    per_class = {}
    for name, p, r, f in zip(data.class_names, precision, recall, f1):
        per_class.update(
            {f"test_precision/{name}": float(p), f"test_recall/{name}": float(r), f"test_f1/{name}": float(f)}
        )
    counts = plots.confusion_counts(data.y_test, predictions, data.n_classes)
    figure = plots.confusion_figure(
        counts, data.class_names, folder / "confusion_matrix.png", title=f"{data.name} test set"
    )
    np.savetxt(folder / "confusion_matrix.csv", counts, fmt="%d", delimiter=",")
    mistakes = _mistakes(model, loss, data, predictions, folder)
    for reporter in reporters:
        reporter.log_confusion(data.y_test, predictions, data.class_names)
        reporter.log_figures({"confusion_matrix_image": figure, **mistakes["figures"]})
        reporter.log_mistakes(mistakes["rows"], mistakes["images"], data.image_shape, data.class_names)
    return {**{f"test_{key}": value for key, value in scores.items()}, "test_macro_f1": float(np.mean(f1)), **per_class}


def fgsm_report(model, loss, data, eps, folder, reporters) -> dict:
    """Test accuracy under FGSM at ``eps`` and a figure: clean images, perturbation, adversarial images."""
    from tracking import plots

    from .adversarial import PixelSpace, fgsm

    x_adv, pixels, adversarial = fgsm(model, loss, data.x_test, data.y_test, eps, PixelSpace(data.preprocessing))
    scores = nn.evaluate(model, loss, x_adv, data.y_test)
    clean = model.predict(data.x_test[:8]).argmax(axis=1)
    fooled = model.predict(x_adv[:8]).argmax(axis=1)
    figure = plots.adversarial_figure(
        pixels[:8],
        adversarial[:8],
        data.y_test[:8],
        clean,
        fooled,
        data.image_shape,
        data.class_names,
        eps,
        folder / "fgsm.png",
    )
    for reporter in reporters:
        reporter.log_figures({"fgsm": figure})
    return {"fgsm_eps": eps, "test_accuracy_fgsm": scores["accuracy"], "test_loss_fgsm": scores["loss"]}


MAX_LOGGED_MISTAKES = 1000


def _mistakes(model, loss, data, predictions, folder) -> dict:
    """The misclassified test examples: ``mistakes.csv`` (all of them, most confident first) and,
    for image sets, ``worst_mistakes.png`` (the 16 most confident); the rows for W&B's table."""
    import csv

    from tracking import plots

    probabilities = nn.softmax(model.predict(data.x_test).astype(np.float64))
    wrong = np.flatnonzero(predictions != data.y_test)
    wrong = wrong[np.argsort(-probabilities[wrong, predictions[wrong]], kind="stable")]
    rows = [
        {
            "index": int(i),
            "true": data.class_names[data.y_test[i]],
            "predicted": data.class_names[predictions[i]],
            **{f"p({name})": float(probabilities[i, k]) for k, name in enumerate(data.class_names)},
        }
        for i in wrong
    ]
    with open(folder / "mistakes.csv", "w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["index", "true", "predicted", *[f"p({name})" for name in data.class_names]]
        )
        writer.writeheader()
        writer.writerows(rows)
    figures, images = {}, None
    if data.image_shape is not None:
        images = data.preprocessing.invert(data.x_test[wrong[:MAX_LOGGED_MISTAKES]])
        figures["worst_mistakes"] = plots.mistakes_figure(
            images[:16], rows[:16], data.image_shape, folder / "worst_mistakes.png"
        )
    logged = rows[:MAX_LOGGED_MISTAKES]
    return {"rows": logged, "images": images if images is not None else [None] * len(logged), "figures": figures}
