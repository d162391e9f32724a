"""Whole-process timing: the 3-epoch, batch-64 job as a user runs it (train.py, W&B disabled and
offline) and as a PyTorch script (``bench/run.py --torch_job``), each run as its own process and timed
from outside, the rounds interleaved; and the statistics of those runs."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.workload import HIDDEN, LR, ROOT, RUN_SCRIPT, WHOLE_BATCH, WHOLE_EPOCHS

WHOLE_ROWS = {"ffnn": "train.py, W&B disabled", "ffnn-wandb": "train.py, W&B offline", "torch": "PyTorch script"}
EPOCH_LINE = re.compile(r"^epoch\s+(\d+)/(\d+) \|.*\| ([0-9.]+)s\s*$", re.MULTILINE)  # `epoch 2/3 | ... | 1.23s`


def epoch_seconds(stdout: str) -> list[float]:
    """The seconds at the end of each ``epoch i/n | ... | 1.23s`` line (train.py's and the PyTorch job's)."""
    return [float(m.group(3)) for m in EPOCH_LINE.finditer(stdout)]


def whole_process_command(row, data_dir, output_dir, epochs=WHOLE_EPOCHS, batch=WHOLE_BATCH):
    """The command line and environment of one whole-process row (see WHOLE_ROWS). Every row, PyTorch's
    too, loads the data through NumPy with ``NUMPY_MADVISE_HUGEPAGE=0``, which train.py sets for itself
    (experiments/__init__.py): the comparison is of the frameworks, not of a kernel setting."""
    env = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": os.environ.get("NUMPY_MADVISE_HUGEPAGE", "0")}
    if row == "torch":
        command = [sys.executable, str(RUN_SCRIPT), "--torch_job", str(output_dir)]
        command += ["--whole_epochs", str(epochs), "--whole_batch", str(batch)]
    else:
        mode = {"ffnn": "disabled", "ffnn-wandb": "offline"}[row]
        command = [sys.executable, str(ROOT / "train.py"), "-e", str(epochs), "-nhl", str(len(HIDDEN))]
        command += ["-sz", str(HIDDEN[0]), "-b", str(batch), "-o", "adam", "-lr", str(LR)]
        command += ["--wandb_mode", mode, "--output_dir", str(output_dir)]
        if mode == "offline":
            env.update(WANDB_MODE="offline", WANDB_DIR=str(output_dir))
    if data_dir:
        command += ["--data_dir", str(data_dir)]
    return command, env


def time_whole_process(row, data_dir, epochs=WHOLE_EPOCHS, batch=WHOLE_BATCH) -> dict:
    """One run of a whole-process row in a fresh temporary folder (its output and W&B folder, its working
    directory): its wall seconds (time.perf_counter() around subprocess.run), the epoch seconds it printed
    and the test accuracy of the summary it wrote."""
    with tempfile.TemporaryDirectory() as folder:
        command, env = whole_process_command(row, data_dir, folder, epochs, batch)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{row} exited with {done.returncode}: {done.stderr.strip().splitlines()[-3:]}")
        epochs_printed = epoch_seconds(done.stdout)
        if len(epochs_printed) != epochs:
            raise RuntimeError(f"{row} printed {len(epochs_printed)} epoch lines, not {epochs}: {done.stdout[-500:]}")
        summaries = sorted(Path(folder).glob("**/summary.json"))
        if not summaries:
            raise RuntimeError(f"{row} wrote no summary.json")
        summary = json.loads(summaries[0].read_text())
    return {"seconds": seconds, "epoch_seconds": epochs_printed, "test_accuracy": summary["test_accuracy"]}


def whole_process(data_dir, epochs=WHOLE_EPOCHS, batch=WHOLE_BATCH, rounds=3, warmup=1, rows=None) -> dict:
    """Every whole-process row ``rounds`` times, interleaved (ffnn, ffnn-wandb, torch, ffnn, ...), after
    ``warmup`` uncounted rounds. Rows default to all of WHOLE_ROWS, without torch when it is not installed.
    A row whose run fails is reported (``errors``) and its other runs kept."""
    import importlib.util

    if rows is None:
        rows = [row for row in WHOLE_ROWS if row != "torch" or importlib.util.find_spec("torch") is not None]
    runs, errors = {row: [] for row in rows}, {}
    for round_ in range(-warmup, rounds):
        for row in rows:
            try:
                result = time_whole_process(row, data_dir, epochs, batch)
            except RuntimeError as error:
                errors[row] = str(error)
                print(f"whole process {row}: failed: {error}", flush=True)
                continue
            label = "warm-up" if round_ < 0 else f"round {round_ + 1}"
            print(
                f"whole process {row:10} {label}: {result['seconds']:.2f} s, "
                f"epochs {sum(result['epoch_seconds']):.2f} s, test acc {result['test_accuracy']:.4f}",
                flush=True,
            )
            if round_ >= 0:
                runs[row].append(result)
    return {"epochs": epochs, "batch": batch, "rounds": rounds, "warmup": warmup, "rows": runs, "errors": errors}


def _spread(values) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def whole_process_stats(whole) -> dict:
    """Per row: whole seconds, the epochs' summed seconds and whole - epochs (each min, median, max over the
    runs, the last two run by run), and the median of the ratios to PyTorch's run of the same round."""
    rows, stats = whole["rows"], {}
    torch_runs = rows.get("torch", [])
    for row, runs in rows.items():
        if not runs:
            continue
        epochs = [sum(r["epoch_seconds"]) for r in runs]
        stat = {
            "whole": _spread([r["seconds"] for r in runs]),
            "epochs": _spread(epochs),
            "beyond": _spread([r["seconds"] - e for r, e in zip(runs, epochs)]),
            "test_accuracy": statistics.median(r["test_accuracy"] for r in runs),
        }
        if torch_runs and row != "torch":
            pairs = list(zip(runs, torch_runs))
            stat["vs_torch"] = statistics.median(a["seconds"] / b["seconds"] for a, b in pairs)
            stat["epochs_vs_torch"] = statistics.median(
                sum(a["epoch_seconds"]) / sum(b["epoch_seconds"]) for a, b in pairs
            )
        stats[row] = stat
    return stats
