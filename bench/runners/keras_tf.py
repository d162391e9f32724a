"""Keras on TensorFlow: the same MLP, ``model.fit`` with a callback timing each epoch."""

from __future__ import annotations

import os
import time

from bench.workload import EPS, HIDDEN, LR


def run_keras(data, batch, epochs):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras

    keras.utils.set_random_seed(0)
    layers = (
        [keras.Input((784,))] + [keras.layers.Dense(n, activation="relu") for n in HIDDEN] + [keras.layers.Dense(10)]
    )
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LR, epsilon=EPS),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(
        data.x_train, data.y_train, batch_size=batch, epochs=epochs + 1, shuffle=True, verbose=0, callbacks=[Timer()]
    )
    accuracy = model.evaluate(data.x_test, data.y_test, batch_size=4096, verbose=0)[1]
    return times[1:], float(accuracy), {"version": keras.__version__}
