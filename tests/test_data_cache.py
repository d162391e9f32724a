"""The decoded-data cache (datasets/cache.py): the same arrays as decoding, a changed file decoded
again, and every failure falling back to decoding."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import datasets
from datasets import cache, idx
from datasets.idx import DataError, read_idx, write_idx


@pytest.fixture
def folder(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(where))
    return where


@pytest.fixture
def images(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 256, size=(50, 28, 28)))
    return path


def decompressions(monkeypatch) -> list:
    calls: list = []
    real = gzip.decompress

    def counted(data, *args, **kwargs):
        calls.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(idx.gzip, "decompress", counted)
    return calls


def test_the_second_read_comes_from_the_cache_and_equals_decoding(folder, images, monkeypatch):
    calls = decompressions(monkeypatch)
    first = cache.read_idx_cached(images, 3)
    second = cache.read_idx_cached(images, 3)
    assert len(calls) == 1  # decoded once, then mapped
    assert isinstance(second, np.memmap) and not second.flags.writeable
    expected = np.frombuffer(gzip.decompress(images.read_bytes())[16:], dtype=np.uint8).reshape(50, 28, 28)
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(second, expected)
    assert len(list(folder.glob("idx-v1-*.npy"))) == 1 and not list(folder.glob(".*"))  # no temporary left


def test_a_changed_file_is_decoded_again(folder, images):
    cache.read_idx_cached(images, 3)
    changed = np.full((50, 28, 28), 7, dtype=np.uint8)
    write_idx(images, changed)
    np.testing.assert_array_equal(cache.read_idx_cached(images, 3), changed)
    assert len(list(folder.glob("idx-v1-*.npy"))) == 2  # keyed by content: the old entry is not the new file's


def test_a_damaged_entry_is_decoded_again_and_replaced(folder, images, monkeypatch):
    cache.read_idx_cached(images, 3)
    (entry,) = folder.glob("idx-v1-*.npy")
    entry.write_bytes(b"not an array")
    calls = decompressions(monkeypatch)
    np.testing.assert_array_equal(cache.read_idx_cached(images, 3), read_idx(images, 3))
    assert len(calls) == 2  # ours, and read_idx's
    assert np.load(entry).shape == (50, 28, 28)  # replaced by a good one


def test_a_folder_that_cannot_be_written_falls_back_to_decoding(tmp_path, images, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV_VAR, str(blocker / "cache"))  # under a file: mkdir fails
    np.testing.assert_array_equal(cache.read_idx_cached(images, 3), read_idx(images, 3))


def test_off_means_no_cache(tmp_path, images, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, "off")
    assert cache.cache_folder() is None
    np.testing.assert_array_equal(cache.read_idx_cached(images, 3), read_idx(images, 3))


def test_the_default_folder_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_folder() == tmp_path / "ffnn" / "decoded"


def test_a_damaged_source_is_still_bad_input_and_nothing_is_stored(folder, tmp_path):
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 5))
    with pytest.raises(DataError, match="truncated header|promises"):
        cache.read_idx_cached(bad, 3)
    assert not folder.exists() or not list(folder.iterdir())


def test_a_data_set_loads_the_same_with_and_without_the_cache(tiny_idx, folder, monkeypatch):
    cached_once = datasets.load("fashion_mnist", str(tiny_idx), 0.1, 0)
    cached = datasets.load("fashion_mnist", str(tiny_idx), 0.1, 0)  # from the memory maps
    monkeypatch.setenv(cache.ENV_VAR, "off")
    plain = datasets.load("fashion_mnist", str(tiny_idx), 0.1, 0)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(cached, name), getattr(plain, name))
        np.testing.assert_array_equal(getattr(cached_once, name), getattr(plain, name))
    assert len(list(folder.glob("idx-v1-*.npy"))) == 4
