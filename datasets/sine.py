"""The homework's regression task: y = sin(x) + 0.1 * N(0, 1), x uniform on [-2 pi, 2 pi].

1,000 training and 1,000 test points, drawn once from a fixed seed (2026), so
every run, whatever its ``--seed``, fits the same data.
"""

import math

import numpy as np

from nn.tasks import Task

from .base import DATASETS, DataDir, DatasetInfo, RawData

SEED, N_TRAIN, N_TEST, NOISE = 2026, 1000, 1000, 0.1


def load_raw(data_dir: DataDir = None) -> RawData:
    rng = np.random.default_rng(SEED)
    x = rng.uniform(-2 * math.pi, 2 * math.pi, size=(N_TRAIN + N_TEST, 1))
    y = np.sin(x) + NOISE * rng.standard_normal(x.shape)
    return RawData(x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:], source=f"synthetic, seed {SEED}")


DATASETS.register(
    "sine",
    DatasetInfo(
        "sine", Task.REGRESSION, "y = sin(x) + 0.1 N(0,1), 1,000 + 1,000 points (regression)", load_raw, truth=np.sin
    ),
)
