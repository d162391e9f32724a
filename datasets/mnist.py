"""MNIST (LeCun et al. 1998): 28x28 greyscale handwritten digits, 10 classes, 60,000 + 10,000."""

from nn.tasks import Task

from .base import DATASETS, DataDir, DatasetInfo, RawData
from .sources import idx_or_keras

CLASS_NAMES = tuple(str(d) for d in range(10))


def load_raw(data_dir: DataDir = None) -> RawData:
    return idx_or_keras("mnist", ("mnist", "MNIST"), data_dir, keras_npz="mnist.npz", n_classes=len(CLASS_NAMES))


DATASETS.register(
    "mnist",
    DatasetInfo(
        "mnist",
        Task.CLASSIFICATION,
        "handwritten digits, 28x28, 10 classes",
        load_raw,
        CLASS_NAMES,
    ),
)
