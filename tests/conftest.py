import atexit
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The decoded-data cache (datasets/cache.py) of the tests' own, in a folder removed at the end: the tests
# (and the runs they start in subprocesses, which inherit it) never write to the user's cache folder.
_CACHE = tempfile.mkdtemp(prefix="ffnn-test-cache-")
os.environ["FFNN_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def signal_handlers_restored():
    """train.py's command, run in the test's own process, sets its SIGINT/SIGTERM handlers and, once the
    run is written, ignores both signals: put the session's back, so Ctrl-C still stops pytest."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        if handler is not None:
            signal.signal(signum, handler)


@pytest.fixture
def blobs():
    """A small, well separated 3-class problem in 20 dimensions (train, validation)."""
    rng = np.random.default_rng(42)
    centres = rng.normal(scale=3.0, size=(3, 20))
    y = rng.integers(0, 3, size=600)
    x = (centres[y] + rng.normal(size=(600, 20))).astype(np.float32)
    return (x[:500], y[:500]), (x[500:], y[500:])


def make_idx_folder(folder, n_train=200, n_test=50, seed=0):
    """Write a tiny Fashion-MNIST-shaped data set (4 IDX .gz files) into ``folder``.

    Each class has a bright square in its own place, so a network can learn it.
    """
    from datasets import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        images = rng.integers(0, 60, size=(n, 28, 28))
        for i, c in enumerate(labels):
            row, col = divmod(int(c), 5)
            images[i, 4 + 10 * row : 12 + 10 * row, 2 + 5 * col : 6 + 5 * col] = 250
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture
def tiny_idx(tmp_path):
    return make_idx_folder(tmp_path / "data" / "fashion-mnist").parent


def real_data_dir():
    import os

    folder = Path(os.environ.get("FFNN_DATA_DIR", ROOT.parent / "shared" / "data")).resolve()
    return folder if (folder / "fashion-mnist").is_dir() else None


REAL_DATA_SETS = ("fashion_mnist", "mnist")  # read from IDX files; the others come with scikit-learn or are made up
REAL_DATA_MARKS = (
    pytest.mark.realdata,
    pytest.mark.slow,
    pytest.mark.skipif(real_data_dir() is None, reason="real data not found (set FFNN_DATA_DIR)"),
)
"""The marks of a test that reads the real Fashion-MNIST / MNIST files: ``realdata``, ``slow`` (not in the
fast tier, ``-m 'not slow'``), and skipped where the files are not found. One case of a parametrised
test: ``pytest.param(value, marks=REAL_DATA_MARKS)``."""


def requires_real_data(test):
    """Decorator: the :data:`REAL_DATA_MARKS` on a test."""
    for mark in REAL_DATA_MARKS:
        test = mark(test)
    return test


CLASSIFICATION_LOSSES = ["cross_entropy", "mean_squared_error"]


def fit_arrays(model, optimizer, x, y, *, epochs, batch_size, seed=0, order="shuffled", loss="cross_entropy", **kwargs):
    """``nn.fit`` on in-memory arrays: the batches made from ``x``, ``y`` with ``seed`` and ``order``."""
    import nn

    batches = nn.Batches(x, y, batch_size, seed=seed, order=order)
    return nn.fit(model, loss, optimizer, batches, epochs=epochs, **kwargs)


def proba(model, x):
    """Class probabilities: the softmax of the model's outputs."""
    import nn

    return nn.softmax(model.predict(x))
