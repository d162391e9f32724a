"""The workload every framework trains, the same for all: the network, the batch sizes, Adam's settings,
the accuracy target, the CNN and the whole-process job; and what every part shares: the FLOP count, the
data and a stopwatch."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_SCRIPT = ROOT / "bench" / "run.py"  # the entry point: the workers and the PyTorch job run it again

HIDDEN = [128, 128, 128, 128]
BATCHES = [16, 64, 256]
FRAMEWORKS = ["ffnn", "torch", "keras", "sklearn"]
LR, EPS = 0.001, 1e-8
CNN_FILTERS, CNN_BATCH = [32, 64], 64  # the tool's --arch cnn defaults: 3x3 convolutions, 2x2 max pooling
TARGET_ACCURACY, TARGET_MAX_EPOCHS = 0.88, 20
WHOLE_EPOCHS, WHOLE_BATCH = 3, 64  # the whole-process job


def flops_per_sample(sizes) -> int:
    pairs = list(itertools.pairwise(sizes))
    return sum(6 * a * b for a, b in pairs) - 2 * pairs[0][0] * pairs[0][1]


def load(data_dir):
    import datasets

    return datasets.load("fashion_mnist", data_dir, val_fraction=0.1, seed=0)


def timed(function) -> float:
    """Wall seconds of one call of ``function``."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start
