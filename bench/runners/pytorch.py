"""PyTorch: the same MLP and CNN, float32, as many threads as cores, its own shuffled index batches (no
DataLoader workers); and the PyTorch peer of train.py's whole-process job."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bench.workload import CNN_FILTERS, EPS, HIDDEN, LR, TARGET_ACCURACY, TARGET_MAX_EPOCHS, load


def _torch():
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    return torch


def torch_mlp(torch):
    layers, width = [], 784
    for n in HIDDEN:
        layers += [torch.nn.Linear(width, n), torch.nn.ReLU()]
        width = n
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))


def torch_cnn(torch):
    layers, channels, size = [torch.nn.Unflatten(1, (1, 28, 28))], 1, 28
    for filters in CNN_FILTERS:
        layers += [torch.nn.Conv2d(channels, filters, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        channels, size = filters, size // 2
    layers.append(torch.nn.Flatten())
    width = channels * size * size
    for n in [*HIDDEN, 128]:  # the tool's default head: 5 x 128
        layers += [torch.nn.Linear(width, n), torch.nn.ReLU()]
        width = n
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 10))


def torch_epochs(torch, model, data, batch, epochs, after_epoch=lambda epoch: False):
    """Train ``epochs`` epochs (Adam, shuffled index batches); the list of epoch times.
    ``after_epoch(epoch)`` runs untimed after each epoch and stops training when it returns True."""
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train.astype("int64"))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, eps=EPS)
    loss_function = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    times = []
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch):
            index = order[i : i + batch]
            optimizer.zero_grad(set_to_none=True)
            loss_function(model(x[index]), y[index]).backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
        if after_epoch(len(times)):
            break
    return times


def torch_accuracy(torch, model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(torch.from_numpy(x[i : i + 1000])).argmax(1) for i in range(0, len(x), 1000)])
    return float((predictions.numpy() == y).mean())


def run_torch(data, batch, epochs):
    torch = _torch()
    model = torch_mlp(torch)
    times = torch_epochs(torch, model, data, batch, epochs + 1)
    return times[1:], torch_accuracy(torch, model, data.x_test, data.y_test), {"version": torch.__version__}


def run_torch_cnn(data, batch, epochs):
    torch = _torch()
    model = torch_cnn(torch)
    torch_epochs(torch, model, _head(data, batch * 20), batch, 1)  # warm-up on 20 batches
    times = torch_epochs(torch, model, data, batch, epochs)
    return (
        times,
        torch_accuracy(torch, model, data.x_test, data.y_test),
        {"version": torch.__version__, "n_params": sum(p.numel() for p in model.parameters())},
    )


def _head(data, n):
    from types import SimpleNamespace

    return SimpleNamespace(x_train=data.x_train[:n], y_train=data.y_train[:n])


def time_to_target(data, batch) -> tuple[int | None, list[float]]:
    """Train the MLP until its test accuracy first reaches TARGET_ACCURACY (checked after every epoch,
    untimed), at most TARGET_MAX_EPOCHS epochs: the epoch that reached it (None: none did) and the
    seconds of every epoch trained."""
    reached = {}
    torch = _torch()
    model = torch_mlp(torch)

    def check(epoch):
        if torch_accuracy(torch, model, data.x_test, data.y_test) >= TARGET_ACCURACY:
            reached["epoch"] = epoch
        return "epoch" in reached

    times = torch_epochs(torch, model, data, batch, TARGET_MAX_EPOCHS, check)
    return reached.get("epoch"), times


def torch_job(data_dir, epochs, batch, output_dir) -> dict:
    """The PyTorch peer of train.py's whole-process row, the same job as a user would script it: load the
    IDX files with the project's loader (the same 10 % validation split, the same cost), train the same
    network (Adam, shuffled batches) for ``epochs`` epochs with the validation set evaluated after each,
    evaluate the test set, print one line per epoch like train.py (``| 1.23s``: that epoch's training) and
    write ``output_dir/summary.json``. Run it as its own process: ``bench/run.py --torch_job OUTPUT_DIR``."""
    torch = _torch()
    data = load(data_dir)
    model = torch_mlp(torch)
    loss_function = torch.nn.CrossEntropyLoss()

    def loss_accuracy(x, y):
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(torch.from_numpy(x[i : i + 1000])) for i in range(0, len(x), 1000)])
            labels = torch.from_numpy(y.astype("int64"))
            return float(loss_function(logits, labels)), float((logits.argmax(1) == labels).double().mean())

    validation = []
    times = torch_epochs(
        torch, model, data, batch, epochs, lambda epoch: validation.append(loss_accuracy(data.x_val, data.y_val))
    )
    for epoch, (seconds, (val_loss, val_accuracy)) in enumerate(zip(times, validation), 1):
        print(f"epoch {epoch}/{epochs} | val_loss {val_loss:.4f} | val_acc {val_accuracy:.4f} | {seconds:.2f}s")
    test_loss, test_accuracy = loss_accuracy(data.x_test, data.y_test)
    print(f"test_loss {test_loss:.4f} | test_acc {test_accuracy:.4f}")
    summary = {
        "framework": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs": epochs,
        "batch": batch,
        "n_train": len(data.x_train),
        "n_val": len(data.x_val),
        "epoch_seconds": times,
        "val_loss": [v[0] for v in validation],
        "val_accuracy": [v[1] for v in validation],
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
    }
    Path(output_dir, "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
