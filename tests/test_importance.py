"""``--importance N``: permutation importance of the input features on the test split. A single column is
scikit-learn's ``permutation_importance`` exactly (same ``random_state``); a group of columns (a CSV
column's one-hot columns) is scikit-learn's importance of one column of row numbers that stands for the
whole group; a network trained on a table whose target depends on one column ranks that column first and
the noise columns (one numeric, one categorical) near 0; the CSV, the figure and the summary are written;
image data sets are refused in one line."""

import csv
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, mean_squared_error
from test_figures import plausible

import datasets
import nn
from experiments import presets
from experiments.errors import ConfigError
from experiments.plugins import named
from experiments.plugins.importance import NetworkEstimator, feature_groups, permutation_drops, ranked
from experiments.run import run

PLUGIN = named("importance")


def network(n_in, n_out, seed=0):
    return nn.mlp([n_in, 16, n_out], activation="tanh", weight_init="Xavier", seed=seed)


def table(n=120, d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32)


def test_the_estimator_scores_the_tasks_primary_metric_larger_better():
    x = table()
    model = network(5, 3)
    y = np.random.default_rng(1).integers(0, 3, len(x))
    outputs = model.predict(x)
    assert NetworkEstimator(model, True).score(x, y) == pytest.approx(accuracy_score(y, outputs.argmax(axis=1)))
    regressor = network(5, 2)
    targets = np.random.default_rng(2).normal(size=(len(x), 2))
    expected = -math.sqrt(mean_squared_error(targets, regressor.predict(x)))
    assert NetworkEstimator(regressor, False).score(x, targets) == pytest.approx(expected, rel=1e-6)
    assert NetworkEstimator(model, True).fit(x, y).predict(x).tolist() == outputs.argmax(axis=1).tolist()


@pytest.mark.parametrize("classifies", [True, False], ids=["accuracy", "rmse"])
@pytest.mark.parametrize("seed", [0, 7])
def test_single_columns_are_scikit_learns_permutation_importance_exactly(classifies, seed):
    x = table(seed=seed)
    model = network(5, 3 if classifies else 1, seed=seed)
    outputs = model.predict(x)
    rng = np.random.default_rng(seed + 1)
    if classifies:  # targets the network half gets right: shuffles change the score
        y = np.where(rng.random(len(x)) < 0.6, outputs.argmax(axis=1), rng.integers(0, 3, len(x)))
    else:
        y = outputs + rng.normal(scale=0.1, size=outputs.shape)
    estimator = NetworkEstimator(model, classifies)
    baseline, drops = permutation_drops(estimator.score, x, y, [[j] for j in range(5)], 6, seed)
    reference = permutation_importance(estimator, x, y, n_repeats=6, random_state=seed)
    assert np.array_equal(drops, reference.importances)
    assert np.abs(drops).max() > 0  # the shuffles did change the score
    assert baseline == estimator.score(x, y)
    rows = ranked([(f"x{j}", [j]) for j in range(5)], drops)
    by_name = {row["feature"]: row for row in rows}
    for j in range(5):
        assert by_name[f"x{j}"]["mean_drop"] == reference.importances_mean[j]
        assert by_name[f"x{j}"]["std"] == reference.importances_std[j]
    assert [row["rank"] for row in rows] == [1, 2, 3, 4, 5]
    assert [row["mean_drop"] for row in rows] == sorted(reference.importances_mean, reverse=True)


class RowNumbers:
    """scikit-learn's view of a group of columns: column 0 holds row numbers, which stand for the group's
    columns of those rows of ``x``; the other columns are the rest of ``x``. Shuffling column 0 moves
    the group's columns together, row by row."""

    def __init__(self, estimator, x, group):
        self.estimator, self.x, self.group = estimator, x, group
        self.others = [j for j in range(x.shape[1]) if j not in group]

    def view(self):
        return np.c_[np.arange(len(self.x), dtype=np.float64), self.x[:, self.others]]

    def fit(self, x, y=None):
        return self

    def score(self, view, y):
        rebuilt = np.empty_like(self.x)
        rebuilt[:, self.group] = self.x[view[:, 0].astype(int)][:, self.group]
        rebuilt[:, self.others] = view[:, 1:]
        return self.estimator.score(rebuilt, y)


def test_a_group_of_columns_is_shuffled_as_one_column_of_row_numbers():
    x = table(d=6, seed=3)
    model = network(6, 3, seed=3)
    y = model.predict(x).argmax(axis=1)
    y[::4] = (y[::4] + 1) % 3
    estimator = NetworkEstimator(model, True)
    groups = [[0, 1], [2], [3, 4, 5]]
    _, drops = permutation_drops(estimator.score, x, y, groups, 5, 11)
    for g, group in enumerate(groups):
        stand_in = RowNumbers(estimator, x, group)
        reference = permutation_importance(stand_in, stand_in.view(), y, n_repeats=5, random_state=11)
        assert np.array_equal(drops[g], reference.importances[0]), group
    assert np.abs(drops).max() > 0


def write_table(path, n=400, seed=0):
    """``label`` is 1 exactly when ``signal`` > 0; ``noise`` and ``colour`` (three categories) are drawn
    independently of it."""
    rng = np.random.default_rng(seed)
    signal, noise = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["noise", "colour", "signal", "label"])
        for row in zip(noise, colour, signal, np.where(signal > 0, "yes", "no")):
            writer.writerow([f"{row[0]:.4f}", row[1], f"{row[2]:.4f}", row[3]])
    return path


def test_the_groups_are_a_csv_files_columns_with_their_one_hot_columns_together(tmp_path):
    data = datasets.load(str(write_table(tmp_path / "t.csv")), target="label")
    groups = dict(feature_groups(data))
    assert groups == {"noise": [0], "colour": [1, 2, 3], "signal": [4]}
    names = data.preprocessing.encoding.feature_names
    assert [names[j] for j in groups["colour"]] == ["colour=blue", "colour=green", "colour=red"]


def test_bundled_features_are_named_and_followed_through_a_permutation():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    bunch = load_breast_cancer()
    _, x_test, _, _ = train_test_split(bunch.data, bunch.target, test_size=0.2, stratify=bunch.target, random_state=0)
    data = datasets.load("breast_cancer", scaling="none", permute_pixels=True, seed=3)
    groups = feature_groups(data)
    assert sorted(name for name, _ in groups) == sorted(bunch.feature_names)
    assert sorted(j for _, columns in groups for j in columns) == list(range(30))
    for name, (column,) in groups:
        raw = x_test[:, list(bunch.feature_names).index(name)].astype(np.float32)
        assert np.array_equal(data.x_test[:, column], raw), name
    assert [name for name, _ in feature_groups(datasets.load("sine"))] == ["x0"]


def test_the_network_ranks_the_one_column_the_target_depends_on_first(tmp_path):
    config = presets.resolve(
        {
            "dataset": str(write_table(tmp_path / "t.csv")),
            "target": "label",
            "epochs": 15,
            "num_layers": 1,
            "hidden_size": 16,
            "batch_size": 16,
            "learning_rate": 0.01,
            "importance": 10,
            "wandb_mode": "disabled",
            "output_dir": str(tmp_path / "out"),
        }
    )
    result = run(config, say=lambda line: None, progress=False)
    assert result.status == "finished", result.message
    with (result.folder / "importance.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["feature"] == "signal"
    assert [row["rank"] for row in rows] == ["1", "2", "3"]
    by_name = {row["feature"]: row for row in rows}
    assert float(by_name["signal"]["mean_drop"]) > 0.3
    for noise in ("noise", "colour"):
        assert abs(float(by_name[noise]["mean_drop"])) < 0.03, by_name[noise]
    assert by_name["colour"]["input_columns"] == "3"
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["importance/top_feature"] == "signal"
    assert summary["importance/top_drop"] == pytest.approx(float(by_name["signal"]["mean_drop"]))
    assert summary["importance/baseline"] == pytest.approx(summary["test_accuracy"])
    assert summary["importance_drop/colour"] == pytest.approx(float(by_name["colour"]["mean_drop"]))
    plausible(result.folder / "importance.png")


def test_a_regression_run_reports_the_rise_of_the_test_rmse(tmp_path):
    config = presets.resolve(
        {
            "dataset": "diabetes",
            "loss": "squared_error",
            "epochs": 3,
            "num_layers": 1,
            "hidden_size": 8,
            "importance": 2,
            "wandb_mode": "disabled",
            "output_dir": str(tmp_path),
        }
    )
    result = run(config, say=lambda line: None, progress=False)
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["importance/baseline"] == pytest.approx(summary["test_rmse"], rel=1e-6)
    names = {row["feature"] for row in csv.DictReader((result.folder / "importance.csv").open())}
    assert names == {"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"}
    plausible(result.folder / "importance.png")


def test_images_are_refused_in_one_line_before_anything_starts(tmp_path):
    import train

    args = ["-d", "digits", "--importance", "3", "--wandb_mode", "disabled", "--output_dir", str(tmp_path)]
    result = CliRunner().invoke(train.cli, args)
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: --importance") and "digits" in line
    assert not list(tmp_path.iterdir())
    with pytest.raises(ConfigError, match="tabular data"):
        PLUGIN.check(presets.resolve({"dataset": "digits", "importance": 3}), datasets.load("digits"))
