"""scikit-learn's diabetes regression set: 442 patients, 10 features, disease progression after a year.

Bundled with scikit-learn (always offline); 20 % held out as the test set, fixed (random_state 0).
"""

from nn.tasks import Task

from .base import DATASETS, DataDir, DatasetInfo, RawData


def load_raw(data_dir: DataDir = None) -> RawData:
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    return RawData(x_train, y_train, x_test, y_test, source="sklearn.datasets.load_diabetes")


DATASETS.register(
    "diabetes",
    DatasetInfo("diabetes", Task.REGRESSION, "scikit-learn's diabetes progression, 10 features (regression)", load_raw),
)
