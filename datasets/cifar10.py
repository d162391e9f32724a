"""CIFAR-10 (Krizhevsky 2009): 32x32 colour photos, 10 classes, 50,000 + 10,000.

**Local copy**: CIFAR-10's *binary version* as distributed (https://www.cs.toronto.edu/~kriz/cifar.html),
looked for where :mod:`datasets.sources` looks (``--data_dir`` or ``FFNN_DATA_DIR``, the Keras cache,
``/usr/share/datasets``), in the folder itself, a ``cifar-10-batches-bin`` sub-folder or a ``cifar10`` /
``cifar-10`` sub-folder (holding either):

* the folder ``cifar-10-batches-bin/``: ``data_batch_1.bin`` .. ``data_batch_5.bin`` (training, in that
  order), ``test_batch.bin`` and ``batches.meta.txt`` (the class names, one a line; checked if present);
* or its archive ``cifar-10-binary.tar.gz``, read member by member with :mod:`tarfile` (nothing extracted
  to disk).

Each ``.bin`` file is a sequence of 3,073-byte records: one label byte (0..9), then 3,072 pixel bytes,
channel-major: the 1,024 red values of the 32x32 image row by row, then the green ones, then the blue
ones. So record ``r`` gives ``label = r[0]`` and the channels-last image ``r[1:].reshape(3, 32, 32)
.transpose(1, 2, 0)`` (``[..., 0]`` red). The files are read with ``np.frombuffer`` into one
preallocated ``N x 32 x 32 x 3`` uint8 array (184 MB for the 60,000 images; the network's float32
inputs take 737 MB).

The *Python version* (``cifar-10-batches-py/``, ``cifar-10-python.tar.gz``) is pickled, and a pickle can
run code: it is never read. Found in the user's folder (and no binary version beside it), it is refused
with one line saying which version to get.

**Otherwise** ``keras.datasets.cifar10.load_data()`` downloads the Python version into the Keras cache and
reads it (Keras' own archive, checked against the SHA-256 Keras pins, read by Keras' restricted unpickler).
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nn.tasks import Task

from . import sources
from .base import DATASETS, DataDir, DatasetInfo, RawData
from .idx import DataError
from .sources import ENV_VAR, candidate_roots, check_labels

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SIDE, CHANNELS = 32, 3
RECORD = 1 + CHANNELS * SIDE * SIDE  # 3,073 bytes: the label, then the R, G and B planes
BIN_FOLDER = "cifar-10-batches-bin"
BIN_ARCHIVE = "cifar-10-binary.tar.gz"
BATCHES = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")  # training (5), then test
META = "batches.meta.txt"
PICKLED = ("cifar-10-batches-py", "cifar-10-python.tar.gz", "data_batch_1")  # the Python version's names
SUB_FOLDERS = (BIN_FOLDER, "cifar10", "cifar-10", f"cifar10/{BIN_FOLDER}", f"cifar-10/{BIN_FOLDER}")
ADVICE = (
    f"Get CIFAR-10's binary version ({BIN_ARCHIVE}, https://www.cs.toronto.edu/~kriz/cifar.html) and pass "
    f"--data_dir FOLDER, FOLDER holding the archive or its {BIN_FOLDER} folder (or set {ENV_VAR})."
)


def load_raw(data_dir: DataDir = None) -> RawData:
    """A local binary copy (see the module docstring), else Keras' download."""
    for root, chosen in candidate_roots(data_dir):
        folders = [root, *(root / sub for sub in SUB_FOLDERS)]
        for folder in folders:
            if any((folder / name).is_file() for name in BATCHES):
                return read_folder(folder)
            if (folder / BIN_ARCHIVE).is_file():
                return read_archive(folder / BIN_ARCHIVE)
        pickled = next((folder / name for folder in folders for name in PICKLED if (folder / name).exists()), None)
        if chosen and pickled is not None:
            raise DataError(
                f"{pickled}: CIFAR-10's Python version, whose files are pickled (a pickle can run code): "
                f"not read. {ADVICE}"
            )
    raw = sources.download("cifar10", ADVICE)  # looked up when called: the tests refuse downloads there
    x_train, x_test = (x.transpose(0, 2, 3, 1) if x.shape[1] == CHANNELS else x for x in (raw.x_train, raw.x_test))
    y_train, y_test = (np.asarray(y, dtype=np.int64).reshape(-1) for y in (raw.y_train, raw.y_test))
    for y, split in ((y_train, "train"), (y_test, "test")):
        check_labels(y, len(CLASS_NAMES), f"{raw.source} ({split})")
    return RawData(x_train, y_train, x_test, y_test, source=raw.source)


def read_folder(folder: Path) -> RawData:
    """The binary version's folder: its six batch files and (if there) ``batches.meta.txt``."""
    missing = [name for name in BATCHES if not (folder / name).is_file()]
    if missing:
        raise DataError(f"{folder / missing[0]}: missing; CIFAR-10's binary version has {', '.join(BATCHES)}")
    if (folder / META).is_file():
        check_meta((folder / META).read_bytes(), str(folder / META))
    sizes = [(str(folder / name), (folder / name).stat().st_size) for name in BATCHES]
    return _records(sizes, lambda i: (folder / BATCHES[i]).read_bytes(), range(len(BATCHES)), str(folder))


def read_archive(path: Path) -> RawData:
    """``cifar-10-binary.tar.gz``: the batch files read from the archive, in the archive's order (a gzip
    stream is read forward, once)."""
    try:
        with tarfile.open(path, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            missing = [name for name in BATCHES if name not in members]
            if missing:
                raise DataError(f"{path}: has no {missing[0]}; not CIFAR-10's binary version ({BIN_ARCHIVE})")
            if META in members:
                check_meta(_member(tar, members[META]), f"{path}:{members[META].name}")
            chosen = [members[name] for name in BATCHES]
            sizes = [(f"{path}:{m.name}", m.size) for m in chosen]
            order = sorted(range(len(chosen)), key=lambda i: chosen[i].offset_data)
            return _records(sizes, lambda i: _member(tar, chosen[i]), order, str(path))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot be read as a .tar.gz archive ({error})") from None


def _member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    assert handle is not None  # a regular file's
    return handle.read()


def check_meta(data: bytes, where: str) -> None:
    """``batches.meta.txt`` names CIFAR-10's classes, in order (a :class:`DataError` otherwise)."""
    names = tuple(line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip())
    if names != CLASS_NAMES:
        raise DataError(
            f"{where}: names the classes {', '.join(names[:10]) or 'none'}; CIFAR-10's are {', '.join(CLASS_NAMES)}"
        )


def _records(
    sizes: Sequence[tuple[str, int]], read: Callable[[int], bytes], order: Sequence[int], source: str
) -> RawData:
    """The six batch files ``sizes`` (``(where, bytes)``, training then test) decoded into one preallocated
    ``N x 32 x 32 x 3`` uint8 array and its labels; ``read(i)`` gives file ``i``'s bytes, read in ``order``."""
    for where, size in sizes:
        if size == 0 or size % RECORD:
            raise DataError(
                f"{where}: {size:,} bytes, not a whole number of {RECORD:,}-byte records (a label byte and "
                f"{SIDE}x{SIDE}x{CHANNELS} pixels); the file is truncated or not CIFAR-10's binary version"
            )
    counts = [size // RECORD for _, size in sizes]
    starts = np.concatenate([[0], np.cumsum(counts)])
    x = np.empty((int(starts[-1]), SIDE, SIDE, CHANNELS), dtype=np.uint8)
    y = np.empty(int(starts[-1]), dtype=np.int64)
    for i in order:
        data = read(i)
        if len(data) != sizes[i][1]:
            raise DataError(f"{sizes[i][0]}: changed while it was read")
        records = np.frombuffer(data, dtype=np.uint8).reshape(counts[i], RECORD)
        check_labels(records[:, 0], len(CLASS_NAMES), sizes[i][0])
        x[starts[i] : starts[i + 1]] = records[:, 1:].reshape(-1, CHANNELS, SIDE, SIDE).transpose(0, 2, 3, 1)
        y[starts[i] : starts[i + 1]] = records[:, 0]
    n_train = int(starts[-2])
    return RawData(x[:n_train], y[:n_train], x[n_train:], y[n_train:], source=source)


DATASETS.register(
    "cifar10",
    DatasetInfo(
        "cifar10",
        Task.CLASSIFICATION,
        "32x32 colour photos (airplane ... truck), 10 classes",
        load_raw,
        CLASS_NAMES,
        mirror_invariant=True,
    ),
)
