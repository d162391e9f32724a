"""Image data as users keep it: ``-d DIR`` (one sub-folder of PNG/JPEG images per class) and ``-d cifar10``
(CIFAR-10's binary version as distributed, or Keras' download).

The images are written here with Pillow and the pixels read back are compared with those written (PNG is
lossless), with Pillow's own decoding and resizing of the same file (JPEG, ``--image_size``) and with the
ITU-R 601-2 luma written out; the CIFAR-10 records are built byte by byte from R, G and B planes as its
binary format describes them, and the arrays read must give those planes back.
"""

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import datasets
from datasets import cifar10
from tests.conftest import ROOT
from tests.test_files import only_folder, train

QUIET = ["--wandb_mode", "disabled", "-nhl", "1", "-sz", "8"]
CLASSES = ("ant", "bee", "cow")


def image(rng, k: int, shape=(6, 8), grey=False) -> np.ndarray:
    """A small image of class ``k``: noise, with the class's own channel (or a brighter grey) raised."""
    pixels = rng.integers(0, 90, size=(*shape, 3)).astype(np.uint8)
    pixels[..., k % 3] += 160
    return pixels.mean(axis=2).astype(np.uint8) if grey else pixels


def write_folder(root: Path, per_class=5, shape=(6, 8), seed=0, jpeg=True, grey_one=True) -> dict[Path, np.ndarray]:
    """``root/<class>/<i>.png`` (and one ``.jpg`` per class, one greyscale PNG in the first class): the
    pixels written to each PNG file."""
    rng = np.random.default_rng(seed)
    written = {}
    for k, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = image(rng, k, shape, grey=grey_one and k == 0 and i == 1)
            if jpeg and i == 0:
                Image.fromarray(pixels).save(root / name / f"{i:02}.jpg", quality=95)
            else:
                Image.fromarray(pixels).save(root / name / f"{i:02}.png")
                written[root / name / f"{i:02}.png"] = pixels
    return written


def files_in_order(root: Path) -> list[Path]:
    """The order the reader promises: classes sorted, then each class's files sorted."""
    return [path for name in sorted(CLASSES) for path in sorted((root / name).iterdir())]


# Image folders: the pixels --------------------------------------------------------------------


def test_png_pixels_read_equal_those_written_and_labels_are_the_sorted_folders(tmp_path):
    written = write_folder(tmp_path / "pets", jpeg=False, grey_one=False)
    file = datasets.read_file(str(tmp_path / "pets"))
    assert file.task == "classification" and file.class_names == CLASSES and file.x_test is None
    order = files_in_order(tmp_path / "pets")
    assert file.x.shape == (len(order), 6, 8, 3) and file.x.dtype == np.uint8
    for row, path in enumerate(order):
        np.testing.assert_array_equal(file.x[row], written[path])
        assert file.labels[row] == CLASSES.index(path.parent.name)


def test_one_grey_image_among_colour_ones_makes_rgb_and_jpeg_is_pillows_decoding(tmp_path):
    written = write_folder(tmp_path / "pets")
    file = datasets.read_file(str(tmp_path / "pets"))
    assert file.x.shape[1:] == (6, 8, 3)  # --color auto: one image in colour is enough
    for row, path in enumerate(files_in_order(tmp_path / "pets")):
        if path.suffix == ".jpg":
            np.testing.assert_array_equal(file.x[row], np.asarray(Image.open(path).convert("RGB")))
        elif written[path].ndim == 2:  # the grey PNG: its value in every channel
            np.testing.assert_array_equal(file.x[row], np.repeat(written[path][..., None], 3, axis=2))
        else:
            np.testing.assert_array_equal(file.x[row], written[path])


def test_an_all_grey_folder_is_one_plane_and_color_grey_is_the_luma(tmp_path):
    rng = np.random.default_rng(1)
    grey = {}
    for k, name in enumerate(CLASSES[:2]):
        (tmp_path / "g" / name).mkdir(parents=True)
        for i in range(3):
            grey[tmp_path / "g" / name / f"{i}.png"] = pixels = image(rng, k, grey=True)
            Image.fromarray(pixels).save(tmp_path / "g" / name / f"{i}.png")
    file = datasets.read_file(str(tmp_path / "g"))
    assert file.x.shape == (6, 6, 8)  # N x H x W: no channel axis
    for row, path in enumerate(sorted(grey)):
        np.testing.assert_array_equal(file.x[row], grey[path])

    written = write_folder(tmp_path / "c", jpeg=False, grey_one=False)
    as_grey = datasets.read_file(str(tmp_path / "c"), color="grey")
    assert as_grey.x.shape == (15, 6, 8)
    for row, path in enumerate(files_in_order(tmp_path / "c")):
        r, g, b = (written[path][..., c].astype(np.float64) for c in range(3))
        luma = (299 * r + 587 * g + 114 * b) / 1000  # ITU-R 601-2, Pillow's "L"
        assert np.abs(as_grey.x[row] - luma).max() <= 0.51  # rounded to the nearest of 0..255


def test_image_size_resizes_as_pillows_bilinear_resize(tmp_path):
    write_folder(tmp_path / "pets", shape=(9, 7))
    file = datasets.read_file(str(tmp_path / "pets"), image_size=(4, 5))  # H x W = 4 x 5
    assert file.x.shape == (15, 4, 5, 3)
    for row, path in enumerate(files_in_order(tmp_path / "pets")):
        expected = Image.open(path).convert("RGB").resize((5, 4), Image.Resampling.BILINEAR)  # PIL: (W, H)
        np.testing.assert_array_equal(file.x[row], np.asarray(expected))
    square = datasets.read_file(str(tmp_path / "pets"), image_size=3)
    assert square.x.shape == (15, 3, 3, 3)


def test_images_of_several_sizes_need_image_size(tmp_path):
    write_folder(tmp_path / "pets")
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / "pets" / "bee" / "zz.png")
    with pytest.raises(datasets.DataFileError, match=r"zz.png: 5x5 pixels .* give --image_size H W"):
        datasets.read_file(str(tmp_path / "pets"))
    assert datasets.read_file(str(tmp_path / "pets"), image_size=(6, 8)).x.shape == (16, 6, 8, 3)


def test_the_test_folder_is_the_test_set_and_the_rest_trains(tmp_path):
    train_written = write_folder(tmp_path / "d" / "train", jpeg=False, grey_one=False)
    test_written = write_folder(tmp_path / "d" / "test", per_class=2, seed=5, jpeg=False, grey_one=False)
    (tmp_path / "d" / "notes.txt").write_text("not read")
    data = datasets.load(str(tmp_path / "d"), val_fraction=0.0, scaling="none")
    test_order = files_in_order(tmp_path / "d" / "test")
    assert data.image_shape == (6, 8, 3) and data.class_names == list(CLASSES)
    np.testing.assert_array_equal(data.x_test, np.stack([test_written[p] for p in test_order]).reshape(6, -1))
    np.testing.assert_array_equal(data.y_test, [CLASSES.index(p.parent.name) for p in test_order])
    train_order = files_in_order(tmp_path / "d" / "train")
    np.testing.assert_array_equal(data.x_train, np.stack([train_written[p] for p in train_order]).reshape(15, -1))
    assert data.source == f"{tmp_path / 'd'}, test: its test/ folder"
    minmax = datasets.load(str(tmp_path / "d"), val_fraction=0.0)  # scaled like the built-in image sets
    low, high = data.x_train.min(), data.x_train.max()
    np.testing.assert_allclose(minmax.x_test, (data.x_test - low) / (high - low), atol=1e-6)


def test_without_a_test_folder_the_test_set_is_the_fixed_split_of_user_files(tmp_path):
    write_folder(tmp_path / "pets", jpeg=False)
    file = datasets.read_file(str(tmp_path / "pets"))
    data = datasets.load(str(tmp_path / "pets"), val_fraction=0.0, scaling="none", seed=3)
    from sklearn.model_selection import train_test_split

    _, test_rows = train_test_split(np.arange(15), test_size=0.2, random_state=0, stratify=file.labels)
    np.testing.assert_array_equal(data.x_test, file.x[test_rows].reshape(len(test_rows), -1))
    assert "fixed 80%/20% split" in data.source


def test_other_files_are_skipped_and_counted_and_tiny_imagenet_nesting_is_read(tmp_path):
    root = tmp_path / "tiny"
    rng = np.random.default_rng(2)
    for k, wnid in enumerate(("n01", "n02")):
        (root / wnid / "images").mkdir(parents=True)
        (root / wnid / f"{wnid}_boxes.txt").write_text("0 0 1 1\n")
        (root / wnid / ".DS_Store").write_bytes(b"\0")
        for i in range(2):
            Image.fromarray(image(rng, k)).save(root / wnid / "images" / f"{wnid}_{i}.JPEG")
    file = datasets.read_file(str(root))
    assert file.class_names == ("n01", "n02") and list(file.labels) == [0, 0, 1, 1]
    assert any("2 files skipped" in note and "n01_boxes.txt" in note for note in file.notes)
    assert datasets.describe(str(root)).class_names == ("n01", "n02")


# Image folders through train.py ----------------------------------------------------------------


@pytest.mark.parametrize("arch", [[], ["--arch", "cnn", "--filters", "2", "--kernel_size", "3"]], ids=["mlp", "cnn"])
def test_an_image_folder_trains_for_an_epoch(arch, tmp_path):
    write_folder(tmp_path / "pets", per_class=10)
    result = train(["-d", "pets", *arch, "-e", "1", *QUIET, "--output_dir", "o"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "pets: 30 images, 3 classes, 6x8 RGB" in result.output
    folder = only_folder(tmp_path / "o")
    summary = json.loads((folder / "summary.json").read_text())
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert json.loads((folder / "config.json").read_text())["dataset"] == "pets"


def test_image_size_and_color_from_the_command_line(tmp_path):
    write_folder(tmp_path / "pets", per_class=10, shape=(9, 7))
    args = ["-d", "pets", "--image_size", "4", "6", "--color", "grey", "--arch", "cnn", "--filters", "2"]
    result = train([*args, "-e", "1", *QUIET, "--output_dir", "o", "--save_model"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "4x6 grey (resized)" in result.output
    folder = only_folder(tmp_path / "o")
    assert json.loads((folder / "config.json").read_text())["image_size"] == [4, 6]
    import nn

    assert nn.Sequential.load(folder / "model.npz").metadata["image_shape"] == [4, 6]


def bad_folder(make):
    def build(root: Path) -> Path:
        make(root / "d")
        return root / "d"

    return build


def _text_as_png(d: Path) -> None:
    write_folder(d)
    (d / "bee" / "03.png").write_text("not an image")


def _truncated_png(d: Path) -> None:
    write_folder(d, shape=(40, 40))
    data = (d / "cow" / "02.png").read_bytes()
    (d / "cow" / "02.png").write_bytes(data[: len(data) // 2])


def _empty_class(d: Path) -> None:
    write_folder(d)
    (d / "dog").mkdir()


def _no_classes(d: Path) -> None:
    d.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(d / "a.png")


def _unknown_test_class(d: Path) -> None:
    write_folder(d / "train")
    write_folder(d / "test", per_class=1)
    (d / "test" / "ant").rename(d / "test" / "ape")


def _sixteen_bits(d: Path) -> None:
    write_folder(d)
    Image.fromarray(np.full((6, 8), 1000, np.uint16)).save(d / "cow" / "zz.png")


def _sizes_differ(d: Path) -> None:
    write_folder(d)
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(d / "ant" / "zz.png")


BAD = {
    "not an image": (_text_as_png, [], "03.png: not a readable image"),
    "truncated image": (_truncated_png, [], "02.png: not a readable image"),
    "empty class folder": (_empty_class, [], "dog: an empty class folder"),
    "no class folders": (_no_classes, [], "holds no class folders"),
    "one class folder": (lambda d: (d / "only").mkdir(parents=True), [], "holds one class folder (only)"),
    "unknown test class": (_unknown_test_class, [], "ape is not a class of"),
    "sizes differ": (_sizes_differ, [], "zz.png: 3x3 pixels (height x width)"),
    "16 bits": (_sixteen_bits, [], "zz.png: I;16 pixels (16 or 32 bits); an image folder takes 8-bit images"),
    "a target": (write_folder, ["--target", "y"], "--target names a CSV column"),
    "regression": (write_folder, ["--task", "regression"], "an image folder is for classification"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_image_folder_is_one_line_naming_it_and_exit_2(case, tmp_path):
    make, args, message = BAD[case]
    make(tmp_path / "d")
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "-d", "d", *args, *QUIET, "--output_dir", "o"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("Error: d") and message in lines[0], lines[0]
    assert not (tmp_path / "o").exists()


def test_image_options_are_for_image_folders_only(tmp_path):
    for args, message in (
        (["-d", "digits", "--image_size", "8"], "--image_size and --color are for image folders; digits"),
        (["-d", "digits", "--color", "rgb"], "--image_size and --color are for image folders; digits"),
        (["-d", "digits", "--image_size", "3", "4", "5"], "give a height and a width"),
    ):
        result = train([*args, "-e", "1", *QUIET, "--output_dir", "o"], tmp_path)
        assert result.exit_code == 2 and message in result.output, result.output


# CIFAR-10's binary version ---------------------------------------------------------------------


def cifar_records(rng, n: int, first_label: int = 0) -> tuple[bytes, np.ndarray, np.ndarray]:
    """``n`` records as CIFAR-10's binary version lays them out (label byte, R plane, G plane, B plane,
    each plane row by row), and the images (``n x 32 x 32 x 3``, channel 0 red) and labels they hold."""
    labels = (np.arange(n) + first_label) % 10
    planes = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    data = b"".join(bytes([labels[i]]) + planes[i, 0].tobytes() + planes[i, 1].tobytes() + planes[i, 2].tobytes()
                    for i in range(n))  # fmt: skip
    images = np.stack([np.dstack([planes[i, 0], planes[i, 1], planes[i, 2]]) for i in range(n)])
    return data, images, labels


def write_cifar_bin(folder: Path, per_batch=(3, 2, 4, 1, 2), n_test=3, seed=0):
    """A small fake of ``cifar-10-batches-bin``: the six files, ``batches.meta.txt``; the training
    images and labels (batches 1..5 in order), the test ones."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = [], []
    for i, n in enumerate(per_batch, start=1):
        data, x, y = cifar_records(rng, n, first_label=i)
        (folder / f"data_batch_{i}.bin").write_bytes(data)
        images.append(x)
        labels.append(y)
    data, x_test, y_test = cifar_records(rng, n_test, first_label=7)
    (folder / "test_batch.bin").write_bytes(data)
    (folder / "batches.meta.txt").write_text("\n".join(cifar10.CLASS_NAMES) + "\n\n")
    return np.concatenate(images), np.concatenate(labels), x_test, y_test


def test_cifar_binary_folder_gives_the_planes_back_channels_last(tmp_path):
    x, y, x_test, y_test = write_cifar_bin(tmp_path / "data" / "cifar-10-batches-bin")
    raw = datasets.DATASETS["cifar10"].load_raw(tmp_path / "data")
    assert raw.x_train.shape == (12, 32, 32, 3) and raw.x_train.dtype == np.uint8
    np.testing.assert_array_equal(raw.x_train, x)
    np.testing.assert_array_equal(raw.y_train, y)
    np.testing.assert_array_equal(raw.x_test, x_test)
    np.testing.assert_array_equal(raw.y_test, y_test)
    assert raw.source == str(tmp_path / "data" / "cifar-10-batches-bin")


def test_cifar_binary_archive_reads_the_same_in_any_member_order(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    x, y, x_test, y_test = write_cifar_bin(folder)
    (tmp_path / "data").mkdir()
    with tarfile.open(tmp_path / "data" / "cifar-10-binary.tar.gz", "w:gz") as tar:
        for name in ("test_batch.bin", "data_batch_3.bin", "batches.meta.txt", "data_batch_1.bin",
                     "data_batch_5.bin", "data_batch_2.bin", "data_batch_4.bin"):  # fmt: skip
            tar.add(folder / name, arcname=f"cifar-10-batches-bin/{name}")
    raw = datasets.DATASETS["cifar10"].load_raw(tmp_path / "data")
    np.testing.assert_array_equal(raw.x_train, x)
    np.testing.assert_array_equal(raw.y_train, y)
    np.testing.assert_array_equal(raw.x_test, x_test)
    np.testing.assert_array_equal(raw.y_test, y_test)
    assert raw.source.endswith("cifar-10-binary.tar.gz")


def test_cifar10_trains_from_a_binary_folder(tmp_path):
    write_cifar_bin(tmp_path / "data" / "cifar10" / "cifar-10-batches-bin", per_batch=(20,) * 5, n_test=10)
    args = ["-d", "cifar10", "--data_dir", "data", "--arch", "cnn", "--filters", "2", "-e", "1", *QUIET]
    result = train([*args, "--output_dir", "o"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "90 train / 10 val / 10 test" in result.output
    summary = json.loads((only_folder(tmp_path / "o") / "summary.json").read_text())
    assert 0.0 <= summary["test_accuracy"] <= 1.0


class Marker:
    """Unpickling this creates the file ``path``: proof that a pickle was loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def _python_version_folder(d: Path) -> None:
    (d / "cifar-10-batches-py").mkdir(parents=True)
    for name in ("data_batch_1", "test_batch", "batches.meta"):
        (d / "cifar-10-batches-py" / name).write_bytes(pickle.dumps(Marker(d.parent / "unpickled")))


def _python_version_archive(d: Path) -> None:
    d.mkdir()
    with tarfile.open(d / "cifar-10-python.tar.gz", "w:gz") as tar:
        payload = pickle.dumps(Marker(d.parent / "unpickled"))
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def _truncated_batch(d: Path) -> None:
    write_cifar_bin(d)
    data = (d / "data_batch_2.bin").read_bytes()
    (d / "data_batch_2.bin").write_bytes(data[:-5])


def _label_out_of_range(d: Path) -> None:
    write_cifar_bin(d)
    data = bytearray((d / "test_batch.bin").read_bytes())
    data[cifar10.RECORD] = 10  # the second record's label
    (d / "test_batch.bin").write_bytes(bytes(data))


def _other_classes(d: Path) -> None:
    write_cifar_bin(d)
    (d / "batches.meta.txt").write_text("apple\nbanana\n")


def _missing_batch(d: Path) -> None:
    write_cifar_bin(d)
    (d / "data_batch_4.bin").unlink()


BAD_CIFAR = {
    "python version": (_python_version_folder, "cifar-10-batches-py: CIFAR-10's Python version"),
    "python archive": (_python_version_archive, "cifar-10-python.tar.gz: CIFAR-10's Python version"),
    "truncated batch": (_truncated_batch, "data_batch_2.bin: 6,141 bytes, not a whole number of 3,073-byte"),
    "label 10": (_label_out_of_range, "test_batch.bin: 1 of 3 labels lie outside 0..9"),
    "other classes": (_other_classes, "batches.meta.txt: names the classes apple, banana"),
    "missing batch": (_missing_batch, "data_batch_4.bin: missing"),
}


@pytest.mark.parametrize("case", BAD_CIFAR, ids=list(BAD_CIFAR))
def test_an_unusable_local_cifar_copy_is_one_line_and_exit_2_and_nothing_is_unpickled(case, tmp_path):
    make, message = BAD_CIFAR[case]
    make(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "-d", "cifar10", "--data_dir", "data", *QUIET, "--output_dir", "o"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "KERAS_HOME": str(tmp_path / "keras")},
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert message in lines[0], lines[0]
    assert not (tmp_path / "unpickled").exists()
    assert not (tmp_path / "o").exists()


# CIFAR-10 through keras.datasets, only the network replaced ------------------------------------

FAKE_NETWORK = textwrap.dedent("""
    import json, os, shutil, sys, urllib.error, urllib.request

    def urlretrieve(url, filename=None, reporthook=None, data=None):
        if os.environ["NETWORK"] == "down":
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        assert url.endswith("/cifar-10-python.tar.gz"), url
        shutil.copyfile(os.environ["SERVED"], filename)
        return filename, {}

    urllib.request.urlretrieve = urlretrieve  # before Keras binds it
    import keras.src.datasets.cifar10 as keras_cifar10

    pinned = keras_cifar10.get_file
    def get_file(*args, **kwargs):  # the served archive's SHA-256 instead of the real one's
        return pinned(*args, **{**kwargs, "file_hash": os.environ["SERVED_SHA256"]})
    keras_cifar10.get_file = get_file

    sys.path.insert(0, os.environ["PROJECT"])
    import datasets
    raw = datasets.DATASETS["cifar10"].load_raw(None)
    print(json.dumps({"source": raw.source, "shapes": [list(a.shape) for a in (raw.x_train, raw.y_train, raw.x_test)],
                      "rows": [raw.x_train[i].tolist() for i in (0, 10000, 40000)], "test": raw.x_test[0].tolist(),
                      "labels": raw.y_train[[0, 9999, 10000, 49999]].tolist(), "test_label": int(raw.y_test[0])}))
""")


def keras_archive(path: Path, images: np.ndarray, labels: np.ndarray) -> str:
    """``cifar-10-python.tar.gz`` in the layout Keras reads (made by the test, pickled as CIFAR-10's Python
    version is): six batches of one record each (Keras spreads each over its 10,000 rows); its SHA-256."""
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    with tarfile.open(path, "w:gz") as tar:
        for name, x, y in zip(names, images, labels):
            batch = {b"data": x.transpose(2, 0, 1).reshape(1, 3072), b"labels": [int(y)]}  # channel-major rows
            payload = pickle.dumps(batch, protocol=4)  # numpy's _reconstruct: what Keras' unpickler allows
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_cifar10_downloads_through_keras_with_only_the_network_replaced(tmp_path):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5, 9])
    sha = keras_archive(tmp_path / "served.tar.gz", images, labels)
    env = {key: value for key, value in os.environ.items() if key != "FFNN_DATA_DIR"}
    env.update(HOME=str(tmp_path), KERAS_HOME=str(tmp_path / "keras"), PROJECT=str(ROOT), SERVED_SHA256=sha)
    env.update(SERVED=str(tmp_path / "served.tar.gz"), NETWORK="up")

    def run(network):
        result = subprocess.run(
            [sys.executable, "-c", FAKE_NETWORK],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            env={**env, "NETWORK": network},
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    for network in ("up", "down"):  # then Keras' cache, with no network
        got = run(network)
        assert got["source"] == "keras.datasets.cifar10"
        assert got["shapes"] == [[50000, 32, 32, 3], [50000], [1, 32, 32, 3]]
        for row, k in zip(got["rows"], (0, 1, 4)):
            np.testing.assert_array_equal(row, images[k])
        np.testing.assert_array_equal(got["test"], images[5])
        assert got["labels"] == [3, 3, 1, 5] and got["test_label"] == 9


def test_a_grey_folder_is_tested_by_an_rgb_model_in_rgb(tmp_path):
    """evaluate.py reads a folder in the colour its model was trained in (``--color auto``): a grey folder
    given to an RGB model is read as RGB, each grey value on all three channels, as Pillow's convert does."""
    write_folder(tmp_path / "pets", per_class=10)
    assert train(["-d", "pets", "-e", "1", *QUIET, "--output_dir", "o", "--save_model"], tmp_path).exit_code == 0
    model = only_folder(tmp_path / "o") / "model.npz"
    rng = np.random.default_rng(1)
    for k, name in enumerate(CLASSES):
        (tmp_path / "grey" / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(image(rng, k, grey=True)).save(tmp_path / "grey" / name / f"{i}.png")
    done = subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), str(model), "-d", str(tmp_path / "grey"), "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0.0 <= report["members"][0]["accuracy"] <= 1.0
    grey = datasets.read_file(str(tmp_path / "grey"), color="rgb").x
    assert grey.shape[-1] == 3 and (grey[..., 0] == grey[..., 2]).all()  # what the model was given
