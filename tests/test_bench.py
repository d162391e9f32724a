"""The benchmark's own arithmetic, and its workers run on tiny data: what a worker reports is checked
against what its trained model does, as seen from inside the worker's process (the timing itself is
not tested)."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import numpy as np
import pytest

from bench import matmul, sections
from bench.runners import pytorch
from bench.workload import CNN_FILTERS, HIDDEN, TARGET_ACCURACY, TARGET_MAX_EPOCHS, flops_per_sample
from datasets import read_idx, write_idx
from tests.conftest import ROOT

# The worker, run as `bench/run.py --worker ...` would run it, with its model constructors and
# training loops wrapped: the wrappers keep the trained model, score it on the test split after
# every epoch (the `target-` workers) and at the end, and print that as a last JSON line.
OBSERVED_WORKER = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    sys.path.insert(0, os.environ["PROJECT"])
    import datasets
    from bench import run
    from bench.runners import pytorch

    framework = sys.argv[sys.argv.index("--worker") + 1]
    target = framework.startswith("target-")
    framework = framework.removeprefix("target-")
    data = datasets.load("fashion_mnist", sys.argv[sys.argv.index("--data_dir") + 1], val_fraction=0.1, seed=0)
    made, accuracies, times = [], [], []

    def keep(make):
        def making(*args, **kwargs):
            made.append(make(*args, **kwargs))
            return made[-1]
        return making

    def accuracy(model):  # the fraction of test images whose highest score is their label
        if framework == "sklearn":
            predicted = model.predict(data.x_test)
        elif framework.startswith("torch"):
            import torch
            model.eval()
            with torch.no_grad():
                predicted = model(torch.from_numpy(data.x_test)).numpy().argmax(axis=1)
        else:
            predicted = np.asarray(model.predict(data.x_test)).argmax(axis=1)
        return float(np.mean(predicted == data.y_test))

    if framework == "sklearn":
        import sklearn.neural_network
        sklearn.neural_network.MLPClassifier = keep(sklearn.neural_network.MLPClassifier)
    elif framework.startswith("torch"):
        pytorch.torch_mlp, pytorch.torch_cnn = keep(pytorch.torch_mlp), keep(pytorch.torch_cnn)
        train_epochs = pytorch.torch_epochs

        def torch_epochs(torch, model, data, batch, epochs, after_epoch=lambda epoch: False):
            def after(epoch):
                accuracies.append(accuracy(model))
                return after_epoch(epoch)
            epoch_times = train_epochs(torch, model, data, batch, epochs, after if target else after_epoch)
            times.extend(epoch_times)
            return epoch_times

        pytorch.torch_epochs = torch_epochs
    else:
        import nn
        nn.mlp, nn.convnet = keep(nn.mlp), keep(nn.convnet)
        fit = nn.fit

        class Record(nn.Callback):
            def on_epoch_end(self, epoch, metrics):
                accuracies.append(accuracy(made[-1]))

        def fit_and_record(*args, callbacks=(), **kwargs):
            history = fit(*args, callbacks=[*callbacks, Record()] if target else callbacks, **kwargs)
            times.extend(h["seconds"] for h in history)
            return history

        nn.fit = fit_and_record
    run.main()
    print(json.dumps({"made": len(made), "accuracy": accuracy(made[-1]), "accuracies": accuracies, "times": times}))
""")


def run_observed_worker(*args):
    """The worker's JSON result, what the wrappers saw, the process's peak resident memory in MB
    (from the kernel, by ``wait4``) and its wall time."""
    environment = {**os.environ, "PROJECT": str(ROOT)}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", OBSERVED_WORKER, "--worker", *args], stdout=out, stderr=err, env=environment
        )
        watchdog = threading.Timer(300, process.kill)
        watchdog.start()
        _, status, usage = os.wait4(process.pid, 0)
        watchdog.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        output, errors = out.read(), err.read()
    assert process.returncode == 0, errors
    *_, result, seen = output.strip().splitlines()
    return json.loads(result), json.loads(seen), usage.ru_maxrss / 1024, wall  # ru_maxrss is in KiB on Linux


def needs_torch(framework: str) -> None:
    """Skip a PyTorch case where PyTorch is not importable (it is not in requirements-test.txt): the
    worker would import it in its own process and fail there."""
    if framework.startswith("torch"):
        pytest.importorskip("torch", reason="PyTorch not installed (bench/requirements.txt)")


def test_flop_count_written_out():
    # forward 2*in*out, weight gradient 2*in*out, input gradient 2*in*out except the first layer
    layers = [(784, 128), (128, 128), (128, 128), (128, 128), (128, 10)]
    expected = sum(2 * a * b for a, b in layers) * 3 - 2 * 784 * 128
    assert flops_per_sample([784, 128, 128, 128, 128, 10]) == expected == 704000


def relabel(folder, n):
    """Give ``n`` of the 50 test images the next class's label. A model that recognises every square
    is then right on at most ``50 - n`` of them, and still on every image of the other splits."""
    path = folder / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    labels = read_idx(path, 1).copy()
    labels[:n] = (labels[:n] + 1) % 10
    write_idx(path, labels)


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["ffnn", "sklearn", "torch", "ffnn-cnn", "torch-cnn"])
def test_worker_reports_times_accuracy_and_memory(framework, tiny_idx):
    needs_torch(framework)
    relabel(tiny_idx, 5)  # so the test split scores differently from the training and validation splits
    result, seen, peak_mb, wall = run_observed_worker(framework, "32", "--epochs", "2", "--data_dir", str(tiny_idx))
    assert result["framework"] == framework and result["batch"] == 32 and result["n_train"] == 180
    assert len(result["times"]) == 2 and 0 < sum(result["times"]) < wall
    assert seen["made"] == 1
    # the trained model's share of the 50 test images, counted outside the worker
    assert result["test_accuracy"] == seen["accuracy"]
    # the peak the kernel measured for the whole process; the worker reads it a moment before the end
    assert peak_mb * 0.9 <= result["peak_mb"] <= peak_mb


@pytest.mark.slow
@pytest.mark.parametrize("labels", ["true", "unreachable"])
@pytest.mark.parametrize("framework", ["ffnn", "torch"])
def test_time_to_target_accuracy_reports_epochs_and_seconds(framework, labels, tiny_idx):
    needs_torch(framework)
    if labels == "unreachable":
        relabel(tiny_idx, 10)
        assert TARGET_ACCURACY > (50 - 10) / 50  # right on 40 of 50 at most
    result, seen, _, wall = run_observed_worker(f"target-{framework}", "32", "--data_dir", str(tiny_idx))
    # the first epoch after which the model scores TARGET_ACCURACY on the test split, seen from outside
    reached = next((k for k, a in enumerate(seen["accuracies"], 1) if a >= TARGET_ACCURACY), None)
    assert (reached is None) == (labels == "unreachable")  # the squares are learnt within the epochs allowed
    assert len(seen["accuracies"]) == (reached or TARGET_MAX_EPOCHS)  # training stopped there
    seconds = None if reached is None else pytest.approx(sum(seen["times"]), rel=1e-12)
    assert result == {"framework": framework, "batch": 32, "epochs": reached, "seconds": seconds}
    assert reached is None or 0 < result["seconds"] < wall


@pytest.mark.slow
def test_torch_cnn_is_the_tools_default_cnn():
    torch = pytest.importorskip("torch", reason="PyTorch not installed (bench/requirements.txt)")

    import nn

    ours = nn.convnet((28, 28), 10, filters=CNN_FILTERS, hidden=[*HIDDEN, 128], activation="ReLU", weight_init="Xavier")
    theirs = pytorch.torch_cnn(torch)
    assert ours.n_params == sum(p.numel() for p in theirs.parameters())
    assert theirs(torch.zeros(2, 784)).shape == (2, 10) and np.asarray(ours.predict(np.zeros((2, 784)))).shape == (
        2,
        10,
    )


def test_cnn_profile_times_every_layer_and_adds_up(tiny_idx):
    """The CNN profile worker on tiny data: one forward and one backward time per layer, and the parts
    (layers, loss, optimizer, the rest) sum to the epoch."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--worker", "profile-cnn", "16", "--data_dir", str(tiny_idx)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    profile = json.loads(done.stdout.strip().splitlines()[-1])
    names = [row["layer"] for row in profile["layers"]]
    assert (
        names[0].startswith("0 Reshape") and any("Conv2D" in n for n in names) and any("MaxPool2D" in n for n in names)
    )
    assert all(row["forward"] > 0 for row in profile["layers"])
    parts = sum(r["forward"] + r["backward"] for r in profile["layers"]) + profile["loss"] + profile["optimizer"]
    assert parts + profile["other"] == pytest.approx(profile["total"])
    assert 0 <= profile["other"] < profile["total"]
    assert profile["gemm_floor"] > 0 and profile["gemm_gflops"] > 0


def test_cnn_gemms_are_the_layers_products_written_out():
    """Conv 1->4 and 4->8 (3x3, same padding, 2x2 pooling) on 28x28, dense 392->16->10, batch 5: the
    (m, k, n) of each product, written out from the layers' equations (no input gradient for the first layer)."""
    import nn

    model = nn.convnet((28, 28), 10, filters=[4, 8], hidden=[16], activation="ReLU", weight_init="Xavier", seed=0)
    b = 5
    assert matmul.cnn_gemms(model, b) == [
        (b * 28 * 28, 9 * 1, 4), (9 * 1, b * 28 * 28, 4),  # conv 1: forward, kernel gradient
        (b * 14 * 14, 9 * 4, 8), (9 * 4, b * 14 * 14, 8), (b * 14 * 14, 8, 9 * 4),  # conv 2, and dz W^T
        (b, 7 * 7 * 8, 16), (7 * 7 * 8, b, 16), (b, 16, 7 * 7 * 8),  # dense 1
        (b, 16, 10), (16, b, 10), (b, 10, 16),  # output layer
    ]  # fmt: skip


def test_splice_section_replaces_or_inserts_before_targets():
    text = "# R\n\n## A\n\nold\n\n## Targets\n\n| x |\n"
    added = sections.splice_section(text, "## New", ["## New", "", "one", ""])
    assert added.index("## New") < added.index("## Targets")
    again = sections.splice_section(added, "## New", ["## New", "", "two", ""])
    assert "one" not in again and again.count("## New") == 1 and again.endswith("\n")


def test_issue_targets_rows_are_the_ratios_of_the_rows_measured():
    """The CNN against PyTorch and against the floor of its products, and batch 256 against PyTorch: each
    the ratio of the medians given, met or missed against its limit."""
    from bench import report

    def row(framework, batch, seconds):
        return {"framework": framework, "batch": batch, "times": seconds, "n_train": 54000}

    by = {
        ("ffnn", 256): row("ffnn", 256, [0.30, 0.40, 0.35]),
        ("torch", 256): row("torch", 256, [0.60, 0.70, 0.80]),
        ("ffnn-cnn", 64): row("ffnn-cnn", 64, [9.0]),
        ("torch-cnn", 64): row("torch-cnn", 64, [12.0]),
    }
    extras = {"train_peak_mb": 500.0, "help": 0.3, "cnn_profile": {"gemm_floor": 6.0}}
    text = "\n".join(report.targets(by, 200.0, extras))
    assert "| batch 256: epoch time / PyTorch | 0.50x | <= 0.5x | met |" in text  # 0.35 / 0.70
    assert "| CNN epoch / PyTorch's | 0.75x | <= 0.7x | missed by 0.05x |" in text
    assert "| CNN epoch / the floor of its matrix products | 1.50x | <= 1.3x | missed by 0.20x |" in text
