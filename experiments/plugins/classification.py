"""What a classification run reports: after training, the test accuracy and loss, per-class
precision, recall and F1 and the macro F1 (:mod:`nn.metrics`, from the one evaluation of the test
set), the confusion matrices of the training, validation and test sets (counts as CSV, W&B's
interactive matrices ``confusion_matrix_train``, ``confusion_matrix_val`` and ``confusion_matrix``)
and the misclassified test examples (``mistakes.csv``, most confident first; a W&B table); as
figures, one training image per class (the assignment's question 1), the row-normalised confusion
matrices (``confusion_matrix_train.png``, ``confusion_matrix_val.png``, ``confusion_matrix.png``) and
the 16 most confident mistakes.

The training and validation sets are predicted once more after training, in evaluation mode: no
dropout, no augmentation, no adversarial examples; the weights are the final ones, as for the test
set."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import nn
from nn import metrics
from tracking import SPLIT_TITLES, confusion_key

from ..plugin import Changes, Plugin, Priority

MAX_LOGGED_MISTAKES = 1000
MISTAKE_FIGURE = 16
SPLITS = ("train", "val", "test")


@dataclass
class Mistakes:
    """The most confident mistakes on the test set, for the figure: their rows and images."""

    rows: list = field(default_factory=list)
    images: np.ndarray | None = None


class ClassificationReport(Plugin[Mistakes]):
    name = "classification"
    priority = Priority.RECORD
    changes = Changes(
        summary=("test_recall/*", "test_macro_f1"),
        files=("mistakes.csv", "confusion_matrix.csv", "confusion_matrix.png", "samples.png"),
    )

    def new_state(self) -> Mistakes:
        return Mistakes()

    def enabled(self, config):
        return config.task.classifies

    def after_training(self, run):
        from tracking.files import write_csv_rows, write_text

        data, test = run.data, run.evaluations["test"]
        predictions = test.predictions
        for split, x, y in (("train", data.x_train, data.y_train), ("val", data.x_val, data.y_val)):
            if x is not None and y is not None and len(x):
                run.evaluations[split] = metrics.score_split(run.model, run.loss, x, y, split, data.class_names)
        for split in SPLITS:
            if split in run.evaluations:
                scores = run.evaluations[split]
                write_text(run.folder / f"{confusion_key(split)}.csv", _csv(scores.confusion))
                for reporter in run.reporters:
                    reporter.log_confusion(scores.y, scores.predictions, data.class_names, split)
        probabilities = nn.softmax(test.outputs.astype(np.float64))
        wrong = np.flatnonzero(predictions != data.y_test)
        wrong = wrong[np.argsort(-probabilities[wrong, predictions[wrong]], kind="stable")]
        names = data.class_names
        rows = [
            {
                "index": int(i),
                "true": names[data.y_test[i]],
                "predicted": names[predictions[i]],
                **{f"p({name})": float(probabilities[i, k]) for k, name in enumerate(names)},
            }
            for i in wrong
        ]
        write_csv_rows(run.folder / "mistakes.csv", ["index", "true", "predicted", *[f"p({n})" for n in names]], rows)
        images = None
        if data.image_shape is not None:
            images = data.preprocessing.invert(data.x_test[wrong[:MAX_LOGGED_MISTAKES]])
        logged = rows[:MAX_LOGGED_MISTAKES]
        run.state_of(self).rows, run.state_of(self).images = rows[:MISTAKE_FIGURE], images
        columns = ["index", "image", "true", "predicted", *[f"p({name})" for name in names]]
        table = [
            [
                row["index"],
                None if images is None else images[i].reshape(data.image_shape),
                row["true"],
                row["predicted"],
                *[row[f"p({name})"] for name in names],
            ]
            for i, row in enumerate(logged)
        ]
        for reporter in run.reporters:
            reporter.log_table("misclassified_test_examples", columns, table)
        return test.flat("test")

    def figures(self, run):
        from tracking import plots, tiles

        from .titles import dataset_title

        data, figures = run.data, {}
        if data.image_shape is not None:
            grid = tiles.sample_grid(
                data.x_train, data.y_train, data.image_shape, data.class_names, run.folder / "samples.png"
            )
            shown = tiles.one_sample_per_class(data.x_train, data.y_train, data.n_classes)
            for reporter in run.reporters:
                reporter.log_images(
                    "samples",
                    [data.x_train[i].reshape(data.image_shape) for i in shown],
                    [data.class_names[data.y_train[i]] for i in shown],
                )
            figures["sample_grid"] = grid
        for split in SPLITS:
            scores = run.evaluations.get(split)
            if scores is not None:
                figures[f"{confusion_key(split)}_image"] = plots.confusion_figure(
                    scores.confusion,
                    data.class_names,
                    run.folder / f"{confusion_key(split)}.png",
                    title=f"{dataset_title(data.name)} {SPLIT_TITLES[split].lower()}",
                )
        test = run.evaluations.get("test")
        if test is not None:
            rows, images = run.state_of(self).rows, run.state_of(self).images
            if images is not None:
                figures["worst_mistakes"] = tiles.mistakes_figure(
                    images[:MISTAKE_FIGURE], rows, data.image_shape, run.folder / "worst_mistakes.png"
                )
        return figures


def _csv(counts: np.ndarray) -> str:
    return "".join(",".join(str(int(v)) for v in row) + "\n" for row in counts)
