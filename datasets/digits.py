"""scikit-learn's 8x8 digits: tiny (1,797 images) and always available offline; for demos and tests."""

import numpy as np

from nn.tasks import Task

from .base import DATASETS, DataDir, DatasetInfo, RawData


def load_raw(data_dir: DataDir = None) -> RawData:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)  # same [0, 255] range as MNIST
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.2, stratify=digits.target, random_state=0
    )
    return RawData(x_train, y_train, x_test, y_test, source="sklearn.datasets.load_digits")


DATASETS.register(
    "digits",
    DatasetInfo(
        "digits",
        Task.CLASSIFICATION,
        "scikit-learn's 8x8 digits, tiny, for demos and tests",
        load_raw,
        tuple(str(d) for d in range(10)),
    ),
)
