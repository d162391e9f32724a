"""The benchmark's whole-process rows: train.py and its PyTorch peer run as whole processes on tiny data,
their printed epoch seconds parsed, the report's section and Targets rows written and spliced
(the timing itself is not tested)."""

import importlib.util
import json
import subprocess

import pytest

from bench import process, sections
from tests.conftest import make_idx_folder

EPOCHS, BATCH = 1, 32


@pytest.fixture
def small_idx(tmp_path):
    # 1,800 training images at batch 32: an epoch long enough to print more than 0.00 s
    return make_idx_folder(tmp_path / "data" / "fashion-mnist", n_train=2000, n_test=100).parent


def check_runs(whole, row):
    [run] = whole["rows"][row]  # one round, the warm-up not counted
    assert len(run["epoch_seconds"]) == EPOCHS
    assert run["seconds"] > sum(run["epoch_seconds"]) > 0
    assert 0.0 <= run["test_accuracy"] <= 1.0
    return run


@pytest.mark.slow
def test_whole_process_rows_of_train_py(small_idx):
    whole = process.whole_process(str(small_idx), EPOCHS, BATCH, rounds=1, warmup=0, rows=["ffnn", "ffnn-wandb"])
    assert whole["errors"] == {}
    for row in ("ffnn", "ffnn-wandb"):
        check_runs(whole, row)
    stats = process.whole_process_stats(whole)
    run = whole["rows"]["ffnn"][0]
    assert stats["ffnn"]["beyond"][1] == pytest.approx(run["seconds"] - sum(run["epoch_seconds"]))
    assert "vs_torch" not in stats["ffnn"]  # no PyTorch row to compare with
    section = sections.whole_process_section(whole)
    assert section[0] == f"{sections.WHOLE_HEADING} (1 epoch, batch {BATCH}, as a user runs it)"
    table = [line for line in section if line.startswith("| train.py")]
    assert len(table) == 3  # W&B disabled, W&B offline, the epochs alone
    [target] = sections.whole_process_targets(whole)  # seconds beyond the epochs; no ratio without PyTorch
    assert target.startswith(f"| {EPOCHS}-epoch run: seconds beyond its epochs | ")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed (bench/requirements.txt)")
def test_whole_process_row_of_pytorch(small_idx, tmp_path):
    whole = process.whole_process(str(small_idx), EPOCHS, BATCH, rounds=1, warmup=0, rows=["ffnn", "torch"])
    assert whole["errors"] == {}
    check_runs(whole, "ffnn")
    run = check_runs(whole, "torch")
    stats = process.whole_process_stats(whole)
    ffnn, torch_run = whole["rows"]["ffnn"][0], whole["rows"]["torch"][0]
    assert stats["ffnn"]["vs_torch"] == pytest.approx(ffnn["seconds"] / torch_run["seconds"])
    assert len(sections.whole_process_targets(whole)) == 2

    # the job itself: its JSON summary, its printed epoch lines
    out = tmp_path / "torch-job"
    out.mkdir()
    command, env = process.whole_process_command("torch", str(small_idx), out, EPOCHS, BATCH)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and 0.0 <= run["test_accuracy"] <= 1.0
    assert summary["n_train"] == 1800 and summary["n_val"] == 200 and summary["batch"] == BATCH
    assert len(summary["val_accuracy"]) == len(summary["epoch_seconds"]) == EPOCHS
    assert process.epoch_seconds(done.stdout) == [round(s, 2) for s in summary["epoch_seconds"]]


def test_epoch_seconds_parsed_from_train_py_lines():
    stdout = (
        "run: 784-128-10 ReLU, 2 epochs\n"
        "epoch  9/10 | loss 2.2522 | acc 0.1889 | val_loss 2.0798 | val_acc 0.5000 | 1.08s\n"
        "epoch 10/10 | loss 2.0007 | acc 0.6222 | val_loss 1.7928 | val_acc 0.8000 | 12.42s\n"
        "test_loss 1.7978 | test_acc 0.8200 | 3.00s\n"
    )
    assert process.epoch_seconds(stdout) == [1.08, 12.42]


def test_splice_replaces_the_section_and_its_target_rows():
    def whole(seconds):
        run = {"seconds": seconds, "epoch_seconds": [0.5, 0.5], "test_accuracy": 0.8}
        torch_run = {"seconds": 4.0, "epoch_seconds": [1.0, 1.0], "test_accuracy": 0.8}
        return {"epochs": 2, "batch": 64, "rounds": 1, "warmup": 0, "rows": {"ffnn": [run], "torch": [torch_run]}}

    report = "# Benchmark\n\nper-epoch table\n\n## Targets\n\n| target | measured | wanted | verdict |\n|---|---|---|---|\n| a | 1 | 2 | met |\n\ntail\n"
    once = sections.splice_whole_process(report, whole(1.5))
    assert once.index("## Whole process (2 epochs, batch 64") < once.index("## Targets") < once.index("tail")
    assert "| 2-epoch run: seconds beyond its epochs | 0.50 s | <= 1.0 s | met |" in once
    assert "| 2-epoch run: whole process / PyTorch's | 0.38x | <= 0.5x | met |" in once
    assert once.index("| a | 1 | 2 | met |") < once.index("| 2-epoch run") < once.index("tail")
    twice = sections.splice_whole_process(once, whole(3.0))
    assert twice.count("## Whole process") == 1 and twice.count("| 2-epoch run: seconds beyond") == 1
    assert "| 2-epoch run: seconds beyond its epochs | 2.00 s | <= 1.0 s | missed by 1.00 s |" in twice
    assert "| 2-epoch run: whole process / PyTorch's | 0.75x | <= 0.5x | missed by 0.25x |" in twice
    assert twice.startswith("# Benchmark\n\nper-epoch table\n") and twice.endswith("tail\n")
