"""The benchmark's own arithmetic and a worker run on tiny data (the timing itself is not tested)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import run as bench


def test_flop_count_written_out():
    # forward 2*in*out, weight gradient 2*in*out, input gradient 2*in*out except the first layer
    layers = [(784, 128), (128, 128), (128, 128), (128, 128), (128, 10)]
    expected = sum(2 * a * b for a, b in layers) * 3 - 2 * 784 * 128
    assert bench.flops_per_sample([784, 128, 128, 128, 128, 10]) == expected == 704000


@pytest.mark.parametrize("framework", ["ffnn", "sklearn", "torch", "ffnn-cnn", "torch-cnn"])
def test_worker_reports_times_accuracy_and_memory(framework, tiny_idx):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--worker",
            framework,
            "32",
            "--epochs",
            "2",
            "--data_dir",
            str(tiny_idx),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["framework"] == framework and len(result["times"]) == 2
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["peak_mb"] > 10 and result["n_train"] == 180


@pytest.mark.parametrize("framework", ["ffnn", "torch"])
def test_time_to_target_accuracy_reports_epochs_and_seconds(framework, tiny_idx):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--worker",
            f"target-{framework}",
            "32",
            "--data_dir",
            str(tiny_idx),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["framework"] == framework and result["batch"] == 32
    assert (result["epochs"] is None) == (result["seconds"] is None)
    assert result["epochs"] is None or (1 <= result["epochs"] <= bench.TARGET_MAX_EPOCHS and result["seconds"] > 0)


def test_torch_cnn_is_the_tools_default_cnn():
    import numpy as np
    import torch

    import nn

    ours = nn.convnet(
        (28, 28), 10, filters=bench.CNN_FILTERS, hidden=[*bench.HIDDEN, 128], activation="ReLU", weight_init="Xavier"
    )
    theirs = bench.torch_cnn(torch)
    assert ours.n_params == sum(p.numel() for p in theirs.parameters())
    assert theirs(torch.zeros(2, 784)).shape == (2, 10) and np.asarray(ours.predict(np.zeros((2, 784)))).shape == (
        2,
        10,
    )
