"""What students' own files hold, read as they mean it or refused in one line: missing-value markers of
spreadsheets and R, formatted numbers, identifier columns, other separators, images saved channels first,
one-hot labels, classes that only the test split or class_names knows, and files too small to split."""

import numpy as np
import pytest

import datasets
from datasets import files
from datasets.tables import TableEncoding


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header), *(",".join(map(str, row)) for row in rows)]) + "\n")
    return str(path)


def table(n=60, a=lambda i: i % 7 + 0.5):
    return [[a(i), i % 3, "xyz"[i % 3], "cat" if i % 2 else "dog"] for i in range(n)]


@pytest.mark.parametrize("marker", ["n/a", "#N/A", "<NA>", "-nan", "NULL", "?", ""])
def test_missing_value_markers_leave_a_numeric_column_numeric(marker, tmp_path):
    rows = table()
    rows[3][0] = rows[7][0] = marker
    data = files.read(write_csv(tmp_path / "m.csv", ["a", "b", "c", "label"], rows), "label")
    assert data.numeric == (True, True, False)  # a stays numbers: imputed, not one-hot encoded by value
    assert np.isnan(files.numbers(data.x[:, 0])[[3, 7]]).all()  # missing, to be imputed


def test_everyday_words_stay_categories_and_a_saved_encodings_categories_are_never_missing(tmp_path):
    """ "none" and "-" may be categories (none, mild, severe), so they are not markers; and an encoding
    fitted on a category that a later marker list would call missing keeps encoding it as itself."""
    rows = [[i % 5, ["none", "mild", "-"][i % 3], "cat" if i % 2 else "dog"] for i in range(30)]
    data = files.read(write_csv(tmp_path / "w.csv", ["a", "severity", "label"], rows), "label")
    assert data.numeric == (True, False) and sorted(set(data.x[:, 1])) == ["-", "mild", "none"]
    encoding = TableEncoding.fit(data.x, data.columns, data.numeric)
    cells = np.array([["1", "n/a"], ["2", "none"]])  # "n/a" is missing: the most frequent category fills it
    saved = TableEncoding.from_dict(
        {**encoding.to_dict(), "categories": [None, ["-", "mild", "n/a"]], "fills": [2.0, "mild"]}
    )
    assert saved.transform(cells)[:, 1:].tolist() == [[0, 0, 1], [0, 0, 0]]  # its own category "n/a" kept
    assert saved.count_missing(cells) == 0 and encoding.count_missing(cells) == 1


def test_a_column_of_numbers_but_for_a_few_cells_is_text_and_says_so(tmp_path):
    rows = table()
    rows[5][0], rows[9][0] = "12 kg", "-"
    data = files.read(write_csv(tmp_path / "few.csv", ["a", "b", "c", "label"], rows), "label")
    assert data.numeric[0] is False
    (note,) = [n for n in data.notes if "'a'" in n]
    assert "2 of 60 cells are not numbers (e.g. '-', '12 kg')" in note


def test_formatted_numbers_and_identifiers_are_named(tmp_path):
    rows = [
        [f'"{1000 + 37 * i:,}"', f"{i % 100}%", f'"{i % 9},5"', f"S{i:03d}", f"555 {i:04d}", "cat" if i % 2 else "dog"]
        for i in range(60)
    ]
    header = ["amount", "share", "decimal", "sid", "phone", "label"]
    data = files.read(write_csv(tmp_path / "f.csv", header, rows), "label")
    notes = " | ".join(data.notes)
    for column, example in (("amount", "1,000"), ("share", "0%"), ("decimal", "0,5")):
        assert f"column {column!r} looks like numbers as a spreadsheet shows them (e.g. {example!r})" in notes
    assert "a decimal point rather than a comma" in notes
    assert "column 'sid' holds a different value in every row (an identifier?)" in notes
    assert "column 'phone' holds a different value in every row" in notes  # not taken for a formatted number
    plain = files.read(write_csv(tmp_path / "p.csv", ["a", "b", "c", "label"], table()), "label")
    assert plain.notes == []  # a plain file says nothing of the kind


def test_a_semicolon_file_and_a_repeated_column_name_say_what_is_wrong(tmp_path):
    (tmp_path / "semi.csv").write_text("a;b;label\n1;2;cat\n3;4;dog\n")
    with pytest.raises(files.DataFileError, match="the header looks separated by ';': save the file with commas"):
        files.read(str(tmp_path / "semi.csv"), "label")
    with pytest.raises(files.DataFileError, match=r"for every column \('a' twice\)"):
        files.read(write_csv(tmp_path / "dup.csv", ["a", "a", "c", "label"], table(10)), "label")


def test_files_too_small_to_split_say_which_split(tmp_path):
    with pytest.raises(files.DataFileError, match=r"fixed test split \(20% of the rows\).*leaves none to train on"):
        datasets.load(write_csv(tmp_path / "one.csv", ["a", "y"], [[1, 0.5]]), target="y", val_fraction=0.0)
    path = write_csv(tmp_path / "t.csv", ["a", "b", "c", "label"], table())
    with pytest.raises(files.DataFileError, match=r"--val_fraction 0.01: .*; raise it, or give validation rows"):
        datasets.load(path, target="label", val_fraction=0.01)
    with pytest.raises(files.DataFileError, match=r"--val_fraction 0.99: .*; lower it, or give validation rows"):
        datasets.load(path, target="label", val_fraction=0.99)


def npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_images_saved_channels_first_are_refused_with_the_fix(tmp_path):
    rng = np.random.default_rng(0)
    path = npz(tmp_path / "chw.npz", x=rng.integers(0, 256, (30, 3, 8, 8), dtype=np.uint8), y=np.arange(30) % 3)
    with pytest.raises(
        files.DataFileError, match=r"channels last, with C = 1, 3 or 4; channels first\? save np.moveaxis"
    ):
        files.read(path)
    rgba = npz(tmp_path / "rgba.npz", x=rng.integers(0, 256, (30, 8, 8, 4), dtype=np.uint8), y=np.arange(30) % 3)
    assert files.read(rgba).x.shape == (30, 8, 8, 4)


def test_one_hot_labels_are_refused_with_the_fix(tmp_path):
    labels = np.arange(40) % 3
    path = npz(tmp_path / "oh.npz", x=np.random.default_rng(0).random((40, 4)), y=np.eye(3)[labels])
    with pytest.raises(files.DataFileError, match=r"y is one-hot \(40 x 3, one 1 per row\); save the class ids"):
        files.read(path)
    named = npz(tmp_path / "ohn.npz", x=np.zeros((40, 4)), y=np.eye(3)[labels], class_names=np.array(["a", "b", "c"]))
    with pytest.raises(files.DataFileError, match="y.argmax"):  # class_names set the task first: same hint
        files.read(named)
    assert files.read(path, task="regression").task == "regression"  # three numbers per row, if that is meant


def test_a_class_that_training_never_sees_is_refused(tmp_path):
    x = np.random.default_rng(0).random((40, 4))
    unseen = npz(tmp_path / "u.npz", x=x, y=np.arange(40) % 3, x_test=x[:10], y_test=np.array([5] + [0] * 9))
    with pytest.raises(files.DataFileError, match="y_test holds class 5, which y has no example of"):
        datasets.load(unseen, val_fraction=0.0)
    named = npz(tmp_path / "n.npz", x=x, y=np.arange(40) % 3, class_names=np.array(["a", "b", "c", "d"]))
    with pytest.raises(files.DataFileError, match="class_names names class d, which y has no example of"):
        datasets.load(named, val_fraction=0.0)
    assert files.read(named).class_names == ("a", "b", "c", "d")  # evaluate.py reads it: a test set may lack a class
