"""The keras.datasets download path, run for real with only the network replaced.

A fresh install has no local copy of the data; train.py then downloads through
``keras.datasets`` (Keras on its TensorFlow backend, from requirements.txt). Here
``urllib.request.urlretrieve``, which Keras' ``get_file`` calls, serves the files of
the local copy (FFNN_DATA_DIR) instead of the internet; Keras' cache layout, its
checks and the parsing all run unchanged, in an empty KERAS_HOME.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT, real_data_dir, requires_real_data

pytestmark = pytest.mark.slow  # train.py processes through Keras (the fake network serves the real files)

FAKE_NETWORK = textwrap.dedent("""
    import gzip, os, runpy, shutil, sys, urllib.error, urllib.request
    from pathlib import Path

    served = Path(os.environ["SERVED_FROM"])
    mode = os.environ["NETWORK"]

    def urlretrieve(url, filename=None, reporthook=None, data=None):
        if mode == "down":
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        name = url.rsplit("/", 1)[1]
        if name == "mnist.npz":  # Keras' MNIST archive, rebuilt from the IDX files
            import numpy as np
            sys.path.insert(0, os.environ["PROJECT"])
            from datasets import read_idx
            folder = served / "mnist"
            arrays = {key: read_idx(folder / f"{stem}.gz", 3 if key[0] == "x" else 1) for key, stem in
                      (("x_train", "train-images-idx3-ubyte"), ("y_train", "train-labels-idx1-ubyte"),
                       ("x_test", "t10k-images-idx3-ubyte"), ("y_test", "t10k-labels-idx1-ubyte"))}
            with open(filename, "wb") as handle:
                np.savez(handle, **arrays)
        else:
            shutil.copyfile(served / "fashion-mnist" / name, filename)
        if reporthook:
            size = os.path.getsize(filename)
            reporthook(1, size, size)
        return filename, {}

    urllib.request.urlretrieve = urlretrieve
    sys.argv = ["train.py", *sys.argv[1:]]
    sys.path.insert(0, os.environ["PROJECT"])
    runpy.run_path(os.path.join(os.environ["PROJECT"], "train.py"), run_name="__main__")
""")


def train_offline_world(tmp_path, network, *args):
    env = {key: value for key, value in os.environ.items() if key != "FFNN_DATA_DIR"}
    env.update(
        HOME=str(tmp_path / "home"),
        KERAS_HOME=str(tmp_path / "keras"),
        SERVED_FROM=str(real_data_dir()),
        NETWORK=network,
        PROJECT=str(ROOT),
        WANDB_MODE="disabled",
    )
    (tmp_path / "home").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", FAKE_NETWORK, *args, "--wandb_mode", "disabled", "--output_dir", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@requires_real_data
def test_fashion_mnist_downloads_through_keras_into_its_cache(tmp_path):
    args = ["-d", "fashion_mnist", "-e", "1", "-nhl", "1", "-sz", "16", "-b", "256"]
    first = train_offline_world(tmp_path, "up", *args)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "from keras.datasets.fashion_mnist" in first.stdout
    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{s}-ubyte.gz" for s in ("t10k-images-idx3", "t10k-labels-idx1", "train-images-idx3", "train-labels-idx1")
    )
    second = train_offline_world(tmp_path, "down", *args)  # no network now: the Keras cache serves
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"from {cache}" in second.stdout


@requires_real_data
def test_mnist_download_is_checked_by_keras(tmp_path):
    """Keras pins the SHA-256 of mnist.npz; the archive rebuilt here differs in its zip bytes,
    so Keras rejects it, and the tool says so in one line (the check is Keras', run for real)."""
    result = train_offline_world(tmp_path, "up", "-d", "mnist", "-e", "1")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert last.startswith("Error: no local copy of mnist was found and the download failed")
    assert "hash" in last and "--data_dir" in last


@requires_real_data  # the fake network serves the local copy
@pytest.mark.parametrize("name", ["fashion_mnist", "mnist"])
def test_without_network_the_error_says_how_to_give_the_data(name, tmp_path):
    result = train_offline_world(tmp_path, "down", "-d", name, "-e", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"no local copy of {name} was found and the download failed" in last
    assert "name resolution" in last and "--data_dir FOLDER" in last
    shown = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(shown) <= 3, shown  # TensorFlow's, absl's and oneDNN's start-up lines are not the user's business
    assert not any(word in result.stdout + result.stderr for word in ("oneDNN", "absl", "Downloading data"))
