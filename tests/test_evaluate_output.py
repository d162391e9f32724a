"""evaluate.py's printed output and file names, on tiny digits models made in this process (fast tier).

The models are trained here for one epoch with ``nn.fit`` and saved with the metadata ``train.py
--save_model`` writes (``experiments.lifecycle.model_metadata``), so no train.py process is needed.
"""

import re

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import precision_recall_fscore_support

import datasets
import nn
import optimizers
from experiments import model_files


def save_digits_model(path, seed):
    """A one-epoch digits MLP saved at ``path`` as train.py saves one; returns its test predictions,
    computed here from the preprocessed test set (not through evaluate's code)."""
    data = datasets.load("digits", seed=seed)
    model = nn.mlp([data.n_features, 16, data.n_outputs], activation="relu", weight_init="xavier", seed=seed)
    nn.fit(
        model,
        "cross_entropy",
        optimizers.make("adam", learning_rate=0.01),
        nn.Batches(data.x_train, data.y_train, 32),
        epochs=1,
    )
    model.metadata = {
        "task": data.task,
        "dataset": data.name,
        "class_names": data.class_names,
        "loss": "cross_entropy",
        "n_features": data.n_features,
        "image_shape": data.image_shape,
        "pixels": data.image_shape is not None and data.info.eight_bit,
        "preprocessing": data.preprocessing.to_dict(),
        "config": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    probabilities = nn.softmax(model.predict(data.x_test).astype(np.float64))
    return probabilities, data.y_test


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    made = [save_digits_model(folder / f"run_seed{seed}" / "model.npz", seed) for seed in (0, 1)]
    return folder, made


def evaluate(args):
    import evaluate as command

    result = CliRunner().invoke(command.cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def table_rows(output: str) -> dict[str, tuple[float, float, float, int]]:
    """class -> (precision, recall, F1, support) from the printed per-class table."""
    lines = output.splitlines()
    header = next(
        k for k, line in enumerate(lines) if re.fullmatch(r"\s*class\s+precision\s+recall\s+F1\s+support", line)
    )
    rows = {}
    for line in lines[header + 1 :]:
        parts = line.split()
        if len(parts) != 5:
            break
        rows[parts[0]] = (float(parts[1]), float(parts[2]), float(parts[3]), int(parts[4]))
    return rows


def check_table(output, probabilities, y):
    precision, recall, f1, support = precision_recall_fscore_support(
        y, probabilities.argmax(axis=1), labels=np.arange(10), zero_division=0
    )
    rows = table_rows(output)
    assert list(rows) == [str(k) for k in range(10)]
    for k in range(10):
        assert rows[str(k)] == (
            pytest.approx(precision[k], abs=5e-5),
            pytest.approx(recall[k], abs=5e-5),
            pytest.approx(f1[k], abs=5e-5),
            support[k],
        ), k


def test_one_model_prints_its_per_class_table_and_names_the_figure_after_its_run_folder(models, tmp_path):
    folder, made = models
    output = evaluate([folder / "run_seed0" / "model.npz", "--output_dir", tmp_path / "e"])
    check_table(output, *made[0])
    figure = tmp_path / "e" / "run_seed0_confusion_matrix.png"
    assert figure.is_file() and f"confusion matrix: {figure}" in output
    assert not (tmp_path / "e" / "confusion_matrix.png").exists()


def test_an_ensemble_prints_the_ensembles_table_and_its_own_figure(models, tmp_path):
    folder, made = models
    paths = [folder / "run_seed0" / "model.npz", folder / "run_seed1" / "model.npz"]
    output = evaluate([*paths, "--output_dir", tmp_path])
    mean = np.mean([p for p, _ in made], axis=0)
    assert output.count("precision  recall") == 1  # the ensemble's table only
    check_table(output, mean, made[0][1])
    (figure,) = tmp_path.glob("ensemble_of_2_*_confusion_matrix.png")
    assert f"confusion matrix: {figure}" in output
    # the same members in another order: the same file; another set: another file
    assert model_files.confusion_file_name(paths[::-1]) == figure.name
    assert model_files.confusion_file_name([paths[0], paths[0].with_name("other.npz")]) != figure.name


@pytest.mark.parametrize(
    "paths, expected",
    [
        (["outputs/run_a/model.npz"], "run_a_confusion_matrix.png"),
        (["best.npz"], "best_confusion_matrix.png"),
        (["outputs/x y;rm -rf/model.npz"], "x_y_rm_-rf_confusion_matrix.png"),
        (["../..npz"], "model_confusion_matrix.png"),
    ],
)
def test_figure_names_are_plain_file_names(paths, expected):
    name = model_files.confusion_file_name(paths)
    assert name == expected and "/" not in name and not name.startswith(".")


def test_a_figure_name_never_leaves_the_output_folder():
    for text in ("../../etc/passwd", "/abs/path", "..", "", "a\\b", "ok-name_1.png"):
        name = model_files.safe_file_name(text)
        assert name and "/" not in name and "\\" not in name and not name.startswith(".")
