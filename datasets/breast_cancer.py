"""scikit-learn's Wisconsin breast-cancer set: 569 tumours, 30 features on very different
scales (areas in the thousands, smoothness around 0.1), malignant or benign.

Bundled with scikit-learn (always offline); 20 % held out as the test set, stratified and
fixed (random_state 0). The natural data for the feature-scaling study.
"""

from nn.tasks import Task

from .base import DATASETS, DataDir, DatasetInfo, RawData


def load_raw(data_dir: DataDir = None) -> RawData:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    return RawData(x_train, y_train, x_test, y_test, source="sklearn.datasets.load_breast_cancer")


DATASETS.register(
    "breast_cancer",
    DatasetInfo(
        "breast_cancer",
        Task.CLASSIFICATION,
        "scikit-learn's breast-cancer tumours, 30 features, 2 classes",
        load_raw,
        ("malignant", "benign"),
    ),
)
