"""Where an epoch's time goes, measured in a worker process: ffnn's MLP by cProfile, the default CNN layer
by layer with a stopwatch around each call, against the floor of its matrix products alone."""

from __future__ import annotations

import dataclasses
import time

from bench.matmul import cnn_gemms, gemm_floor
from bench.runners.ffnn import adam, cnn, mlp


def profile_epoch(data, batch) -> dict:
    """Where one ffnn epoch's time goes, by cProfile: the cumulative time of named functions.

    Each part is a function object; its profile entry is found through its code
    object (file, first line, name), so editing the modules never breaks the table.
    """
    import cProfile
    import pstats

    import nn
    import optimizers
    from nn.layers import ActivationLayer, Dense

    def train_one_epoch():
        nn.fit(model, "cross_entropy", opt, nn.Batches(data.x_train, data.y_train, batch, seed=0), epochs=1)

    model = mlp()
    opt = adam()
    train_one_epoch()
    profiler = cProfile.Profile()
    profiler.enable()
    train_one_epoch()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    parts = {
        "optimizer update (Adam)": optimizers.Optimizer.apply,
        "dense layers, forward": Dense.forward,
        "activations (ReLU), forward": ActivationLayer.forward,
        "backward pass (dense + ReLU)": nn.Sequential.backward,
        "softmax cross-entropy": nn.losses.cross_entropy,
        "batch gather": nn.Batches.__iter__,
    }

    def cumulative(function) -> float:
        code = function.__code__
        return sum(v[3] for k, v in stats.items() if k == (code.co_filename, code.co_firstlineno, code.co_name))

    total = cumulative(nn.fit)
    out = {label: cumulative(function) for label, function in parts.items()}
    out["other (Python per batch, metrics, callbacks)"] = total - sum(out.values())
    out["total"] = total
    return out


def profile_cnn(data, batch, warmup_batches=20) -> dict:
    """Where one epoch of the default CNN (as ``run_ffnn_cnn`` builds it) goes: the wall time of every
    layer's forward and backward pass, of the loss and of the optimizer step, each measured around the
    call (``time.perf_counter``; no profiler overhead), and the rest of the epoch (batching, metrics,
    Python). Each layer's methods are wrapped on the instance, so ``nn.fit`` runs unchanged."""
    import nn

    model = cnn()
    opt = adam()
    loss = nn.losses.for_task("cross_entropy", "classification")
    head = batch * warmup_batches
    nn.fit(model, loss, opt, nn.Batches(data.x_train[:head], data.y_train[:head], batch), epochs=1)
    spent: dict[str, float] = {}

    def timed(label, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

        return wrapper

    labels = []
    for position, layer in enumerate(model.layers):
        label = f"{position} {layer!r}"
        labels.append(label)
        layer.forward = timed((label, "forward"), layer.forward)
        layer.backward = timed((label, "backward"), layer.backward)
    loss = dataclasses.replace(loss, value_and_grad=timed("loss", loss.value_and_grad))  # a frozen dataclass
    opt.apply = timed("optimizer", opt.apply)
    start = time.perf_counter()
    nn.fit(model, loss, opt, nn.Batches(data.x_train, data.y_train, batch, seed=0), epochs=1)
    total = time.perf_counter() - start
    layers = [
        {"layer": label, "forward": spent.get((label, "forward"), 0.0), "backward": spent.get((label, "backward"), 0.0)}
        for label in labels
    ]
    measured = sum(row["forward"] + row["backward"] for row in layers) + spent["loss"] + spent["optimizer"]
    floor, gflops = gemm_floor(cnn_gemms(model, batch), steps=-(-len(data.x_train) // batch))
    return {
        "gemm_floor": floor,
        "gemm_gflops": gflops,
        "layers": layers,
        "loss": spent["loss"],
        "optimizer": spent["optimizer"],
        "other": total - measured,
        "total": total,
        "batch": batch,
    }
