"""nn.metrics: every metric against scikit-learn's, edge cases included, and score_split's one pass
against nn.evaluate (bit for bit) and against the scores computed from its outputs."""

import math
import subprocess
import sys

import numpy as np
import pytest
from sklearn import metrics as skm

import nn
from nn import metrics
from tests.conftest import ROOT

# (y_true, y_pred, n_classes): random, classes never predicted, classes absent from the data,
# a class absent from both, one sample, all correct, all wrong, a single class, no samples.
LABEL_CASES = {
    "random": (np.random.default_rng(0).integers(0, 5, 200), np.random.default_rng(1).integers(0, 5, 200), 5),
    "never_predicted": (np.array([0, 1, 2, 3, 3, 2, 1, 0]), np.array([0, 0, 2, 2, 0, 2, 2, 0]), 4),
    "absent_from_data": (np.array([1, 1, 1, 2, 2]), np.array([0, 1, 3, 2, 3]), 4),
    "absent_from_both": (np.array([0, 2, 2, 0, 2]), np.array([0, 2, 0, 0, 2]), 4),
    "one_sample": (np.array([3]), np.array([1]), 4),
    "all_correct": (np.arange(6) % 3, np.arange(6) % 3, 3),
    "all_wrong": (np.arange(6) % 3, (np.arange(6) + 1) % 3, 3),
    "single_class": (np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64), 1),
    "empty": (np.array([], dtype=np.int64), np.array([], dtype=np.int64), 3),
}


@pytest.mark.filterwarnings("ignore:A single label was found")  # scikit-learn on the one-class case
@pytest.mark.parametrize("case", LABEL_CASES)
def test_confusion_counts_equal_scikit_learn(case):
    y_true, y_pred, n = LABEL_CASES[case]
    counts = metrics.confusion_counts(y_true, y_pred, n)
    assert counts.dtype == np.int64 and counts.shape == (n, n)
    if len(y_true):
        np.testing.assert_array_equal(counts, skm.confusion_matrix(y_true, y_pred, labels=list(range(n))))
    assert counts.sum() == len(y_true)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(y_true, minlength=n))  # rows are true classes


@pytest.mark.parametrize("case", LABEL_CASES)
def test_precision_recall_f1_equal_scikit_learn_bit_for_bit(case):
    y_true, y_pred, n = LABEL_CASES[case]
    precision, recall, f1, support = metrics.precision_recall_f1(metrics.confusion_counts(y_true, y_pred, n))
    assert support.dtype == np.int64 and precision.dtype == recall.dtype == f1.dtype == np.float64
    if not len(y_true):
        assert not precision.any() and not recall.any() and not f1.any() and not support.any()
        return
    expected = skm.precision_recall_fscore_support(y_true, y_pred, labels=list(range(n)), zero_division=0)
    for ours, theirs in zip((precision, recall, f1, support), expected):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("case", [case for case in LABEL_CASES if case != "empty"])
def test_macro_f1_and_accuracy_equal_scikit_learn(case):
    y_true, y_pred, n = LABEL_CASES[case]
    expected = skm.f1_score(y_true, y_pred, average="macro", labels=list(range(n)), zero_division=0)
    assert metrics.macro_f1(metrics.confusion_counts(y_true, y_pred, n)) == expected
    assert metrics.accuracy(y_true, y_pred) == skm.accuracy_score(y_true, y_pred)


def test_macro_f1_counts_every_class_unlike_scikit_learns_default_labels():
    """A class in neither the data nor the predictions scores F1 0 and lowers the macro mean: the
    run's classes are fixed by the data set, not by what one split happens to contain."""
    y_true, y_pred, n = LABEL_CASES["absent_from_both"]
    ours = metrics.macro_f1(metrics.confusion_counts(y_true, y_pred, n))
    assert ours == pytest.approx(skm.f1_score(y_true, y_pred, average="macro", zero_division=0) * 2 / 4)


def test_zero_division_gives_zero_not_nan():
    counts = metrics.confusion_counts(np.array([0, 0, 1]), np.array([1, 1, 1]), 3)
    precision, recall, f1, support = metrics.precision_recall_f1(counts)
    assert precision.tolist() == [0.0, 1 / 3, 0.0]  # class 0 never predicted, class 2 never either
    assert recall.tolist() == [0.0, 1.0, 0.0]  # class 2 absent from the data
    assert f1.tolist() == [0.0, 0.5, 0.0] and support.tolist() == [2, 1, 0]


@pytest.mark.parametrize(
    "y_true, y_pred, n, message",
    [
        ([0, 1, 2], [0, 1, 3], 3, "predicted labels must lie in"),
        ([-1, 1], [0, 1], 3, "true labels must lie in"),
        ([0, 1], [0, 1, 1], 3, "2 true labels but 3 predicted"),
        ([0.0, 1.0], [0, 1], 3, "integer class ids"),
        ([0, 1], [0, 1], 0, "at least one class"),
    ],
)
def test_confusion_counts_reject_labels_that_do_not_fit(y_true, y_pred, n, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_counts(np.array(y_true), np.array(y_pred), n)


REGRESSION_CASES = {
    "one_column": (np.random.default_rng(2).normal(size=50), np.random.default_rng(3).normal(size=50)),
    "column_vector_vs_vector": (
        np.random.default_rng(2).normal(size=(30, 1)),
        np.random.default_rng(3).normal(size=30),
    ),
    "three_columns": (
        np.random.default_rng(4).normal(loc=[1.0, -5.0, 100.0], scale=[1.0, 0.1, 30.0], size=(40, 3)),
        np.random.default_rng(5).normal(loc=[1.0, -5.0, 100.0], scale=[1.0, 0.1, 30.0], size=(40, 3)),
    ),
    "perfect": (np.linspace(-1, 1, 9), np.linspace(-1, 1, 9)),
    "constant_target_missed": (np.full(5, 0.1), np.array([0.1, 0.2, 0.0, 0.1, 0.1])),
    "constant_target_hit": (np.full(5, 0.1), np.full(5, 0.1)),
    "one_constant_column": (np.c_[np.full(6, 2.0), np.arange(6.0)], np.c_[np.arange(6.0), np.arange(6.0) + 0.5]),
    "float32": (np.linspace(0, 1, 20, dtype=np.float32), np.linspace(0, 1, 20, dtype=np.float32) ** 2),
}


@pytest.mark.parametrize("case", REGRESSION_CASES)
def test_regression_metrics_equal_scikit_learn(case):
    y_true, y_pred = REGRESSION_CASES[case]
    # ours computes in float64 whatever the inputs' dtype; scikit-learn keeps float32
    true, predicted = y_true.astype(np.float64), y_pred.reshape(np.shape(y_true)).astype(np.float64)
    assert metrics.rmse(y_true, y_pred) == pytest.approx(
        math.sqrt(skm.mean_squared_error(true, predicted)), rel=1e-12, abs=1e-15
    )
    assert metrics.mae(y_true, y_pred) == pytest.approx(skm.mean_absolute_error(true, predicted), rel=1e-12)
    assert metrics.r2(y_true, y_pred) == pytest.approx(skm.r2_score(true, predicted), rel=1e-12)


def test_r2_of_fewer_than_two_samples_is_nan_as_in_scikit_learn():
    with pytest.warns(Warning):
        assert math.isnan(skm.r2_score([1.0], [2.0]))
    assert math.isnan(metrics.r2([1.0], [2.0]))
    assert all(math.isnan(f(np.empty(0), np.empty(0))) for f in (metrics.rmse, metrics.mae, metrics.r2))


def test_the_streaming_accumulator_agrees_with_the_whole_array_functions():
    rng = np.random.default_rng(6)
    outputs, targets = rng.normal(size=(70, 2)), rng.normal(loc=3.0, size=(70, 2))
    accumulator = metrics.for_task("regression")
    for start in range(0, 70, 16):
        accumulator.update(outputs[start : start + 16], targets[start : start + 16])
    result = accumulator.result()
    assert result["rmse"] == pytest.approx(metrics.rmse(targets, outputs), rel=1e-12)
    assert result["mae"] == pytest.approx(metrics.mae(targets, outputs), rel=1e-12)
    assert result["r2"] == pytest.approx(metrics.r2(targets, outputs), rel=1e-9)


# -- score_split ----------------------------------------------------------------------------
def classifier(seed=0):
    return nn.mlp([6, 8, 4], activation="tanh", weight_init="Xavier", seed=seed, norm="batch", dropout=0.2)


@pytest.fixture
def classified():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(23, 6)).astype(np.float32)
    y = np.array([0, 1, 2] * 7 + [0, 1])  # class 3 never occurs
    return x, y


@pytest.mark.parametrize("loss", ["cross_entropy", "mean_squared_error", "perceptron"])
@pytest.mark.parametrize("batch_size", [None, 5])
def test_score_split_equals_evaluate_bit_for_bit_and_predicts_once(classified, loss, batch_size, monkeypatch):
    x, y = classified
    model = classifier()
    expected = nn.evaluate(model, loss, x, y, batch_size=batch_size)
    outputs = model.predict(x, batch_size=batch_size)
    calls = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x, training=False: calls.append(training) or forward(x, training))
    scores = nn.score_split(model, loss, x, y, "test", batch_size=batch_size)
    assert calls == [False] * math.ceil(len(x) / (batch_size or model.eval_batch_size))  # one pass, evaluation mode
    assert scores.loss == expected["loss"] and scores.metrics["accuracy"] == expected["accuracy"]
    np.testing.assert_array_equal(scores.outputs, outputs)
    np.testing.assert_array_equal(scores.predictions, outputs.argmax(axis=1))
    np.testing.assert_array_equal(scores.y, y)


def test_score_split_classification_record_and_flat_keys(classified):
    x, y = classified
    model = classifier(seed=3)
    names = ["zero", "one", "two", "three"]
    scores = nn.score_split(model, "cross_entropy", x, y, "test", class_names=names)
    predictions = model.predict(x).argmax(axis=1)
    labels = list(range(4))
    np.testing.assert_array_equal(scores.confusion, skm.confusion_matrix(y, predictions, labels=labels))
    precision, recall, f1, _ = skm.precision_recall_fscore_support(y, predictions, labels=labels, zero_division=0)
    assert scores.metrics["macro_f1"] == float(np.mean(f1))
    assert list(scores.per_class) == names
    assert scores.per_class["three"] == {"precision": precision[3], "recall": 0.0, "f1": 0.0, "support": 0.0}
    flat = scores.flat()
    assert list(flat)[:3] == ["test_loss", "test_accuracy", "test_macro_f1"]
    for k, name in enumerate(names):
        assert flat[f"test_precision/{name}"] == precision[k]
        assert flat[f"test_recall/{name}"] == recall[k]
        assert flat[f"test_f1/{name}"] == f1[k]
    assert len(flat) == 3 + 3 * len(names)
    assert all(type(value) is float for value in flat.values())
    assert set(scores.flat("fold1_val")) == {key.replace("test_", "fold1_val_", 1) for key in flat}
    assert "loss" in scores.flat("") and "precision/zero" in scores.flat("")
    assert list(nn.score_split(model, "cross_entropy", x, y, "val").per_class) == ["0", "1", "2", "3"]
    with pytest.raises(ValueError, match="3 class names for 4 outputs"):
        nn.score_split(model, "cross_entropy", x, y, "test", class_names=names[:3])


def test_score_split_regression_equals_evaluate_and_writes_the_regression_keys():
    rng = np.random.default_rng(8)
    model = nn.mlp([3, 5, 2], activation="tanh", weight_init="Xavier", seed=1)
    x, y = rng.normal(size=(30, 3)).astype(np.float32), rng.normal(size=(30, 2)).astype(np.float32)
    expected = nn.evaluate(model, "squared_error", x, y, batch_size=7)
    scores = nn.score_split(model, nn.LOSSES["squared_error"], x, y, "test", batch_size=7)
    assert scores.task == "regression" and scores.confusion is None and scores.per_class is None
    assert scores.flat() == {f"test_{key}": value for key, value in expected.items()}
    assert list(scores.flat()) == ["test_loss", "test_rmse", "test_mae", "test_r2"]
    np.testing.assert_array_equal(scores.predictions, model.predict(x))
    assert scores.metrics["rmse"] == pytest.approx(metrics.rmse(y, scores.outputs), rel=1e-6)


def test_score_split_of_an_empty_split_keeps_the_output_shape():
    model = classifier()
    scores = nn.score_split(model, "cross_entropy", np.empty((0, 6), np.float32), np.empty(0, np.int64), "val")
    assert scores.outputs.shape == (0, 4) and scores.loss == 0.0
    assert scores.confusion is not None and not scores.confusion.any()


def test_importing_nn_metrics_loads_no_scikit_learn():
    code = "import sys, nn.metrics; assert 'sklearn' not in sys.modules, 'sklearn imported'"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_majority_vote_and_disagreement_against_a_loop():
    """evaluate.py's vote: the most voted class, a tie to the tied class of highest mean probability
    (written out here with collections.Counter); disagreement: the share of examples not all agree on."""
    from collections import Counter

    from experiments.model_files import disagreement, majority_vote

    rng = np.random.default_rng(5)
    members = [rng.dirichlet(np.ones(4), size=300) for _ in range(4)]  # four members: ties happen
    mean = np.mean(members, axis=0)
    expected = []
    for i in range(300):
        counts = Counter(int(p[i].argmax()) for p in members)
        top = max(counts.values())
        tied = [c for c, n in counts.items() if n == top]
        expected.append(max(tied, key=lambda c: mean[i, c]))
    np.testing.assert_array_equal(majority_vote(members), expected)
    y = rng.integers(0, 4, 300)
    split = disagreement(y, members, ["a", "b", "c", "d"])
    predicted = [[int(p[i].argmax()) for p in members] for i in range(300)]
    assert split["fraction"] == pytest.approx(np.mean([len(set(row)) > 1 for row in predicted]))
    assert split["pairwise"][0][0] == 0.0 and split["pairwise"][1][2] == split["pairwise"][2][1]


def test_log_loss_of_given_probabilities_is_scikit_learns():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(4), size=50)
    y = rng.integers(0, 4, size=50)
    assert metrics.log_loss(y, p) == pytest.approx(log_loss(y, p, labels=range(4)), rel=1e-12)
    assert metrics.log_loss([0], [[0.0, 1.0]]) == pytest.approx(-np.log(1e-300))  # a sure mistake: large, finite
