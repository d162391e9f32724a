"""This project (ffnn): the benchmark's MLP and the tool's default CNN, trained with ``nn.fit``."""

from __future__ import annotations

import statistics

from bench.workload import CNN_FILTERS, EPS, HIDDEN, LR, TARGET_ACCURACY, TARGET_MAX_EPOCHS


def mlp():
    import nn

    return nn.mlp([784, *HIDDEN, 10], activation="ReLU", weight_init="Xavier", seed=0)


def cnn():
    """The tool's default ``--arch cnn``: CNN_FILTERS, then the tool's default head of 5 x 128."""
    import nn

    return nn.convnet(
        (28, 28), 10, filters=CNN_FILTERS, hidden=[*HIDDEN, 128], activation="ReLU", weight_init="Xavier", seed=0
    )


def adam():
    import optimizers

    return optimizers.make("adam", learning_rate=LR, epsilon=EPS)


def run_ffnn(data, batch, epochs):
    import nn

    model = mlp()
    opt = adam()
    history = nn.fit(
        model,
        "cross_entropy",
        opt,
        nn.Batches(data.x_train, data.y_train, batch, seed=0),
        epochs=epochs + 1,
        validation_data=data.validation,
    )
    times = [h["seconds"] for h in history[1:]]
    evals = [h["eval_seconds"] for h in history[1:]]
    accuracy = nn.evaluate(model, "cross_entropy", data.x_test, data.y_test)["accuracy"]
    return times, accuracy, {"eval_seconds": statistics.median(evals)}


def run_ffnn_cnn(data, batch, epochs):
    """One timed epoch each (a CNN epoch is long enough not to need a warm-up epoch of its own)."""
    import nn

    model = cnn()
    opt = adam()
    nn.fit(
        model, "cross_entropy", opt, nn.Batches(data.x_train[: batch * 20], data.y_train[: batch * 20], batch), epochs=1
    )
    history = nn.fit(model, "cross_entropy", opt, nn.Batches(data.x_train, data.y_train, batch, seed=0), epochs=epochs)
    accuracy = nn.evaluate(model, "cross_entropy", data.x_test, data.y_test)["accuracy"]
    return [h["seconds"] for h in history], accuracy, {"n_params": model.n_params}


def time_to_target(data, batch) -> tuple[int | None, list[float]]:
    """Train the MLP until its test accuracy first reaches TARGET_ACCURACY (checked after every epoch,
    untimed), at most TARGET_MAX_EPOCHS epochs: the epoch that reached it (None: none did) and the
    seconds of every epoch trained."""
    import nn

    reached = {}
    model = mlp()

    class Check(nn.Callback):
        def on_epoch_end(self, epoch, metrics):
            if nn.evaluate(model, "cross_entropy", data.x_test, data.y_test)["accuracy"] >= TARGET_ACCURACY:
                reached["epoch"] = epoch
                raise nn.StopTraining

    history = nn.fit(
        model,
        "cross_entropy",
        adam(),
        nn.Batches(data.x_train, data.y_train, batch, seed=0),
        epochs=TARGET_MAX_EPOCHS,
        callbacks=[Check()],
    )
    return reached.get("epoch"), [h["seconds"] for h in history]
