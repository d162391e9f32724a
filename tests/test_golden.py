"""The redesign changed how a run is put together, not what it computes: the same seed and flags give
the same metrics as before it. tests/golden/before_redesign.json holds the summaries and histories
of six short runs made by the code before the redesign (commit d8647f4); each run here repeats one
with today's train.py and compares every number."""

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REAL_DATA_MARKS, real_data_dir

GOLDEN = json.loads((Path(__file__).parent / "golden" / "before_redesign.json").read_text())
REAL = {"fashion_mnist_1_epoch"}
CASES = [pytest.param(name, marks=REAL_DATA_MARKS) if name in REAL else name for name in sorted(GOLDEN)]


def close(a, b) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_same_metrics_as_before_the_redesign(name, tmp_path, monkeypatch):
    import train

    case = GOLDEN[name]
    args = [*case["args"], "--wandb_mode", "disabled", "--output_dir", str(tmp_path)]
    if name in REAL:
        if real_data_dir() is None:
            pytest.skip("real data not found (set FFNN_DATA_DIR)")
        pytest.importorskip("numpy")
        args += ["--data_dir", str(real_data_dir())]
    result = CliRunner().invoke(train.cli, args)
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = json.loads((folder / "summary.json").read_text())
    for key, expected in case["summary"].items():
        assert key in summary, f"{key} missing from the summary"
        assert close(summary[key], expected), f"{key}: {summary[key]} != {expected} (before the redesign)"
    if case["history"]:
        history = json.loads((folder / "history.json").read_text())
        assert len(history) == len(case["history"])
        for row, expected_row in zip(history, case["history"]):
            for key, expected in expected_row.items():
                assert close(row[key], expected), f"epoch {row['epoch']} {key}: {row[key]} != {expected}"
