"""Data loading: IDX parsing and checks, search order, scaling, the validation split."""

import gzip
import hashlib
import subprocess
import sys

import numpy as np
import pytest

import datasets
from datasets import sources
from tests.conftest import ROOT, make_idx_folder, real_data_dir, requires_real_data
from tests.test_cli import run_cli


def test_idx_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    datasets.write_idx(tmp_path / "x.gz", images)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "x.gz", 3), images)


def test_truncated_file_is_a_clear_error_naming_it(tmp_path):
    datasets.write_idx(tmp_path / "x", np.zeros((5, 28, 28), dtype=np.uint8))
    data = (tmp_path / "x").read_bytes()
    with gzip.open(tmp_path / "short.gz", "wb") as handle:
        handle.write(data[:-100])
    with pytest.raises(datasets.DataError, match="short.gz.*truncated"):
        datasets.read_idx(tmp_path / "short.gz", 3)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(data)[:-30])  # broken gzip stream
    with pytest.raises(datasets.DataError, match="cut.gz"):
        datasets.read_idx(tmp_path / "cut.gz", 3)


def test_bad_magic_and_wrong_rank_are_rejected(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04" + bytes(20))
    with pytest.raises(datasets.DataError, match="magic"):
        datasets.read_idx(tmp_path / "bad", 3)
    datasets.write_idx(tmp_path / "labels", np.zeros(7, dtype=np.uint8))
    with pytest.raises(datasets.DataError, match="expected 3 dimensions"):
        datasets.read_idx(tmp_path / "labels", 3)


def train_on(data_dir, cwd):
    """train.py for one short epoch on the Fashion-MNIST copy in ``data_dir``."""
    args = ["-d", "fashion_mnist", "--data_dir", data_dir, "-e", "1", "-nhl", "1", "-sz", "8"]
    return run_cli([*map(str, args), "--wandb_mode", "disabled", "--output_dir", "o"], cwd)


def one_line_exit_2(result, *words):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "epoch" not in result.stdout  # refused when loaded, before any training


@pytest.mark.parametrize(("split", "n"), [("train", 200), ("t10k", 50)])
def test_labels_outside_the_classes_are_one_line_naming_the_file(split, n, tmp_path):
    """Every label of a split rewritten as 99: refused when the files are read, not by the test phase's
    cross-entropy after an epoch of training (an IndexError's traceback, exit 1)."""
    folder = make_idx_folder(tmp_path / "data" / "fashion-mnist")
    datasets.write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.full(n, 99))
    one_line_exit_2(
        train_on(folder.parent, tmp_path),
        f"{split}-labels-idx1-ubyte.gz: {n} of {n} labels lie outside 0..9 (e.g. 99); the data set has 10 classes",
    )


def test_labels_of_the_keras_archive_are_checked_too(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=rng.integers(0, 255, (30, 28, 28), dtype=np.uint8),
        y_train=np.arange(30) % 10,
        x_test=rng.integers(0, 255, (10, 28, 28), dtype=np.uint8),
        y_test=np.arange(10) + 1,
    )
    with pytest.raises(datasets.DataError, match=r"mnist.npz \(y_test\): 1 of 10 labels lie outside 0..9 \(e.g. 10\)"):
        datasets.load("mnist", tmp_path, val_fraction=0.0)


def test_the_label_fingerprint_is_the_md5_of_the_decompressed_label_file(tmp_path):
    labels = np.arange(57, dtype=np.uint8) % 10
    datasets.write_idx(tmp_path / "labels.gz", labels)
    expected = hashlib.md5(gzip.decompress((tmp_path / "labels.gz").read_bytes())).hexdigest()
    assert sources.label_file_md5(labels) == expected
    assert sources.label_file_md5(labels.astype(np.int64)) == expected  # as Keras' archive may hold them


@pytest.mark.parametrize("archive", [False, True], ids=["idx folder", "keras npz"])
def test_another_known_data_sets_labels_are_refused_naming_both(archive, tmp_path, monkeypatch):
    """The fingerprint of a known set's labels (here the made-up folder's, registered as Fashion-MNIST's)
    found when MNIST is asked for: refused, naming the folder, both sets and the way out."""
    folder = make_idx_folder(tmp_path / "fashion-mnist")
    raw = datasets.DATASETS["fashion_mnist"].load_raw(folder)
    monkeypatch.setitem(sources.KNOWN_LABELS, sources.label_file_md5(raw.y_train), ("fashion_mnist", "training"))
    if archive:
        np.savez(tmp_path / "mnist.npz", x_train=raw.x_train, y_train=raw.y_train, x_test=raw.x_test, y_test=raw.y_test)
    where = tmp_path if archive else folder
    advice = "delete it to download it again" if archive else "give -d fashion_mnist"
    with pytest.raises(datasets.DataError, match=f"holds fashion_mnist's training labels, not mnist's; {advice}"):
        datasets.load("mnist", where, val_fraction=0.0)
    assert len(datasets.load("fashion_mnist", folder, val_fraction=0.0).x_train) == len(raw.x_train)


def test_a_copy_of_the_other_set_outside_data_dir_is_passed_over(tmp_path, monkeypatch):
    """FFNN_DATA_DIR holds Fashion-MNIST (a standing setting), the Keras cache holds MNIST: -d mnist
    finds MNIST there; with neither, the failed download's line says what was passed over."""
    fashion = make_idx_folder(tmp_path / "fashion-mnist")
    raw = datasets.DATASETS["fashion_mnist"].load_raw(fashion)
    monkeypatch.setitem(sources.KNOWN_LABELS, sources.label_file_md5(raw.y_train), ("fashion_mnist", "training"))
    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    np.savez(
        tmp_path / "keras" / "datasets" / "mnist.npz",
        x_train=raw.x_train[:20],
        y_train=np.arange(20) % 10,
        x_test=raw.x_test[:10],
        y_test=np.arange(10),
    )
    monkeypatch.setenv(sources.ENV_VAR, str(fashion))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    data = datasets.load("mnist", None, val_fraction=0.0)
    assert data.source.endswith("mnist.npz") and len(data.x_train) == 20

    def offline(name, advice):
        raise datasets.DataUnavailable(advice)

    (tmp_path / "keras" / "datasets" / "mnist.npz").unlink()
    monkeypatch.setattr(sources, "download", offline)
    with pytest.raises(
        datasets.DataUnavailable, match=f"Passed over: {fashion}: holds fashion_mnist's training labels"
    ):
        datasets.load("mnist", None, val_fraction=0.0)


@requires_real_data
@pytest.mark.parametrize(
    ("name", "folder", "other"), [("mnist", "fashion-mnist", "fashion_mnist"), ("fashion_mnist", "mnist", "mnist")]
)
def test_the_real_folder_of_one_set_given_for_the_other_is_exit_2(name, folder, other, tmp_path):
    for split in ("train", "t10k"):  # the table holds the published MD5 of each decompressed label file
        path = real_data_dir() / folder / f"{split}-labels-idx1-ubyte.gz"
        assert sources.KNOWN_LABELS[hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest()][0] == other
    args = ["-d", name, "--data_dir", str(real_data_dir() / folder), "-e", "1", "-nhl", "1", "-sz", "8"]
    result = run_cli([*args, "--wandb_mode", "disabled", "--output_dir", "o"], tmp_path)
    one_line_exit_2(result, f"holds {other}'s training labels, not {name}'s", f"give -d {other}")


def _rewrite(path, edit):
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    path.write_bytes(gzip.compress(edit(raw)))


DAMAGES = {
    "truncated": ("train-images-idx3-ubyte.gz", lambda raw: raw[:-100], "the file is truncated or corrupt"),
    "bad magic": ("train-images-idx3-ubyte.gz", lambda raw: b"\x01\x02" + raw[2:], "bad magic number"),
    "count mismatch": (
        "t10k-labels-idx1-ubyte.gz",
        lambda raw: raw[:4] + (40).to_bytes(4, "big") + raw[8:48],
        "50 test images but 40 test labels",
    ),
    "empty": ("train-labels-idx1-ubyte.gz", None, "the file is empty"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_idx_file_is_bad_input_exit_2(damage, tmp_path):
    """A data file that is there but damaged is bad input (exit 2), as a damaged CSV or NPZ file is; exit 1
    is for data that cannot be had."""
    name, edit, words = DAMAGES[damage]
    folder = make_idx_folder(tmp_path / "data" / "fashion-mnist")
    if edit is None:
        (folder / name).write_bytes(b"")
    else:
        _rewrite(folder / name, edit)
    one_line_exit_2(train_on(folder.parent, tmp_path), words, "fashion-mnist")


def test_load_scales_flattens_and_splits_stratified(tiny_idx):
    data = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.2, seed=1)
    assert data.x_train.dtype == np.float32 and data.x_train.shape == (160, 784)
    assert data.x_val.shape == (40, 784) and data.x_test.shape == (50, 784)
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    assert data.x_train.max() == 1.0 and data.x_train.min() == 0.0  # min-max over the training pixels
    assert np.bincount(data.y_val, minlength=10).tolist() == [4] * 10  # stratified
    assert data.image_shape == (28, 28) and data.n_classes == 10
    assert data.class_names[9] == "Ankle boot"
    again = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.2, seed=1)
    other = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.2, seed=2)
    np.testing.assert_array_equal(again.x_val, data.x_val)
    assert not np.array_equal(other.x_val, data.x_val)
    np.testing.assert_array_equal(other.x_test, data.x_test)  # the test set never moves


def test_loaded_images_are_the_float32_arithmetic_of_their_bytes(tiny_idx):
    """The loader scales the images' bytes as it converts them (one pass): the numbers are those of
    converting to float32 first, then subtracting the offset and multiplying by the scale, to the bit."""
    data = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.2, seed=1)
    plain = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.2, seed=1, scaling="none")  # float32 bytes
    prep = data.preprocessing
    for scaled, raw in ((data.x_train, plain.x_train), (data.x_val, plain.x_val), (data.x_test, plain.x_test)):
        expected = raw.copy()
        expected -= prep.offset
        expected *= prep.scale
        assert scaled.dtype == np.float32
        np.testing.assert_array_equal(scaled.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("permute", [False, True])
@pytest.mark.parametrize(("offset", "scale"), [(0.0, 1 / 255), (3.0, 1 / 250), (0.0, 1.0), (-0.5, 0.1)])
def test_bytes_are_preprocessed_as_their_float32_copies_to_the_bit(permute, offset, scale):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 784), dtype=np.uint8)
    x.setflags(write=False)  # as the cache's memory-mapped test images are
    permutation = rng.permutation(784) if permute else None
    prep = datasets.Preprocessing("minmax", offset, scale, permutation)
    reference = (x if permutation is None else x[:, permutation]).astype(np.float32)  # as apply() always did
    reference -= offset
    reference *= scale
    for got in (prep.apply(x), prep.apply(x.astype(np.float32))):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.view(np.uint32), reference.view(np.uint32))
    assert not np.shares_memory(prep.apply(x), x)


def test_no_validation_split_when_fraction_is_zero(tiny_idx):
    data = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.0)
    assert data.x_val is None and data.validation is None and len(data.x_train) == 200


def test_environment_variable_and_keras_cache_are_searched(tmp_path, monkeypatch):
    make_idx_folder(tmp_path / "env" / "fashion_mnist")
    monkeypatch.setenv("FFNN_DATA_DIR", str(tmp_path / "env"))
    assert datasets.load("fashion_mnist").source.endswith("fashion_mnist")
    monkeypatch.delenv("FFNN_DATA_DIR")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    make_idx_folder(tmp_path / "keras" / "datasets" / "fashion-mnist")
    assert "keras" in datasets.load("fashion_mnist").source
    # Keras keeps MNIST as one npz archive
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "keras" / "datasets" / "mnist.npz",
        x_train=rng.integers(0, 255, (30, 28, 28), dtype=np.uint8),
        y_train=np.arange(30) % 10,
        x_test=rng.integers(0, 255, (10, 28, 28), dtype=np.uint8),
        y_test=np.arange(10),
    )
    data = datasets.load("mnist", val_fraction=0.0)
    assert data.source.endswith("mnist.npz") and data.x_train.shape == (30, 784)


def test_local_loading_imports_neither_keras_nor_tensorflow(tiny_idx):
    code = (
        f"import sys, datasets; datasets.load('fashion_mnist', {str(tiny_idx)!r});"
        "bad = {'keras', 'tensorflow', 'wandb'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_digits_is_always_available():
    data = datasets.load("digits")
    assert data.x_train.shape[1] == 64 and data.image_shape == (8, 8)
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 1797


@requires_real_data
@pytest.mark.parametrize("name", ["fashion_mnist", "mnist"])
def test_real_data_sets(name):
    data = datasets.load(name, real_data_dir(), val_fraction=0.1, seed=0)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (54000, 6000, 10000)
    assert data.x_train.shape[1] == 784
    counts = np.bincount(data.y_val, minlength=10)
    totals = counts + np.bincount(data.y_train, minlength=10)
    assert np.all(np.abs(counts - 0.1 * totals) <= 1)  # stratified: 10 % of every class
    if name == "fashion_mnist":  # 6000 per class in the original training set
        assert counts.tolist() == [600] * 10


def test_scaling_is_fitted_on_the_training_split_only(tiny_idx):
    raw = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.2, seed=3, scaling="none")
    assert raw.x_train.max() == 250.0 and raw.x_train.dtype == np.float32
    standard = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.2, seed=3, scaling="standard")
    mean, std = raw.x_train.mean(axis=0), raw.x_train.std(axis=0)
    std[std == 0] = 1.0
    # training statistics, applied unchanged to validation and test
    np.testing.assert_allclose(standard.x_train, (raw.x_train - mean) / std, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(standard.x_test, (raw.x_test - mean) / std, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(standard.x_val, (raw.x_val - mean) / std, rtol=1e-4, atol=1e-4)
    own = (raw.x_test - raw.x_test.mean(axis=0)) / np.where(raw.x_test.std(axis=0) > 0, raw.x_test.std(axis=0), 1)
    assert not np.allclose(standard.x_test, own, atol=1e-2)  # the test set's own statistics were not used
    minmax = datasets.load("fashion_mnist", tiny_idx, val_fraction=0.2, seed=3, scaling="minmax")
    low, high = raw.x_train.min(), raw.x_train.max()
    np.testing.assert_allclose(minmax.x_test, (raw.x_test - low) / (high - low), rtol=1e-6)


def test_permuted_pixels_are_one_fixed_permutation_for_every_split(tiny_idx):
    plain = datasets.load("fashion_mnist", tiny_idx, seed=4)
    scrambled = datasets.load("fashion_mnist", tiny_idx, seed=4, permute_pixels=True)
    order = [
        int(np.flatnonzero((column == plain.x_train.T).all(axis=1))[0])
        for column in scrambled.x_train.T[:5]
        if np.ptp(column) > 0
    ]
    assert order and order != list(range(len(order)))
    perm = np.random.default_rng([4, 2]).permutation(784)
    for split in ("x_train", "x_val", "x_test"):
        np.testing.assert_array_equal(getattr(scrambled, split), getattr(plain, split)[:, perm])


def test_holdout_and_kfold_partition_the_training_set_by_class():
    y = np.repeat(np.arange(4), [40, 30, 20, 10])
    train, val = datasets.holdout(y, 0.1, seed=3)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    assert np.bincount(y[val]).tolist() == [4, 3, 2, 1]  # stratified: the class proportions kept
    folds = datasets.kfold(y, 5, seed=3)
    validated = np.concatenate([v for _, v in folds])
    assert sorted(validated.tolist()) == list(range(100))  # every sample validated exactly once
    for train, val in folds:
        assert not set(train) & set(val) and len(train) + len(val) == 100
        assert np.bincount(y[val], minlength=4).tolist() == [8, 6, 4, 2]
    again = datasets.kfold(y, 5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))  # seeded
    plain = datasets.kfold(np.linspace(0, 1, 100), 4, seed=0, stratify=False)  # regression targets
    assert sorted(np.concatenate([v for _, v in plain]).tolist()) == list(range(100))


def test_preprocessing_is_plain_data_fitted_on_training_only(tiny_idx):
    data = datasets.load("fashion_mnist", tiny_idx, scaling="standard", permute_pixels=True, seed=4)
    prep = data.preprocessing
    assert prep.scaling == "standard" and sorted(prep.permutation.tolist()) == list(range(784))
    raw = datasets.load("fashion_mnist", tiny_idx, scaling="none", permute_pixels=False, seed=4)
    # applying the stored preprocessing to the raw test images gives the loaded test set
    np.testing.assert_allclose(prep.apply(raw.x_test.copy()), data.x_test, rtol=1e-6, atol=1e-6)
