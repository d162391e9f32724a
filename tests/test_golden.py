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


# Where float32 rounding differences grow: (relative tolerance of losses, absolute tolerance of a score
# counted over examples, whether per-class scores are compared). Digits with batch norm, dropout,
# augmentation and FGSM for 3 epochs: losses agree to 1e-3, counts to three examples of a class (3/36).
# A full epoch of Fashion-MNIST (844 Adam steps): losses to 3 %, accuracies to 1 point, while single
# classes swing (T-shirt recall 0.75 on the golden file's Intel CPU, 0.84 on an AMD EPYC).
CHAOTIC = {"recipes_digits": (1e-3, 3 / 36, True), "fashion_mnist_1_epoch": (0.03, 0.01, False)}
COUNTED = ("accuracy", "precision", "recall", "f1")


def close(a, b, key: str = "", case: str = "") -> bool:
    """Equal up to float32 rounding across machines: the golden file was made on an Intel CPU, and
    OpenBLAS's kernels for another one (AMD EPYC) sum in another order, which moves a float32 run's
    losses by ~1e-8 relative in a short run; any change in what is computed (an initialisation, a
    batch order, a formula) moves them by far more than 1e-6. Longer runs: :data:`CHAOTIC`."""
    if case not in CHAOTIC:
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    loss_tolerance, count_tolerance, per_class = CHAOTIC[case]
    if "/" in key and not per_class:
        return True
    if any(word in key for word in COUNTED):
        return abs(a - b) <= count_tolerance + 1e-9
    return math.isclose(a, b, rel_tol=loss_tolerance, abs_tol=1e-9)


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
        assert close(summary[key], expected, key, name), f"{key}: {summary[key]} != {expected} (before the redesign)"
    if case["history"]:
        history = json.loads((folder / "history.json").read_text())
        assert len(history) == len(case["history"])
        for row, expected_row in zip(history, case["history"]):
            for key, expected in expected_row.items():
                assert close(row[key], expected, key, name), f"epoch {row['epoch']} {key}: {row[key]} != {expected}"
