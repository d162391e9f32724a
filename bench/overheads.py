"""What a user pays around the epochs, measured in the parent: W&B offline logging per epoch,
`train.py --help`, and the peak memory of a one-epoch train.py run."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from bench.workload import ROOT, timed


def wandb_log_cost(epochs=20) -> float:
    """Seconds per epoch spent in the W&B callback (offline), as train.py uses it."""
    from tracking.wandb_run import WandbRun

    with tempfile.TemporaryDirectory() as folder:
        os.environ["WANDB_DIR"] = folder
        run = WandbRun(project="bench", entity=None, name="bench", config={}, mode="offline")
        metrics = {"train_loss": 0.5, "train_accuracy": 0.8, "val_loss": 0.5, "val_accuracy": 0.8, "seconds": 1.0}
        start = time.perf_counter()
        for epoch in range(1, epochs + 1):
            run.on_epoch_end(epoch, {"epoch": epoch, **metrics})
        cost = (time.perf_counter() - start) / epochs
        run.finish({}, 0)
    return cost


def train_py_peak_mb(data_dir) -> float:
    """Peak resident memory of a one-epoch `train.py` run on full Fashion-MNIST, W&B offline.

    Must be the first child process: RUSAGE_CHILDREN keeps the maximum over all of them."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            str(ROOT / "train.py"),
            "--epochs",
            "1",
            "--wandb_mode",
            "offline",
            "--output_dir",
            folder,
        ]
        if data_dir:
            command += ["--data_dir", data_dir]
        subprocess.run(command, capture_output=True, check=True, cwd=folder, env={**os.environ, "WANDB_DIR": folder})
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def help_seconds(repeats=5) -> float:
    command = [sys.executable, str(ROOT / "train.py"), "--help"]
    return statistics.median(
        timed(lambda: subprocess.run(command, capture_output=True, check=True)) for _ in range(repeats)
    )
