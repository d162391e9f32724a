"""Regression tests of defects a review found in the reports' features: each failed before its fix."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import nn
from datasets import files
from datasets.files import DataFileError
from experiments.plugins.importance import NetworkEstimator


def test_importance_reads_a_sigmoid_output_as_two_classes():
    model = nn.mlp([2, 1], activation="ReLU", weight_init="Xavier", seed=0, dtype=np.float64)
    model.params["dense_0.W"][...] = [[1.0], [0.0]]
    model.params["dense_0.b"][...] = [0.0]
    x = np.array([[-3.0, 0.0], [2.0, 0.0], [0.5, 0.0]])
    estimator = NetworkEstimator(model, classifies=True)
    assert estimator.predict(x).tolist() == [0, 1, 1]  # z > 0: class 1 (argmax of one column said 0)
    assert estimator.score(x, np.array([0, 1, 0])) == pytest.approx(2 / 3)


def test_validation_npz_with_numeric_class_names_is_matched_by_name(tmp_path):
    names = np.array(["1", "2", "3"])
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", x=rng.normal(size=(30, 4)), y=np.repeat([0, 1, 2], 10), class_names=names)
    np.savez(tmp_path / "val.npz", x=rng.normal(size=(4, 4)), y=np.array([0, 0, 1, 1]), class_names=names)
    train = files.read(str(tmp_path / "train.npz"))
    given = files.read_validation(str(tmp_path / "val.npz"), train)
    assert given.labels.tolist() == [0, 0, 1, 1]  # ids of "1", "1", "2", "2" (shifted to 1, 1, 2, 2 before)


def test_validation_npz_class_names_in_another_order(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "train.npz", x=rng.normal(size=(20, 3)), y=np.repeat([0, 1], 10), class_names=["cat", "dog"])
    np.savez(tmp_path / "val.npz", x=rng.normal(size=(3, 3)), y=np.array([0, 1, 1]), class_names=["dog", "cat"])
    given = files.read_validation(str(tmp_path / "val.npz"), files.read(str(tmp_path / "train.npz")))
    assert given.labels.tolist() == [1, 0, 0]
    np.savez(tmp_path / "bad.npz", x=rng.normal(size=(2, 3)), y=np.array([0, 1]), class_names=["dog", "cow"])
    with pytest.raises(DataFileError, match="cow"):
        files.read_validation(str(tmp_path / "bad.npz"), files.read(str(tmp_path / "train.npz")))


def test_an_image_folder_of_train_and_val_is_not_two_classes(tmp_path):
    from PIL import Image

    import datasets

    for split in ("train", "val"):
        for label in ("a", "b"):
            folder = tmp_path / "images" / split / label
            folder.mkdir(parents=True)
            Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(folder / "0.png")
    with pytest.raises(DataFileError, match="the name of a split"):
        datasets.read_file(str(tmp_path / "images"))


def test_a_decompression_bomb_is_one_line(tmp_path, monkeypatch):
    from PIL import Image

    import datasets

    for label in ("a", "b"):
        (tmp_path / "images" / label).mkdir(parents=True)
        Image.fromarray(np.zeros((20, 20), dtype=np.uint8)).save(tmp_path / "images" / label / "0.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 400 pixels is then more than twice the limit: a bomb
    with pytest.raises(DataFileError, match="not a readable image"):
        datasets.read_file(str(tmp_path / "images"))


def test_pretrain_data_without_pretraining_is_refused(tmp_path):
    import train

    np.savez(tmp_path / "rows.npz", x=np.zeros((5, 64)))
    result = CliRunner().invoke(
        train.cli, ["-d", "digits", "-e", "1", "--pretrain_data", str(tmp_path / "rows.npz"), "--wandb_mode", "disabled",
                    "--output_dir", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--pretrain_data needs --pretrain" in result.output and "Traceback" not in result.output
