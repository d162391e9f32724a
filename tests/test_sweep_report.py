"""W&B's sweep panels offline (metric vs. created, correlations) and `sweep.py report SWEEP_DIR`, which
draws a sweep's report again from its study without training."""

import csv
import datetime as dt
import math
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import optuna
import pytest
from scipy import stats

from sweeping import panels
from sweeping import spec as specs
from tests.conftest import ROOT
from tests.test_sweeps import run_sweep, trials_csv, write_sweep

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPORT_FILES = (
    "report.md",
    "trials.csv",
    "best.json",
    "importance.csv",
    "correlations.csv",
    "metric_vs_created.csv",
    "metric_vs_created.png",
    "parallel_coordinates.png",
    "param_importances.png",
    "curves.png",
)
State = optuna.trial.TrialState
COMPLETE, PRUNED, FAIL = State.COMPLETE, State.PRUNED, State.FAIL
LR = optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
ACTIVATION = optuna.distributions.CategoricalDistribution(["tanh", "ReLU", "sigmoid"])
START = dt.datetime(2025, 3, 1, 9, 0, 0)


def png_pixels(path) -> np.ndarray:
    """The RGB pixels of a valid PNG file."""
    from PIL import Image

    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def read_csv(path) -> list[dict]:
    with open(path) as handle:
        return list(csv.DictReader(handle))


def trial(number, state, minutes, value=None, reported=None, lr=0.01, activation="tanh", **attrs):
    """A finished trial started ``minutes`` after START (``reported``: its per-epoch values)."""
    return optuna.trial.FrozenTrial(
        number=number,
        state=state,
        value=value,
        datetime_start=START + dt.timedelta(minutes=minutes),
        datetime_complete=START + dt.timedelta(minutes=minutes + 1),
        params={"learning_rate": lr, "activation": activation},
        distributions={"learning_rate": LR, "activation": ACTIVATION},
        user_attrs=attrs,
        system_attrs={},
        intermediate_values=dict(enumerate(reported or [], start=1)),
        trial_id=number,
    )


def spec_of(goal="maximize"):
    spec, _ = specs.parse(
        {
            "program": "train.py",
            "method": "random",
            "metric": {"name": "val_accuracy", "goal": goal},
            "parameters": {
                "epochs": {"value": 1},
                "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
                "activation": {"values": ["tanh", "ReLU", "sigmoid"]},
            },
        },
        "synthetic",
    )
    return spec


def mixed_trials():
    """Complete, pruned and failed runs, one repeated configuration, given out of start order."""
    return [
        trial(3, COMPLETE, 30, 0.70, [0.5, 0.70], lr=0.02, activation="ReLU"),
        trial(0, COMPLETE, 0, 0.50, [0.50], lr=0.001),
        trial(1, PRUNED, 10, None, [0.30, 0.90], lr=0.05, activation="sigmoid"),  # its last value beats all
        trial(2, FAIL, 20, None, None, lr=0.09, activation="sigmoid"),  # diverged before any epoch
        trial(4, COMPLETE, 40, 0.60, [0.60], lr=0.004, activation="ReLU"),
        trial(5, COMPLETE, 45, 0.50, [0.50], lr=0.001, duplicate_of=0),  # reused trial 0's result
        trial(6, FAIL, 50, None, [0.2], lr=0.03, activation="sigmoid"),
        trial(7, COMPLETE, 60, 0.80, [0.80], lr=0.008, activation="tanh"),
    ]


def cumulative_best(states, values, maximize):
    """The running best over the complete runs, computed apart from the code under test."""
    signed = np.array([v if s == "complete" else np.nan for s, v in zip(states, values)], dtype=float)
    signed = signed if maximize else -signed
    best = np.fmax.accumulate(signed)  # fmax: a NaN (not a complete run) never wins
    return best if maximize else -best


@pytest.mark.parametrize("goal", ["maximize", "minimize"])
def test_the_running_best_is_the_cumulative_best_of_the_complete_runs_in_start_order(goal):
    points = panels.created_points(mixed_trials(), maximize=goal == "maximize")
    assert [p["number"] for p in points] == [0, 1, 2, 3, 4, 6, 7]  # the repeat left out, by start time
    assert [p["elapsed_seconds"] for p in points] == [0, 600, 1200, 1800, 2400, 3000, 3600]
    assert [p["state"] for p in points] == ["complete", "pruned", "fail", "complete", "complete", "fail", "complete"]
    assert [p["value"] for p in points] == [0.5, 0.9, None, 0.7, 0.6, 0.2, 0.8]  # pruned and failed: last value
    best = np.array([p["running_best"] for p in points], dtype=float)
    expected = cumulative_best([p["state"] for p in points], [p["value"] for p in points], goal == "maximize")
    np.testing.assert_array_equal(best, expected)
    steps = np.diff(best)
    assert (steps >= 0).all() if goal == "maximize" else (steps <= 0).all()
    assert best[1] == 0.5  # the pruned run's 0.9 is not a finished result


def test_a_running_trial_and_a_queued_one_are_not_points():
    running = trial(8, State.RUNNING, 70)
    assert [p["number"] for p in panels.created_points([*mixed_trials(), running], True)][-1] == 7


def test_the_metric_vs_created_figure_marks_each_state(tmp_path):
    spec = spec_of()
    panels.write(spec, mixed_trials(), tmp_path, say=print)
    pixels = png_pixels(tmp_path / "metric_vs_created.png").astype(int)
    assert pixels.shape[1] >= 600 and pixels.shape[0] >= 300
    for name, rgb in (("complete", (31, 119, 180)), ("pruned", (255, 127, 14)), ("failed", (214, 39, 40))):
        near = (np.abs(pixels - rgb).sum(axis=2) < 30).sum()
        assert near >= 10, f"no {name} marker drawn"
    rows = read_csv(tmp_path / "metric_vs_created.csv")
    assert [r["number"] for r in rows] == ["0", "1", "2", "3", "4", "6", "7"] and rows[2]["value"] == ""


def independent_correlations(spec, trials):
    """Every correlation of the table, computed another way: scipy's Pearson, and η² = 1 - SS_within / SS_total."""
    runs = [t for t in trials if t.state in (COMPLETE, PRUNED) and "duplicate_of" not in t.user_attrs]
    y = np.array([t.value if t.value is not None else t.intermediate_values[max(t.intermediate_values)] for t in runs])
    lr = np.log10([t.params["learning_rate"] for t in runs])  # any log base: r is unchanged by scaling
    activation = np.array([t.params["activation"] for t in runs])
    within = sum(((y[activation == a] - y[activation == a].mean()) ** 2).sum() for a in set(activation))
    out = {("learning_rate", ""): stats.pearsonr(lr, y).statistic}
    out["activation", ""] = math.sqrt(1 - within / ((y - y.mean()) ** 2).sum())
    for value in spec.parameters["activation"].values:
        if value in activation:
            out["activation", value] = stats.pearsonr((activation == value).astype(float), y).statistic
    return out, len(runs)


def test_correlations_match_an_independent_calculation():
    spec, trials = spec_of(), mixed_trials()
    rows = panels.correlations(spec, panels.runs_with_metric(trials))
    expected, n = independent_correlations(spec, trials)
    assert {(r["parameter"], r["value"]): r["correlation"] for r in rows} == pytest.approx(expected, abs=1e-12)
    assert {r["runs"] for r in rows} == {n} == {5}  # complete and pruned; failed and repeated left out
    assert [r["measure"] for r in rows] == ["pearson_log", "correlation_ratio", *["one_hot_pearson"] * 3]


def test_an_undefined_correlation_is_left_empty():
    two = panels.runs_with_metric(mixed_trials())[:2]
    assert all(r["correlation"] is None for r in panels.correlations(spec_of(), two))  # two points: always ±1
    flat = [trial(k, COMPLETE, k, 0.5, lr=10.0 ** -(k + 1), activation=a) for k, a in enumerate(["tanh", "ReLU"] * 2)]
    assert all(r["correlation"] is None for r in panels.correlations(spec_of(), flat))  # the metric never moved
    same = [trial(k, COMPLETE, k, 0.1 * k, lr=0.01) for k in range(4)]
    rows = {(r["parameter"], r["value"]): r["correlation"] for r in panels.correlations(spec_of(), same)}
    assert rows["learning_rate", ""] is None and rows["activation", ""] is None
    assert panels.pearson([1, 2, 3], [1, 2, 4]) == pytest.approx(np.corrcoef([1, 2, 3], [1, 2, 4])[0, 1])


def run_report(args, cwd, **env):
    return subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), "report", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **env},
    )


def one_line_error(result, *words):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_a_folder_that_is_not_a_sweep_is_refused_with_one_line(tmp_path):
    one_line_error(run_report([tmp_path / "missing"], tmp_path), "not a sweep folder", "no such folder")
    (tmp_path / "o" / "plain").mkdir(parents=True)
    one_line_error(run_report([tmp_path / "o" / "plain"], tmp_path), "no sweeps database beside it")
    storage = f"sqlite:///{tmp_path / 'o' / 'sweeps.db'}"
    optuna.create_study(study_name="other", storage=storage)
    one_line_error(run_report([tmp_path / "o" / "plain"], tmp_path), "holds no study 'plain'")
    optuna.create_study(study_name="plain", storage=storage)
    one_line_error(run_report([tmp_path / "o" / "plain"], tmp_path), "no trials")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["plain", "sweeps.db"]  # nothing drawn


def test_a_study_that_holds_no_sweep_file_is_reported_with_sweep_file(tmp_path):
    folder = tmp_path / "o" / "synthetic"
    folder.mkdir(parents=True)
    storage = f"sqlite:///{tmp_path / 'o' / 'sweeps.db'}"
    study = optuna.create_study(study_name="synthetic", storage=storage, direction="maximize")
    for t in mixed_trials():
        study.add_trial(t)
    one_line_error(run_report([folder], tmp_path), "--sweep_file")
    path = write_sweep(
        tmp_path / "synthetic.yaml",
        method="random",
        parameters=spec_of().raw["parameters"],
    )
    result = run_report([folder, "--sweep_file", path], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "python train.py --epochs 1 --learning_rate 0.008 --activation tanh" in result.stdout  # trial 7
    assert "## Correlation with val_accuracy" in (folder / "report.md").read_text()
    rows = read_csv(folder / "correlations.csv")
    expected, _ = independent_correlations(spec_of(), mixed_trials())
    assert {(r["parameter"], r["value"]): float(r["correlation"]) for r in rows} == pytest.approx(expected)


def test_a_sweep_file_named_report_is_still_a_sweep_file(tmp_path):
    (tmp_path / "report").write_text("program: train.py\nmethod: annealing\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), "report"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    one_line_error(result, "report", "method must be grid, random or bayes")


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """Six one-epoch trials on digits (a log-uniform, an integer and a categorical parameter), run in
    ``base`` with a relative --output_dir, as a user would."""
    base = tmp_path_factory.mktemp("sweep")
    path = write_sweep(
        base / "panels.yaml",
        method="random",
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 1},
            "num_layers": {"value": 1},
            "hidden_size": {"min": 8, "max": 32},
            "learning_rate": {"distribution": "log_uniform_values", "min": 0.0005, "max": 0.03},
            "activation": {"values": ["tanh", "ReLU", "sigmoid"]},
        },
    )
    result = run_sweep([path, "--count", "6", "--wandb_mode", "disabled", "--output_dir", "o"], base)
    assert result.returncode == 0, result.stderr
    return base, base / "o" / "panels"


def study_of(folder):
    storage = f"sqlite:///{folder.parent / 'sweeps.db'}"
    return optuna.load_study(study_name=folder.name, storage=storage)


@pytest.mark.slow
def test_a_sweep_writes_both_panels(tiny_sweep):
    _, folder = tiny_sweep
    for name in REPORT_FILES:
        assert (folder / name).is_file(), name
    png_pixels(folder / "metric_vs_created.png")
    rows = trials_csv(folder)
    assert len(rows) == 6 and {r["state"] for r in rows} == {"complete"}
    y = np.array([float(r["value"]) for r in rows])
    got = {(r["parameter"], r["value"]): r for r in read_csv(folder / "correlations.csv")}
    assert got["hidden_size", ""]["measure"] == "pearson" and got["learning_rate", ""]["measure"] == "pearson_log"
    for key, x in (
        (("hidden_size", ""), np.array([float(r["hidden_size"]) for r in rows])),
        (("learning_rate", ""), np.log([float(r["learning_rate"]) for r in rows])),
        *(
            (("activation", a), np.array([float(r["activation"] == a) for r in rows]))
            for a in ("tanh", "ReLU", "sigmoid")
            if ("activation", a) in got
        ),
    ):
        defined = np.ptp(x) > 0 and np.ptp(y) > 0
        expected = np.corrcoef(x, y)[0, 1] if defined else None
        shown = got[key]["correlation"]
        assert (float(shown) if shown else None) == (pytest.approx(expected) if defined else None), key
    report = (folder / "report.md").read_text()
    assert report.startswith("# Sweep panels\n")  # spec.title: "Sweep" alone for a sweep named "sweep"
    assert "## Correlation with val_accuracy" in report and "over the 6 runs with a value" in report
    lr = float(got["learning_rate", ""]["correlation"])
    assert f"| learning_rate |  | Pearson r of the log | {lr:+.3f} | 6 |" in report


@pytest.mark.slow
def test_the_metric_vs_created_points_are_the_trials_start_times_and_running_best(tiny_sweep):
    _, folder = tiny_sweep
    trials = study_of(folder).get_trials()
    points = read_csv(folder / "metric_vs_created.csv")
    starts = sorted((t.datetime_start, t.number) for t in trials)
    assert [int(p["number"]) for p in points] == [number for _, number in starts]
    first = starts[0][0]
    elapsed = [float(p["elapsed_seconds"]) for p in points]
    assert elapsed == pytest.approx([(start - first).total_seconds() for start, _ in starts])
    values = [float(p["value"]) for p in points]
    best = np.array([float(p["running_best"]) for p in points])
    assert (np.diff(best) >= 0).all()
    np.testing.assert_array_equal(best, np.maximum.accumulate(values))
    assert best[-1] == max(t.value for t in trials)


@pytest.mark.slow
def test_the_report_command_redraws_a_sweep_without_training(tiny_sweep, tmp_path):
    base, folder = tiny_sweep
    runs = sorted(p.name for p in (folder / "runs").iterdir())
    before = {name: (folder / name).read_bytes() for name in ("correlations.csv", "metric_vs_created.csv")}
    n_trials = len(study_of(folder).get_trials())
    for name in REPORT_FILES:
        (folder / name).unlink()
    elsewhere = tmp_path / "elsewhere"  # the runs were recorded relative to the sweep's own folder
    elsewhere.mkdir()
    result = run_report([folder], elsewhere)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"^trial +\d+ ", result.stdout, re.MULTILINE) and "6 trials: 6 complete" in result.stdout
    for name in REPORT_FILES:
        assert (folder / name).is_file(), name
    for name, content in before.items():
        assert (folder / name).read_bytes() == content, name
    png_pixels(folder / "metric_vs_created.png")
    png_pixels(folder / "curves.png")
    assert sorted(p.name for p in (folder / "runs").iterdir()) == runs
    assert len(study_of(folder).get_trials()) == n_trials
    assert not list(elsewhere.iterdir())

    # a copy of the folder elsewhere: its study is found through FFNN_SWEEP_STORAGE, as for the sweep
    moved = tmp_path / "moved" / folder.name
    shutil.copytree(folder / "runs", moved / "runs")
    one_line_error(run_report([moved], base), "no sweeps database beside it")
    result = run_report([moved], base, FFNN_SWEEP_STORAGE=f"sqlite:///{folder.parent / 'sweeps.db'}")
    assert result.returncode == 0, result.stderr
    assert (moved / "correlations.csv").read_bytes() == before["correlations.csv"]
    # the same report, each naming its own folder in its --from_sweep commands
    assert (moved / "report.md").read_text().replace(str(moved), "SWEEP_DIR") == (
        (folder / "report.md").read_text().replace(str(folder), "SWEEP_DIR")
    )


def test_the_best_trials_table_ranks_only_trials_that_ended():
    """Trial 6 failed after reporting 0.2 and trial 8 is still running at 0.99: neither is ranked by what
    it reported; the pruned trial 1 is, at its last value (W&B's view); the repeat 5 is not listed twice."""
    from sweeping import report

    still_running = trial(8, State.RUNNING, 70, None, [0.99], lr=0.07)
    table = report._best_trials_table(spec_of(), [*mixed_trials(), still_running])
    numbers = [int(line.split("|")[1]) for line in table.splitlines()[2:]]
    assert numbers == [1, 7, 3, 4, 0]  # 0.9 (pruned, its last), 0.8, 0.7, 0.6, 0.5
