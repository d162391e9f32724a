"""Evaluate saved models on a test set: accuracy, loss, per-class precision, recall and F1, macro F1,
the confusion matrix as a PNG (regression: RMSE, MAE, R²); with several model files, their ensemble
(the mean of the members' softmax outputs, or of their predictions) beside each member.

\b
    python evaluate.py outputs/run1/model.npz outputs/run2/model.npz -d fashion_mnist --json
    python evaluate.py outputs/run3/model.npz -d other.csv --all_rows
"""

from __future__ import annotations

import os

# NumPy reads this once, at import: where the kernel defragments synchronously for transparent huge pages
# (transparent_hugepage/defrag = madvise, a common default), each new array of the training set's size
# stalls (0.44 s against 0.08 s to convert Fashion-MNIST to float32 on this project's machine; bench/REPORT.md).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import json

import click

from experiments.cli import OneLineErrors, echo, fail_on
from experiments.options import DatasetName, FiniteFloat


def _datasets():
    import datasets

    return datasets.names()


@click.command(cls=OneLineErrors, help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-d",
    "--dataset",
    type=DatasetName(_datasets()),
    default=None,
    help="Data set to test on; default: the one the models were trained on (another built-in one is refused). "
    "A .csv/.npz file with the columns (or the input shape) of the models' own: its test part, or every "
    "row with --all_rows.",
)
@click.option(
    "--all_rows",
    "--all-rows",
    is_flag=True,
    help="With a data file: test on every row (default: the test part train.py used: its x_test/y_test, or the "
    "fixed 20% split).",
)
@click.option(
    "--data_dir",
    "--data-dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Folder with the data set's files; without it, the FFNN_DATA_DIR environment variable, then the "
    "places train.py --help lists.",
)
@click.option(
    "--fgsm_eps",
    "--fgsm-eps",
    type=FiniteFloat(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Also report the accuracy under FGSM at this eps (white box, [0, 1] pixel space).",
)
@click.option(
    "--output_dir",
    "--output-dir",
    type=click.Path(file_okay=False),
    default="outputs/evaluate",
    show_default=True,
    help="Where the confusion matrix is written, as <model>_confusion_matrix.png (a model.npz: its run "
    "folder's name) or, for several models, ensemble_of_<n>_<hash of their paths>_confusion_matrix.png.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object as the last line of standard output.")
def cli(models, dataset, data_dir, fgsm_eps, output_dir, all_rows, as_json):
    from experiments.model_files import confusion_file_name, per_class_table
    from experiments.model_files import report as report_on
    from experiments.preflight import check_writable

    try:
        check_writable(output_dir, "--output_dir")
        report = report_on(
            models, dataset, data_dir, fgsm_eps, output_dir, all_rows, figure_name=confusion_file_name(models)
        )
    except (Exception, KeyboardInterrupt) as error:
        fail_on(error, before="before the evaluation finished")
    rows = report["members"] + ([report["ensemble"]] if "ensemble" in report else [])
    echo(f"{report['dataset']} test set, {report['n_test']} examples")
    for note in report["notes"]:
        echo(note)
    for row in rows:
        if not report["task"].classifies:
            echo(f"{row['model']}: RMSE {row['rmse']:.4f} | MAE {row['mae']:.4f} | R² {row['r2']:.4f}")
            continue
        fgsm = f" | acc under FGSM {row['accuracy_fgsm']:.4f}" if "accuracy_fgsm" in row else ""
        echo(
            f"{row['model']}: accuracy {row['accuracy']:.4f} | loss {row['loss']:.4f} | "
            f"macro F1 {row['macro_f1']:.4f}{fgsm}"
        )
    if "vote" in report:
        vote, split = report["vote"], report["disagreement"]
        echo(f"{vote['model']}: accuracy {vote['accuracy']:.4f} | macro F1 {vote['macro_f1']:.4f}")
        worst = sorted(split["by_class"].items(), key=lambda item: -item[1])[:3]
        echo(
            f"the members disagree on {split['fraction']:.1%} of the examples; most on "
            + ", ".join(f"{name} ({share:.0%})" for name, share in worst)
        )
    if "per_class" in report:  # one model's, or the ensemble's
        heading = "per class" if len(report["members"]) == 1 else f"per class, {report['ensemble']['model']}"
        echo(f"{heading}:")
        for line in per_class_table(report["per_class"]):
            echo(f"  {line}")
    if "confusion_matrix_png" in report:
        echo(f"confusion matrix: {report['confusion_matrix_png']}")
    if as_json:
        echo(json.dumps(report))


if __name__ == "__main__":
    cli()
