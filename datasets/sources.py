"""Where the image data sets come from: local copies first, ``keras.datasets`` last.

Search order for an IDX data set (``fashion_mnist``, ``mnist``; ``cifar10`` looks in the same places for
CIFAR-10's binary version: :mod:`datasets.cifar10`):

1. ``data_dir`` (``--data_dir``) or, if not given, the ``FFNN_DATA_DIR``
   environment variable: the four IDX files in that folder or in a
   sub-folder named after the data set (``fashion-mnist``, ``mnist``, ...);
2. the Keras cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``): the
   IDX files Keras downloads for Fashion-MNIST, ``mnist.npz`` for MNIST;
3. Debian's ``/usr/share/datasets/<name>`` (``apt-get install dataset-fashion-mnist``);
4. ``keras.datasets.<name>.load_data()``, which downloads. Only this step
   imports Keras (and TensorFlow, if Keras uses it), which is slow.

A copy whose labels are the other set's (:data:`KNOWN_LABELS`) is refused at once in the folder
``--data_dir`` names, and passed over everywhere else.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from nn.files import NPZ_READ_ERRORS, npz_problem

from .base import DataDir, RawData
from .cache import read_idx_cached
from .idx import DataError

ENV_VAR = "FFNN_DATA_DIR"
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


class DataUnavailable(Exception):
    """No local copy and no way to download: the message says what to do."""


# MD5 of each set's label files, decompressed, as published (Fashion-MNIST's README, torchvision's MNIST):
# the two sets share file names and shapes, so a folder of one given for the other is told apart by its
# labels, at the cost of hashing 70 KB. Files that match neither (a user's own, a subset) pass.
KNOWN_LABELS = {
    "a25bea736e30d166cdddb491f175f624": ("mnist", "training"),
    "27ae3e4e09519cfbb04c329615203637": ("mnist", "test"),
    "9018921c3c673c538a1fc5bad174d6f9": ("fashion_mnist", "training"),
    "15d484375f8d13e6eb1aabb0c3f46965": ("fashion_mnist", "test"),
}


def label_file_md5(labels: np.ndarray) -> str:
    """The MD5 of the IDX file that holds ``labels`` (its header, then one byte per label): the same
    digest whether the labels came from an IDX file, Keras' ``mnist.npz`` or the decoded cache."""
    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", len(labels))
    return hashlib.md5(header + np.ascontiguousarray(labels, dtype=np.uint8).tobytes()).hexdigest()


def identity_problem(raw: RawData, name: str) -> str | None:
    """Why ``raw`` is not ``name`` when its labels are another known set's, else ``None``: ``-d mnist
    --data_dir`` on a Fashion-MNIST folder must not train on Fashion-MNIST under MNIST's name."""
    for labels in (raw.y_train, raw.y_test):
        other, split = KNOWN_LABELS.get(label_file_md5(labels), (name, ""))
        if other != name:
            if raw.source.endswith(".npz"):  # Keras' archive for this set holds the other one: only a new copy helps
                return f"{raw.source}: holds {other}'s {split} labels, not {name}'s; delete it to download it again"
            return (
                f"{raw.source}: holds {other}'s {split} labels, not {name}'s; give -d {other}, or point "
                f"--data_dir at {name}'s files (a folder holding a '{name.replace('_', '-')}' sub-folder works too)"
            )
    return None


def _idx_folder(folder: Path) -> Path | None:
    """``folder`` if it holds the four IDX files (``.gz`` or not)."""
    if all((folder / (stem + ".gz")).is_file() or (folder / stem).is_file() for stem in IDX_FILES.values()):
        return folder
    return None


def check_labels(labels: np.ndarray, n_classes: int, where: str) -> None:
    """``labels`` are class ids in ``[0, n_classes)``; a :class:`DataError` naming ``where`` otherwise (a
    label file of another data set, or a damaged one: found at load time, not by the test phase)."""
    wrong = (labels < 0) | (labels >= n_classes)
    if wrong.any():
        raise DataError(
            f"{where}: {int(wrong.sum()):,} of {labels.size:,} labels lie outside 0..{n_classes - 1} "
            f"(e.g. {labels[wrong][0]}); the data set has {n_classes} classes"
        )


def _read_idx_folder(folder: Path, n_classes: int) -> RawData:
    arrays = {}
    for key, stem in IDX_FILES.items():
        path = folder / (stem + ".gz")
        path = path if path.is_file() else folder / stem
        arrays[key] = read_idx_cached(path, 3 if key.startswith("x") else 1)
        if key.startswith("y"):
            check_labels(arrays[key], n_classes, str(path))
    for split in ("train", "test"):
        images, labels = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if images != labels:
            raise DataError(f"{folder}: {images:,} {split} images but {labels:,} {split} labels; they must match")
    return RawData(**arrays, source=str(folder))


def _read_npz(path: Path, n_classes: int) -> RawData:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in IDX_FILES}
    except NPZ_READ_ERRORS as error:  # an unreadable archive, or one without the four arrays (KeyError)
        raise DataError(f"{path}: cannot be read as the Keras MNIST archive ({npz_problem(error)})") from None
    for key in ("y_train", "y_test"):
        check_labels(arrays[key], n_classes, f"{path} ({key})")
    return RawData(**arrays, source=str(path))


def candidate_roots(data_dir: DataDir = None) -> list[tuple[Path, bool]]:
    """The folders looked in, in order, each with whether the user chose it (``--data_dir`` or
    :data:`ENV_VAR`): that one, the Keras cache, Debian's ``/usr/share/datasets``."""
    roots = []
    chosen = data_dir or os.environ.get(ENV_VAR)
    if chosen:
        if not Path(chosen).expanduser().is_dir():
            raise DataUnavailable(f"{'--data_dir' if data_dir else ENV_VAR} {chosen}: no such folder")
        roots.append((Path(chosen).expanduser(), True))
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()
    roots.append((keras_home / "datasets", False))
    roots.append((Path("/usr/share/datasets"), False))
    return roots


def find_local(
    name: str, folder_names: Sequence[str], n_classes: int, data_dir: DataDir = None, keras_npz: str | None = None
) -> tuple[RawData | None, str | None]:
    """The first local copy of ``name``, in each root of :func:`candidate_roots` and then its
    sub-folders ``folder_names``; with the reason a copy of the other set was passed over, if one was.
    That copy is refused at once in the folder ``--data_dir`` names (the user's choice for this run), and
    passed over elsewhere (``FFNN_DATA_DIR`` or the Keras cache may hold the other set)."""
    passed_over = None
    for root, chosen in candidate_roots(data_dir):
        for folder in (root, *(root / sub for sub in folder_names)):
            if _idx_folder(folder):
                raw = _read_idx_folder(folder, n_classes)
            elif keras_npz and (folder / keras_npz).is_file():
                raw = _read_npz(folder / keras_npz, n_classes)
            else:
                continue
            problem = identity_problem(raw, name)
            if problem is None:
                return raw, passed_over
            if chosen and data_dir is not None:
                raise DataError(problem)
            passed_over = passed_over or problem
    return None, passed_over


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Standard output and error silenced at the file-descriptor level: TensorFlow's native start-up
    lines (absl, oneDNN) and Keras' download progress never reach the user, whose screen shows the
    tool's own line instead."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in saved:
            os.close(descriptor)


def download(name: str, advice: str) -> RawData:
    """Fetch through ``keras.datasets``: Keras (and TensorFlow, its backend) imported here only, once,
    with its output silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with _quiet():
            import keras
    except ImportError as error:
        raise DataUnavailable(
            f"no local copy of {name} was found and keras cannot be imported to download it ({error}). " + advice
        ) from None
    try:
        with _quiet():
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:
        # Exception itself, not a narrower class: keras' get_file (keras/src/utils/file_utils.py) re-raises the
        # URLError or HTTPError of a failed download as a bare Exception; a bad hash is a ValueError, a full
        # disk an OSError, a truncated file an EOFError, an interrupted transfer an http.client.HTTPException.
        reason = " ".join(str(error).split())[:200]
        raise DataUnavailable(
            f"no local copy of {name} was found and the download failed: {reason}. " + advice
        ) from None
    return RawData(x_train, y_train, x_test, y_test, source=f"keras.datasets.{name}")


def idx_or_keras(
    name: str,
    folder_names: Sequence[str],
    data_dir: DataDir = None,
    keras_npz: str | None = None,
    debian_package: str | None = None,
    *,
    n_classes: int,
) -> RawData:
    """The loader of an IDX image set: a local copy (see the module docstring), else a download; its
    labels checked against ``n_classes``."""
    local, passed_over = find_local(name, folder_names, n_classes, data_dir, keras_npz)
    if local is not None:
        return local
    debian = f" or `apt-get install {debian_package}`" if debian_package else ""
    advice = (
        f"Put the four IDX .gz files (train-images-idx3-ubyte.gz, ...) in a folder and pass "
        f"--data_dir FOLDER (or set {ENV_VAR}; a '{folder_names[0]}' sub-folder works too){debian}."
    )
    if passed_over:
        advice += f" Passed over: {passed_over.split(';')[0]}."
    return download(name, advice)
