"""Fashion-MNIST (Xiao et al. 2017): 28x28 greyscale clothing images, 10 classes, 60,000 + 10,000."""

from nn.tasks import Task

from .base import DATASETS, DataDir, DatasetInfo, RawData
from .sources import idx_or_keras

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_raw(data_dir: DataDir = None) -> RawData:
    return idx_or_keras(
        "fashion_mnist",
        ("fashion-mnist", "fashion_mnist", "fashion"),
        data_dir,
        debian_package="dataset-fashion-mnist",
        n_classes=len(CLASS_NAMES),
    )


DATASETS.register(
    "fashion_mnist",
    DatasetInfo(
        "fashion_mnist",
        Task.CLASSIFICATION,
        "Zalando's 28x28 clothing images, 10 classes",
        load_raw,
        CLASS_NAMES,
        mirror_invariant=True,
    ),
)
