"""scikit-learn's MLPClassifier: the same MLP, one ``partial_fit`` pass over the data per epoch."""

from __future__ import annotations

import time

from bench.workload import EPS, HIDDEN, LR


def run_sklearn(data, batch, epochs):
    import warnings

    import numpy as np
    import sklearn
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=tuple(HIDDEN),
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=batch,
        learning_rate_init=LR,
        epsilon=EPS,
        shuffle=True,
        random_state=0,
    )
    times = []
    classes = np.arange(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs + 1):
            start = time.perf_counter()
            model.partial_fit(data.x_train, data.y_train, classes=classes)  # one pass over the data
            times.append(time.perf_counter() - start)
    assert model.coefs_[0].dtype == np.float32
    return times[1:], float(model.score(data.x_test, data.y_test)), {"version": sklearn.__version__}
