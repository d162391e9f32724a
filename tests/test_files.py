"""The user's own data: ``-d FILE.csv --target COLUMN`` and ``-d FILE.npz`` train, sweep, cross-validate,
resume and evaluate like the built-in sets; bad files get one line and exit 2. The encoding is checked
against scikit-learn's own ``ColumnTransformer``, the test split against ``train_test_split``."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import datasets
import nn
from datasets.tables import TableEncoding
from tests.conftest import ROOT
from tests.test_sweeps import run_sweep, trials_csv, write_sweep

QUIET = ["--wandb_mode", "disabled", "-nhl", "1", "-sz", "16"]


def write_csv(path: Path, header, rows) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def census(path: Path, n=300, seed=0) -> Path:
    """An Adult-census-like table: numbers, text categories, ``?`` and empty cells, a text target that
    depends on both kinds of column (so a network can learn it)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        age, hours = int(rng.integers(18, 70)), float(rng.normal(40, 8))
        work = str(rng.choice(["Private", "State-gov", "Self-emp"]))
        rich = (age > 40 and work != "Self-emp") or hours > 50
        rows.append(
            [
                "" if i % 17 == 0 else age,
                "?" if i % 13 == 0 else f" {work}",
                f"{hours:.1f}",
                (rich and ">50K") or "<=50K",
            ]
        )
    return write_csv(path, ["age", "workclass", "hours", "income"], rows)


def train(args, cwd):
    import train as train_module

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return CliRunner().invoke(train_module.cli, [*map(str, args)])


def only_folder(parent: Path) -> Path:
    (folder,) = [p for p in Path(parent).iterdir() if p.is_dir()]
    return folder


# The encoding --------------------------------------------------------------------------------


def test_table_encoding_equals_scikit_learns_column_transformer():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(3)
    n = 80
    numbers = rng.normal(size=n).round(3).astype(str).astype(object)
    numbers[::7] = ""
    colours = rng.choice(["red", "green", "blue"], size=n).astype(object)
    colours[::5] = "?"
    sizes = rng.choice(["S", "M", "L", "XL"], size=n).astype(object)
    cells = np.column_stack([numbers, colours, sizes])
    encoding = TableEncoding.fit(cells[:60], ("x", "colour", "size"), (True, False, False))

    reference = ColumnTransformer(
        [
            ("number", SimpleImputer(strategy="median"), [0]),
            (
                "text",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                [1, 2],
            ),
        ],
        sparse_threshold=0.0,
    )

    def as_sklearn(table):
        table = table.copy()
        numeric = np.where(table[:, 0] == "", np.nan, table[:, 0]).astype(float)
        text = np.where(table[:, 1:] == "?", np.nan, table[:, 1:])
        return np.column_stack([numeric.astype(object), text])

    reference.fit(as_sklearn(cells[:60]))
    unseen = cells[60:].copy()
    unseen[0, 2] = "XXL"  # a category never seen in training encodes as zeros in both
    np.testing.assert_allclose(encoding.transform(unseen), reference.transform(as_sklearn(unseen)), rtol=1e-6)
    assert encoding.feature_names[:2] == ["x", "colour=blue"]
    again = TableEncoding.from_dict(json.loads(json.dumps(encoding.to_dict())))
    np.testing.assert_array_equal(again.transform(unseen), encoding.transform(unseen))


def test_reorder_follows_names_and_refuses_other_columns():
    encoding = TableEncoding(("a", "b"), (True, True), (0.0, 0.0), (None, None))
    cells = np.array([["2", "1"]], dtype=object)
    assert encoding.reorder(("b", "a"), cells, "f.csv").tolist() == [["1", "2"]]
    with pytest.raises(ValueError, match=r"f.csv: its columns differ from the model's \(missing b; unknown c\)"):
        encoding.reorder(("a", "c"), cells, "f.csv")


# Reading files -------------------------------------------------------------------------------


def test_csv_classification_is_inferred_imputed_and_split_like_train_test_split(tmp_path):
    from sklearn.model_selection import train_test_split

    path = census(tmp_path / "adult.csv")
    file = datasets.read_file(str(path), "income")
    assert file.task == "classification" and file.class_names == ("<=50K", ">50K")
    assert file.columns == ("age", "workclass", "hours") and file.numeric == (True, False, True)
    _, _, x_test, y_test, _ = file.split()
    indices = np.arange(len(file.labels))
    _, expected_test = train_test_split(indices, test_size=0.2, stratify=file.labels, random_state=0)
    np.testing.assert_array_equal(np.sort(y_test), np.sort(file.labels[expected_test]))
    np.testing.assert_array_equal(x_test, file.x[expected_test])
    data = datasets.load(str(path), val_fraction=0.1, seed=5, target="income")
    other_seed = datasets.load(str(path), val_fraction=0.1, seed=6, target="income")
    np.testing.assert_array_equal(data.y_test, other_seed.y_test)  # the test rows do not move with --seed
    assert len(data.x_test) == 60 and data.n_features == 1 + 3 + 1
    imputed = 300 // 17 + 1 + 300 // 13 + 1
    assert any(f"{imputed} missing cells imputed" in note for note in data.notes), data.notes
    assert any("classification (inferred" in note for note in data.notes)
    # standard scaling, fitted on the training split: mean 0 per feature there
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0.0, atol=1e-5)


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["a", "b", "a", "c"] * 5, "classification"),
        ([1, 2, 3, 1] * 5, "classification"),
        ([float(v) for v in range(21)], "regression"),  # 21 distinct integers: more than 20 classes
        ([0.5, 1.25, 2.0, 3.5] * 5, "regression"),
    ],
)
def test_the_task_is_inferred_from_the_target(values, task, tmp_path):
    path = write_csv(tmp_path / "t.csv", ["x", "y"], [[i, v] for i, v in enumerate(values)])
    assert datasets.read_file(str(path), "y").task == task


def test_task_flag_overrides_and_is_checked(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["x", "y"], [[i, i % 3] for i in range(30)])
    assert datasets.read_file(str(path), "y", "regression").task == "regression"
    text = write_csv(tmp_path / "s.csv", ["x", "y"], [[i, "ab"[i % 2]] for i in range(30)])
    with pytest.raises(datasets.DataFileError, match="--task regression needs a numeric target"):
        datasets.read_file(str(text), "y", "regression")
    with pytest.raises(datasets.DataFileError, match="digits is a classification data set"):
        datasets.describe("digits", None, "regression")


def test_npz_images_with_their_own_test_arrays_and_class_names(tmp_path):
    rng = np.random.default_rng(0)
    x, x_test = rng.integers(0, 256, (50, 6, 5, 1), dtype=np.uint8), rng.integers(0, 256, (20, 6, 5, 1), dtype=np.uint8)
    np.savez(
        tmp_path / "i.npz",
        x=x,
        y=np.arange(50) % 3,
        x_test=x_test,
        y_test=np.arange(20) % 3,
        class_names=["a", "b", "c"],
    )
    data = datasets.load(str(tmp_path / "i.npz"), val_fraction=0.2)
    assert data.image_shape == (6, 5) and data.class_names == ["a", "b", "c"] and data.task == "classification"
    assert len(data.x_test) == 20 and len(data.x_train) == 40
    np.testing.assert_allclose(data.x_test[0], x_test[0].reshape(-1) / 255.0, atol=1e-6)  # min-max, 0 and 255 seen


BAD_FILES = {
    "missing": (lambda d: d / "nope.csv", [], "no such file"),
    "empty": (lambda d: _text(d / "e.csv", ""), ["--target", "y"], "the file is empty"),
    "header only": (lambda d: _text(d / "h.csv", "x,y\n"), ["--target", "y"], "has a header row and no data"),
    "no target": (
        lambda d: _text(d / "n.csv", "x,y\n1,2\n"),
        [],
        "say which column to predict with --target (columns: x, y)",
    ),
    "unknown target": (
        lambda d: _text(d / "u.csv", "x,y\n1,2\n"),
        ["--target", "z"],
        "--target 'z' is not a column (columns: x, y)",
    ),
    "ragged": (
        lambda d: _text(d / "r.csv", "x,y\n1,2\n3\n"),
        ["--target", "y"],
        "row 3 has 1 cells; the header has 2 columns",
    ),
    "one class": (
        lambda d: _text(d / "o.csv", "x,y\n" + "1,a\n" * 9),
        ["--target", "y"],
        "the target holds a single class (a)",
    ),
    "npz without y": (
        lambda d: _npz(d / "a.npz", x=np.zeros((4, 2))),
        [],
        "needs arrays x and y (found: x; missing: y)",
    ),
    "npz lengths": (lambda d: _npz(d / "b.npz", x=np.zeros((4, 2)), y=np.zeros(3)), [], "x has 4 rows but y has 3"),
    "npz objects": (
        lambda d: _npz(d / "c.npz", x=np.array([{}, {}], dtype=object), y=np.zeros(2)),
        [],
        "object arrays",
    ),
    "npz nan": (
        lambda d: _npz(d / "d.npz", x=np.array([[np.nan, 1.0], [0.0, 1.0]]), y=[0, 1]),
        [],
        "x holds NaN or infinite values",
    ),
    "not an npz": (lambda d: _text(d / "f.npz", "hello"), [], "not a readable .npz file"),
    "csv beyond float32": (  # was: a NumPy overflow warning, then scikit-learn's line naming no column
        lambda d: _text(
            d / "h.csv", "x,huge,y\n" + "".join(f"{i % 7},{'1e308' if i == 5 else i},{i % 2}\n" for i in range(40))
        ),
        ["--target", "y"],
        "column 'huge' holds 1e308 (line 7), beyond float32's range (±3.4e+38)",
    ),
    "csv infinite": (
        lambda d: _text(d / "i.csv", "x,y\n" + "".join(f"{'-inf' if i == 3 else i},{i % 2}\n" for i in range(40))),
        ["--target", "y"],
        "column 'x' holds -inf (line 5), beyond float32's range",
    ),
    "csv target beyond float32": (
        lambda d: _text(d / "t.csv", "x,y\n" + "".join(f"{i},{'1e300' if i == 8 else i / 3}\n" for i in range(40))),
        ["--target", "y"],
        "column 'y' holds 1e300 (line 10), beyond float32's range",
    ),
    "npz beyond float32": (
        lambda d: _npz(d / "g.npz", x=np.array([[1e308, 1.0], [0.0, 1.0]] * 20), y=[0, 1] * 20),
        [],
        "x holds NaN or infinite values, or values beyond float32's range",
    ),
}


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_files_get_one_line_naming_the_file_and_exit_2(case, tmp_path):
    make, args, message = BAD_FILES[case]
    path = make(tmp_path)
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "-d", str(path), *args, *QUIET, "--output_dir", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert path.name in lines[0] and message in lines[0], lines[0]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())  # nothing started


# Through train.py, evaluate.py, sweeps, k-fold, resume -----------------------------------------


def test_csv_run_saves_its_encoding_and_evaluate_reproduces_it(tmp_path):
    path = census(tmp_path / "adult.csv")
    result = train(["-d", path, "--target", "income", "-e", "3", *QUIET, "--save_model", "--output_dir", "o"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "missing cells imputed" in result.output and "classification (inferred" in result.output
    folder = only_folder(tmp_path / "o")
    assert folder.name.endswith("_adult.csv")  # the file's name, never its path, in the run's name
    summary = json.loads((folder / "summary.json").read_text())
    model = nn.Sequential.load(folder / "model.npz")
    assert model.metadata["preprocessing"]["encoding"]["columns"] == ["age", "workclass", "hours"]

    def evaluate(*args):
        return subprocess.run(
            [sys.executable, str(ROOT / "evaluate.py"), str(folder / "model.npz"), *map(str, args), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    same = evaluate()
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout.splitlines()[-1])["accuracy"] == pytest.approx(summary["test_accuracy"], abs=1e-12)
    with open(path) as handle:  # the same rows, columns in another order: the model takes them by name
        rows = list(csv.reader(handle))
    shuffled = write_csv(
        tmp_path / "other.csv", [rows[0][i] for i in (3, 2, 0, 1)], [[r[i] for i in (3, 2, 0, 1)] for r in rows[1:]]
    )
    reordered = evaluate("-d", shuffled)
    assert reordered.returncode == 0, reordered.stderr
    assert json.loads(reordered.stdout.splitlines()[-1])["accuracy"] == pytest.approx(
        summary["test_accuracy"], abs=1e-12
    )
    every = evaluate("-d", shuffled, "--all_rows")
    assert json.loads(every.stdout.splitlines()[-1])["n_test"] == 300
    fewer = write_csv(tmp_path / "fewer.csv", ["age", "hours", "income"], [[r[0], r[2], r[3]] for r in rows[1:]])
    refused = evaluate("-d", fewer)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == f"Error: {fewer}: its columns differ from the model's (missing workclass)"
    assert json.loads(same.stdout.splitlines()[-1])["notes"] == []
    renamed = write_csv(  # every "Self-emp" of the file as "Freelance", a category the model never saw
        tmp_path / "renamed.csv", rows[0], [[r[0], r[1].replace("Self-emp", "Freelance"), *r[2:]] for r in rows[1:]]
    )
    told = evaluate("-d", renamed, "--all_rows")
    expected = sum("Self-emp" in r[1] for r in rows[1:])
    note = f"column 'workclass': {expected} of 300 rows hold a category the model never saw (e.g. 'Freelance')"
    assert told.returncode == 0 and note in told.stdout, told.stdout
    assert any(note in line for line in json.loads(told.stdout.splitlines()[-1])["notes"])


def test_csv_regression_trains_and_evaluates(tmp_path):
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    path = write_csv(
        tmp_path / "diabetes.csv", [*bunch.feature_names, "progression"], np.column_stack([bunch.data, bunch.target])
    )
    result = train(
        [
            "-d",
            path,
            "--target",
            "progression",
            "-l",
            "squared_error",
            "-lr",
            "0.01",
            "-e",
            "30",
            *QUIET,
            "--save_model",
            "--output_dir",
            "o",
        ],
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "regression (inferred" in result.output
    folder = only_folder(tmp_path / "o")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["test_r2"] > 0.2
    evaluated = subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), str(folder / "model.npz"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout.splitlines()[-1])["rmse"] == pytest.approx(summary["test_rmse"], rel=1e-5)


def test_npz_images_train_a_cnn_and_resume(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(tmp_path / "digits.npz", x=(digits.images * 255 / 16).astype(np.uint8), y=digits.target)
    args = ["-d", "digits.npz", "--arch", "cnn", "--filters", "4", "-e", "1", *QUIET, "--output_dir", "o"]
    first = train(args, tmp_path)
    assert first.exit_code == 0, first.output
    folder = only_folder(tmp_path / "o")
    resumed = train(["--resume", folder, "-e", "2"], tmp_path)
    assert resumed.exit_code == 0, resumed.output
    history = json.loads((folder / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert (folder / "filters.png").is_file() and (folder / "samples.png").is_file()


@pytest.mark.slow  # a sweep process
def test_csv_in_a_sweep_file_and_with_folds(tmp_path):
    census(tmp_path / "adult.csv")
    sweep = write_sweep(
        tmp_path / "s.yaml",
        parameters={
            "dataset": {"value": "adult.csv"},
            "target": {"value": "income"},
            "epochs": {"value": 1},
            "num_layers": {"value": 1},
            "hidden_size": {"value": 8},
            "learning_rate": {"values": [0.01, 0.001]},
        },
    )
    result = run_sweep([sweep, "--wandb_mode", "disabled", "--output_dir", tmp_path / "sw"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row["state"] for row in trials_csv(tmp_path / "sw" / "s")] == ["complete", "complete"]
    folds = train(
        ["-d", "adult.csv", "--target", "income", "-e", "1", "--folds", "3", *QUIET, "--output_dir", "f"], tmp_path
    )
    assert folds.exit_code == 0, folds.output
    summary = json.loads((only_folder(tmp_path / "f") / "summary.json").read_text())
    assert 0.0 <= summary["cv_val_accuracy_mean"] <= 1.0


# Confusion matrices on every split ----------------------------------------------------------


def test_confusion_matrices_of_every_split_are_the_models_in_evaluation_mode(tmp_path):
    from sklearn.metrics import confusion_matrix

    result = train(
        ["-d", "digits", "-e", "2", *QUIET, "--dropout", "0.5", "--save_model", "--output_dir", "o"], tmp_path
    )
    assert result.exit_code == 0, result.output
    folder = only_folder(tmp_path / "o")
    model = nn.Sequential.load(folder / "model.npz")
    data = datasets.load("digits", val_fraction=0.1, seed=0)
    for name, x, y in (
        ("train", data.x_train, data.y_train),
        ("val", data.x_val, data.y_val),
        ("", data.x_test, data.y_test),
    ):
        stem = "confusion_matrix" + (f"_{name}" if name else "")
        counts = np.loadtxt(folder / f"{stem}.csv", delimiter=",", dtype=np.int64)
        # dropout off: the same counts as the saved model's deterministic predictions
        np.testing.assert_array_equal(counts, confusion_matrix(y, model.predict(x).argmax(axis=1), labels=range(10)))
        assert (folder / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_truncated_npz_with_a_valid_header_is_one_line(tmp_path):
    whole = tmp_path / "whole.npz"
    np.savez(whole, x=np.zeros((20, 3)), y=np.arange(20) % 2)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole.read_bytes()[:200])  # the zip's local header survives, the directory does not
    with pytest.raises(datasets.DataFileError, match="not a readable .npz file"):
        datasets.describe(str(cut))


def test_the_example_files_script_writes_its_two_files_and_help_writes_nothing(tmp_path):
    script = [sys.executable, str(ROOT / "examples" / "make_files.py")]
    shown = subprocess.run([*script, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "FOLDER" in shown.stdout and list(tmp_path.iterdir()) == []
    made = subprocess.run([*script, "d"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["digits.npz", "wine.csv"]
    with np.load(tmp_path / "d" / "digits.npz") as archive:
        assert archive["x"].shape == (1797, 8, 8) and archive["x"].max() == 255
