"""A validation set of one's own: ``--val_data FILE`` (a CSV with the training CSV's columns, an NPZ with
arrays ``x`` and ``y``) and an NPZ training file's ``x_val``/``y_val``. Nothing is held out of training
then; a CSV validation file is encoded with the encoding fitted on the training rows (checked against
scikit-learn's imputers, one-hot encoder and scaler fitted on those rows); the validation scores a run
reports are those scikit-learn computes from its saved model on that file; a file that does not fit the
training data is one line and exit code 2; the summary says where validation came from (``val_source``)."""

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import datasets
import nn
from tests.conftest import ROOT
from tests.test_files import QUIET, census, only_folder, train, write_csv

COLUMNS = ["age", "workclass", "hours", "income"]


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))[1:]


def train_and_val_files(tmp_path: Path) -> tuple[Path, Path, list[list[str]], list[list[str]]]:
    """A census table cut into a training file (300 rows) and a validation file (the other 100 rows, one
    with a workclass no training row has, one without a target), the validation file's columns in
    another order; and both files' rows (the validation rows in the training column order)."""
    rows = read_rows(census(tmp_path / "all.csv", n=400, seed=1))
    train_rows, val_rows = (
        rows[:300],
        [*rows[300:], ["33", "Never-worked", "20.0", "<=50K"], ["50", "Private", "1", ""]],
    )
    order = [3, 2, 0, 1]  # income, hours, age, workclass
    write_csv(tmp_path / "train.csv", COLUMNS, train_rows)
    write_csv(tmp_path / "val.csv", [COLUMNS[i] for i in order], [[row[i] for i in order] for row in val_rows])
    return tmp_path / "train.csv", tmp_path / "val.csv", train_rows, val_rows[:-1]  # the last: no target, dropped


def scikit_learn_features(train_rows, rows) -> np.ndarray:
    """``rows`` encoded as the network sees them, by scikit-learn fitted on ``train_rows``: age and hours
    median-imputed, workclass imputed with its most frequent value and one-hot encoded (unknown: zeros),
    in the file's column order, then standardised with the training rows' mean and standard deviation.
    The last of ``rows`` has a workclass unknown to the training rows."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def numbers(rows, j):
        return np.array([[float(r[j]) if r[j].strip() not in ("", "?") else np.nan] for r in rows])

    def texts(rows):
        return np.array([[r[1].strip() if r[1].strip() not in ("", "?") else np.nan] for r in rows], dtype=object)

    age, hours = (SimpleImputer(strategy="median").fit(numbers(train_rows, j)) for j in (0, 2))
    work = SimpleImputer(strategy="most_frequent").fit(texts(train_rows))
    onehot = OneHotEncoder(handle_unknown="ignore").fit(work.transform(texts(train_rows)).astype(str))

    def encode(rows):
        return np.hstack(
            [
                age.transform(numbers(rows, 0)),
                onehot.transform(work.transform(texts(rows)).astype(str)).toarray(),
                hours.transform(numbers(rows, 2)),
            ]
        )

    encoded = encode(rows)
    assert not encoded[-1, 1:4].any()  # the last row's workclass is no training row's: every one-hot column is 0
    return StandardScaler().fit(encode(train_rows)).transform(encoded)


def training_rows(rows):
    """The rows a run trains on: the file's fixed test split left out, as scikit-learn's
    ``train_test_split(test_size=0.2, random_state=0, stratify=target)`` leaves it (docs/own-data.md)."""
    from sklearn.model_selection import train_test_split

    kept, _ = train_test_split(np.arange(len(rows)), test_size=0.2, random_state=0, stratify=[r[3] for r in rows])
    return [rows[i] for i in kept]


def test_a_csv_split_into_train_and_val_files_validates_on_the_val_file(tmp_path):
    from sklearn.metrics import accuracy_score, log_loss

    train_file, val_file, train_rows, val_rows = train_and_val_files(tmp_path)
    args = ["-d", train_file, "--target", "income", "--val_data", val_file, "-e", "3", "-b", "32", *QUIET]
    result = train([*args, "--save_model", "--output_dir", "o"], tmp_path)
    assert result.exit_code == 0, result.output
    assert f"validation: given file {val_file} (101 rows); nothing held out" in result.output
    assert f"{val_file}: 1 rows without a 'income' value dropped" in result.output
    assert "(240 train / 101 val / 60 test" in result.output  # 300 rows: 20% test, nothing held out
    folder = only_folder(tmp_path / "o")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["val_source"] == f"given file {val_file}"

    data = datasets.load(str(train_file), target="income", val_data=str(val_file))
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (240, 101, 60)
    expected = scikit_learn_features(training_rows(train_rows), val_rows)
    np.testing.assert_allclose(data.x_val, expected, rtol=1e-5, atol=1e-5)
    y = np.array([["<=50K", ">50K"].index(r[3]) for r in val_rows])  # the class names, sorted
    np.testing.assert_array_equal(data.y_val, y)

    model = nn.Sequential.load(folder / "model.npz")  # the weights of the last epoch: a finished run's
    probabilities = nn.softmax(model.predict(expected.astype(np.float32)).astype(np.float64))
    assert summary["val_accuracy"] == pytest.approx(accuracy_score(y, probabilities.argmax(axis=1)), abs=1e-12)
    assert summary["val_loss"] == pytest.approx(log_loss(y, probabilities, labels=[0, 1]), rel=1e-5)
    encoding = model.metadata["preprocessing"]["encoding"]
    assert "Never-worked" not in encoding["categories"][1]  # learnt from the training rows only


def test_an_npz_with_x_val_and_y_val_validates_on_them(tmp_path):
    from sklearn.datasets import load_digits
    from sklearn.metrics import accuracy_score

    digits = load_digits()
    x, y = np.round(digits.images * (255 / 16)).astype(np.uint8), digits.target
    path = tmp_path / "digits.npz"
    np.savez(
        path,
        x=x[:1000],
        y=y[:1000],
        x_val=x[1000:1300, ..., None],
        y_val=y[1000:1300],
        x_test=x[1300:],
        y_test=y[1300:],
    )
    args = ["-d", path, "--val_fraction", "0.3", "-e", "2", "-b", "32", *QUIET, "--save_model", "--output_dir", "o"]
    result = train(args, tmp_path)
    assert result.exit_code == 0, result.output
    assert "(1000 train / 300 val / 497 test" in result.output  # the file's x_val wins over --val_fraction
    assert "--val_fraction does not apply" in result.output
    folder = only_folder(tmp_path / "o")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["val_source"] == f"x_val/y_val of {path}"
    low, high = float(x[:1000].min()), float(x[:1000].max())  # min-max over the training pixels only
    pixels = (x[1000:1300].reshape(300, -1).astype(np.float64) - low) / (high - low)
    data = datasets.load(str(path))
    np.testing.assert_allclose(data.x_val, pixels, atol=1e-6)
    np.testing.assert_array_equal(data.y_val, y[1000:1300])
    predicted = nn.Sequential.load(folder / "model.npz").predict(pixels.astype(np.float32)).argmax(axis=1)
    assert summary["val_accuracy"] == pytest.approx(accuracy_score(y[1000:1300], predicted), abs=1e-12)


def test_a_built_in_set_takes_an_npz_of_its_shape(tmp_path):
    """digits' own test images given as validation (as 8x8 images, flat, with a channel of 1): the validation
    rows are then the test rows, scaled alike, and nothing of the 1,437 training images is held out."""
    raw = datasets.DATASETS.get("digits").load_raw(None)
    test = datasets.load("digits", val_fraction=0.0)
    for name, images in (("images", raw.x_test), ("flat", raw.x_test.reshape(360, 64)), ("c1", raw.x_test[..., None])):
        path = tmp_path / f"{name}.npz"
        np.savez(path, x=images, y=raw.y_test)
        data = datasets.load("digits", val_data=str(path))
        assert len(data.x_train) == 1437 and data.val_source == f"given file {path}"
        np.testing.assert_array_equal(data.x_val, test.x_test)
        np.testing.assert_array_equal(data.y_val, raw.y_test)
    named = tmp_path / "named.npz"  # text labels are class names; an own class_names is read by name
    np.savez(named, x=raw.x_test[:4], y=np.array([2, 0, 1, 1]), class_names=np.array(["7", "3", "9"]))
    np.testing.assert_array_equal(datasets.load("digits", val_data=str(named)).y_val, [9, 7, 3, 3])


def test_a_csv_regression_and_a_validation_file_of_one_class(tmp_path):
    rows = read_rows(census(tmp_path / "all.csv", n=200, seed=2))
    write_csv(tmp_path / "train.csv", COLUMNS, rows[:150])
    rich = [row for row in rows[150:] if row[3] == ">50K"]
    write_csv(tmp_path / "rich.csv", COLUMNS, rich)  # one class: a training file could not, a validation file may
    data = datasets.load(str(tmp_path / "train.csv"), target="income", val_data=str(tmp_path / "rich.csv"))
    np.testing.assert_array_equal(data.y_val, np.ones(len(rich)))
    header = ["age", "workclass", "income", "hours"]  # hours, the target
    write_csv(tmp_path / "h.csv", header, [[r[0], r[1], r[3], r[2]] for r in rows[:150]])
    write_csv(tmp_path / "hv.csv", header, [[r[0], r[1], r[3], r[2]] for r in rows[150:]])
    data = datasets.load(str(tmp_path / "h.csv"), target="hours", val_data=str(tmp_path / "hv.csv"))
    assert data.task == "regression" and data.val_source == f"given file {tmp_path / 'hv.csv'}"
    np.testing.assert_allclose(data.y_val[:, 0], [float(r[2]) for r in rows[150:]], rtol=1e-6)


def test_a_held_out_split_says_so():
    assert datasets.load("digits", val_fraction=0.25, seed=3).val_source == "held out 25% of train (stratified, seed 3)"
    assert datasets.load("sine").val_source == "held out 10% of train (seed 0)"  # regression: not stratified
    assert datasets.load("digits", val_fraction=0.0).val_source == "none"
    data = datasets.load("digits", val_fraction=0.1)
    assert (len(data.x_train), len(data.x_val)) == (1437 - math.ceil(143.7), math.ceil(143.7))


def test_the_summary_of_a_held_out_run_says_where_validation_came_from(tmp_path):
    result = train(["-d", "digits", "-e", "1", *QUIET, "--output_dir", "o"], tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads((only_folder(tmp_path / "o") / "summary.json").read_text())
    assert summary["val_source"] == "held out 10% of train (stratified, seed 0)"


def test_k_fold_refuses_a_validation_file_and_leaves_an_npz_s_own_unused(tmp_path):
    train_file, val_file, _, _ = train_and_val_files(tmp_path)
    refused = train(["-d", train_file, "--target", "income", "--val_data", val_file, "--folds", "2", *QUIET], tmp_path)
    assert refused.exit_code == 2 and refused.output.strip().splitlines() == [
        "Error: --folds 2 validates on folds of the training data; it takes no --val_data (drop one of the two)"
    ]
    rng = np.random.default_rng(0)
    x, x_val = rng.normal(size=(120, 3)), rng.normal(size=(30, 3))
    np.savez(tmp_path / "f.npz", x=x, y=(x[:, 0] > 0).astype(int), x_val=x_val, y_val=(x_val[:, 0] > 0).astype(int))
    result = train(["-d", tmp_path / "f.npz", "--folds", "2", "-e", "1", *QUIET, "--output_dir", "cv"], tmp_path)
    assert result.exit_code == 0, result.output
    assert f"x_val/y_val of {tmp_path / 'f.npz'} is not used" in result.output
    fold = json.loads((only_folder(tmp_path / "cv") / "fold1" / "summary.json").read_text())
    assert fold["val_source"] == "fold 1 of 2 of train (stratified, seed 0)"


def digits_npz(tmp_path: Path, **extra) -> Path:
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(tmp_path / "d.npz", x=digits.images[:300], y=digits.target[:300], **extra)
    return tmp_path / "d.npz"


def census_with(tmp_path: Path, header, change) -> list:
    """``-d train.csv --target income --val_data bad.csv``: ``bad.csv`` with the columns ``header`` and the
    rows of a census table, each changed by ``change``."""
    rows = read_rows(census(tmp_path / "train.csv", n=120))
    bad = write_csv(tmp_path / "bad.csv", header, [change(list(row)) for row in rows[:20]])
    return ["-d", tmp_path / "train.csv", "--target", "income", "--val_data", bad]


def _set(row, j, value):
    row[j] = value
    return row


BAD = {  # the arguments a case makes, what its one line says
    "csv lacks a column": (
        lambda t: census_with(t, ["age", "workclass", "income"], lambda r: [r[0], r[1], r[3]]),
        "its columns differ from the training file",
        "missing hours",
    ),
    "csv lacks the target": (
        lambda t: census_with(t, COLUMNS[:3], lambda r: r[:3]),
        "missing income (the target)",
    ),
    "csv has another column": (
        lambda t: census_with(t, [*COLUMNS, "extra"], lambda r: [*r, "1"]),
        "unknown extra",
    ),
    "csv has an unknown label": (
        lambda t: census_with(t, COLUMNS, lambda r: _set(r, 3, "maybe")),
        "labels the training data does not have: 'maybe'",
    ),
    "csv has text in a numeric column": (
        lambda t: census_with(t, COLUMNS, lambda r: _set(r, 0, "old")),
        "column 'age' holds 'old' (line 2); it holds numbers in",
    ),
    "npz for a csv": (
        lambda t: ["-d", census(t / "train.csv", n=80), "--target", "income", "--val_data", digits_npz(t)],
        "must be a .csv with the same columns",
    ),
    "no such file": (
        lambda t: ["-d", "digits", "--val_data", t / "bad.npz"],
        "no such file",
    ),
    "npz of another shape": (
        lambda t: ["-d", digits_npz(t), "--val_data", _npz(t / "bad.npz", x=np.zeros((5, 4, 4)), y=np.arange(5))],
        "x's rows have shape (4, 4)",
        "has rows of shape (8, 8)",
    ),
    "npz with an unknown label": (
        lambda t: ["-d", digits_npz(t), "--val_data", _npz(t / "bad.npz", x=np.zeros((2, 8, 8)), y=np.array([3, 11]))],
        "labels the training data does not have: '11'",
    ),
    "npz with two targets a row": (
        lambda t: ["-d", "digits", "--val_data", _npz(t / "bad.npz", x=np.zeros((2, 64)), y=np.zeros((2, 2)))],
        "y has shape (2, 2)",
    ),
    "built-in set, other width": (
        lambda t: ["-d", "digits", "--val_data", _npz(t / "bad.npz", x=np.zeros((3, 10)), y=np.arange(3))],
        "x's rows have shape (10,); digits has rows of shape (8, 8)",
    ),
    "built-in set, class id out of range": (
        lambda t: ["-d", "digits", "--val_data", _npz(t / "bad.npz", x=np.zeros((2, 64)), y=np.array([0, 10]))],
        "labels 0..10; digits has class ids 0..9",
    ),
    "built-in set, a csv": (
        lambda t: ["-d", "digits", "--val_data", write_csv(t / "bad.csv", ["a", "y"], [[1, 2]])],
        "must be a .npz with arrays x and y",
    ),
    "training npz with x_val, no y_val": (
        lambda t: ["-d", digits_npz(t, x_val=np.zeros((2, 8, 8)))],
        "has one of x_val and y_val without the other",
    ),
    "training npz with x_val of another shape": (
        lambda t: ["-d", digits_npz(t, x_val=np.zeros((2, 8, 7)), y_val=np.arange(2))],
        "x_val's rows have shape (8, 7), x's have (8, 8)",
    ),
}


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_validation_file_that_does_not_fit_is_one_line_and_exit_2(case, tmp_path):
    make, *words = BAD[case]
    args = make(tmp_path)
    named = Path(args[args.index("--val_data") + 1] if "--val_data" in args else args[1])
    result = train([*args, *QUIET, "--output_dir", "o"], tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {named}: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    assert not (tmp_path / "o").exists()  # nothing started


def test_the_process_exits_2_with_the_line_on_stderr(tmp_path):
    args = [str(a) for a in BAD["csv lacks the target"][0](tmp_path)]
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args, *QUIET, "--output_dir", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'bad.csv'}: its columns differ from the training file {tmp_path / 'train.csv'}'s "
        "(missing income (the target))"
    )
