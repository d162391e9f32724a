"""Sweeps that cannot silently go wrong (issue 29): each failure a user met, reproduced with real
``sweep.py`` and ``train.py`` processes, and the pure rules behind the fixes.

* a study is its effective definition: ``--set dataset=...`` on an existing study is refused;
* the metric is checked before any trial, with the closest name a run reports;
* every failed trial says why, on the console and in report.md;
* a killed worker's trial is run again (here by a later worker on SQLite; on PostgreSQL by the
  survivor, in tests/test_workers.py);
* trials are named by what the sweep varies; report.md embeds its figures;
* ``train.py --from_sweep DIR --rank K`` trains exactly that trial's configuration.
"""

import json
import os
import signal
import subprocess
import sys
import time

import click
import optuna
import pytest

from experiments import naming, presets
from sweeping import definition
from sweeping import spec as specs
from sweeping.fixed_options import fixed_values
from tests.conftest import ROOT
from tests.test_sweeps import SWEEP_FILES, run_sweep, trials_csv, write_sweep

DISABLED = ("--wandb_mode", "disabled", "--output_dir")
QUIET = {"WANDB_SILENT": "true", "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def loaded(path, *overrides):
    spec, literal = specs.load(path)
    return spec, fixed_values(spec, literal, overrides, None, "disabled", path)


def tiny(tmp_path, name="tiny", **extra):
    parameters = {
        "dataset": {"value": "digits"},
        "epochs": {"value": 2},
        "weight_init": {"values": ["random", "Xavier"]},
        **extra,
    }
    return write_sweep(tmp_path / f"{name}.yaml", name=name, parameters=parameters)


def digits_sweep(tmp_path, name, metric="val_accuracy", **parameters):
    """A two-point sweep of one-epoch digits runs, optimising ``metric``, plus ``parameters``."""
    return write_sweep(
        tmp_path / f"{name}.yaml",
        metric={"name": metric, "goal": "maximize"},
        parameters={"dataset": {"value": "digits"}, "epochs": {"values": [1, 2]}, **parameters},
    )


# --- the rules, without training ------------------------------------------------------------------


def test_a_fixed_value_is_the_same_definition_wherever_it_is_written(tmp_path):
    path = tiny(tmp_path)
    spec, fixed = loaded(path)
    same_spec, same_fixed = loaded(path, "dataset=digits", "weight_init=random")
    assert definition.identity(spec, fixed)["options"]["dataset"] == '"digits"'
    assert definition.identity(same_spec, same_fixed)["options"]["dataset"] == '"digits"'
    changed = definition.differences(definition.identity(spec, fixed), definition.identity(same_spec, same_fixed))
    assert changed == ['weight_init: was one of ["random", "Xavier"], now "random"']


def test_spellings_and_defaults_written_out_are_no_change(tmp_path):
    """``xavier`` is train.py's ``Xavier``; the study's choices are stored as train.py reads them, so a
    worker that spells them otherwise proposes from the same choices (Optuna would refuse a trial)."""
    first = tiny(tmp_path, "a")
    other = write_sweep(
        tmp_path / "b.yaml",
        name="a",
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 2},
            "weight_init": {"values": ["RANDOM", "xavier"]},
        },
    )
    (spec, fixed), (spec2, fixed2) = loaded(first), loaded(other, "epochs=2", "val_fraction=0.1", "save_model=true")
    assert spec2.parameters["weight_init"].values == ["random", "Xavier"] == spec.parameters["weight_init"].values
    assert definition.identity(spec, fixed) == definition.identity(
        spec2, fixed2
    )  # 0.1 is the default; saving is kept-only


def test_a_sweep_started_from_another_is_known_by_that_sweep_s_name(tmp_path):
    (tmp_path / "here" / "mine").mkdir(parents=True)
    (tmp_path / "there" / "mine").mkdir(parents=True)
    path = ROOT / "sweeps" / "mnist_top3.yaml"
    here = definition.identity(*loaded(path, f"from_sweep={tmp_path / 'here' / 'mine'}"))
    there = definition.identity(*loaded(path, f"from_sweep={tmp_path / 'there' / 'mine'}"))
    assert here == there and here["options"]["from_sweep"] == '"mine"'


def test_where_data_and_results_go_is_not_part_of_a_study(tmp_path):
    path = tiny(tmp_path)
    spec, literal = specs.load(path)
    here = fixed_values(spec, literal, (), str(tmp_path), "offline", path)
    spec2, literal2 = specs.load(path)
    there = fixed_values(spec2, literal2, (), None, "disabled", path)
    assert definition.identity(spec, here) == definition.identity(spec2, there)


def test_a_metric_typo_names_the_closest_metric(tmp_path):
    path = digits_sweep(tmp_path, "typo", metric="val_acc")
    spec, fixed = loaded(path)
    with pytest.raises(definition.ConfigError, match="did you mean 'val_accuracy'"):
        definition.check_metric(spec, fixed, str(path))


def test_a_validation_metric_without_validation_is_refused(tmp_path):
    path = digits_sweep(tmp_path, "noval", val_fraction={"value": 0.0})
    spec, fixed = loaded(path)
    with pytest.raises(definition.ConfigError, match="val_fraction above 0"):
        definition.check_metric(spec, fixed, str(path))


def test_per_class_and_plugin_metrics_are_metrics_a_run_reports(tmp_path):
    for metric, extra in (("test_recall/3", {}), ("stopped_early_at_epoch", {"patience": {"value": 3}})):
        path = digits_sweep(tmp_path, "m", metric=metric, **extra)
        definition.check_metric(*loaded(path), str(path))


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_every_shipped_sweep_optimises_a_metric_its_runs_report(path):
    spec, fixed = loaded(path)
    definition.check_metric(spec, fixed, str(path))


def test_run_names_say_what_differs():
    swept = presets.resolve(
        {"num_layers": 3, "batch_size": 16, "activation": "tanh", "weight_decay": 0.0005, "weight_init": "Xavier"}
    )
    keys = ["num_layers", "batch_size", "activation", "weight_decay", "weight_init"]
    assert naming.sweep_run_name(swept, keys) == "hl_3_bs_16_ac_tanh_wd_0.0005_wi_Xavier"
    assert naming.sweep_run_name(presets.resolve({"hidden_size": [256, 128]}), ["hidden_size"]) == ("sz_256-128")
    plain = naming.run_name(presets.resolve({}))
    assert plain == "hl_5_sz_128_bs_64_ac_ReLU_o_adam_lr_0.001"  # defaults add nothing
    random_init = naming.run_name(presets.resolve({"weight_init": "random"}))
    decayed = naming.run_name(presets.resolve({"weight_decay": 0.0005, "epochs": 5}))
    assert random_init == plain + "_wi_random"
    assert decayed == plain + "_wd_0.0005_ep_5"


def test_under_wandb_agent_a_run_is_named_by_its_sweep_values_that_differ_from_the_defaults():
    """``wandb agent`` passes every parameter of the file (varied or not); the run cannot tell which
    vary, so it names itself by those whose values are not the defaults."""
    from types import SimpleNamespace

    from experiments.lifecycle import agent_run_name

    injected = {
        "dataset": "fashion_mnist",
        "val_fraction": 0.1,
        "batch_size": 16,
        "weight_init": "random",
        "epochs": 10,
    }
    config = presets.resolve(injected)
    agent = SimpleNamespace(in_sweep=True, injected_config=injected)
    assert agent_run_name(config, agent) == "bs_16_wi_random"
    alone = SimpleNamespace(in_sweep=False, injected_config=injected)
    assert agent_run_name(config, alone) == naming.run_name(config)


def test_a_file_that_sweeps_presets_sweeps_ranks_of_your_own_sweep(tmp_path):
    spec, fixed = loaded(ROOT / "sweeps" / "ce_vs_mse.yaml", f"from_sweep={tmp_path}")
    assert "preset" not in spec.parameters
    assert spec.parameters["rank"].values == [1, 2, 3]
    assert spec.parameters["loss"].values == ["cross_entropy", "mean_squared_error"]
    assert fixed["from_sweep"] == str(tmp_path)
    spec, fixed = loaded(ROOT / "sweeps" / "mnist_top3.yaml", f"from_sweep={tmp_path}")
    assert spec.parameters["rank"].values == [1, 2, 3] and fixed["from_sweep"] == str(tmp_path)


def test_from_sweep_says_what_is_missing(tmp_path):
    with pytest.raises(click.BadParameter, match="no top.json"):
        presets.resolve({"from_sweep": str(tmp_path)})
    (tmp_path / "top.json").write_text(json.dumps({"configurations": [{"config": {"epochs": 3}}]}))
    assert presets.resolve({"from_sweep": str(tmp_path)}).training.epochs == 3
    assert presets.resolve({"from_sweep": str(tmp_path), "epochs": 4}).training.epochs == 4  # flags win
    with pytest.raises(click.BadParameter, match="1 complete trial"):
        presets.resolve({"from_sweep": str(tmp_path), "rank": 2})


# --- real processes -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """One small grid (two initialisations of a digits network), run by sweep.py."""
    tmp_path = tmp_path_factory.mktemp("safety")
    path = tiny(tmp_path)
    result = run_sweep([path, "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path, path, result


@pytest.mark.slow
def test_a_study_run_again_with_another_definition_is_refused(swept):
    tmp_path, path, _ = swept
    before = trials_csv(tmp_path / "o" / "tiny")
    result = run_sweep(
        [path, "--set", "dataset=breast_cancer", "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert 'dataset: was "digits", now "breast_cancer"' in lines[0]
    assert "--study tiny_dataset_breast_cancer" in lines[0]
    assert trials_csv(tmp_path / "o" / "tiny") == before  # nothing ran, nothing was added
    again = run_sweep(
        [
            path,
            "--set",
            "epochs=1",
            "--study",
            "tiny_quick",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            tmp_path / "o",
        ],
        tmp_path,
    )
    assert again.returncode == 0, again.stderr
    report = (tmp_path / "o" / "tiny_quick" / "report.md").read_text()
    assert "Every trial: dataset=digits, epochs=1." in report  # the override is in the results


@pytest.mark.slow
def test_trials_are_named_by_what_the_sweep_varies(swept):
    tmp_path, _, result = swept
    runs = sorted(p.name for p in (tmp_path / "o" / "tiny" / "runs").iterdir())
    assert runs == ["wi_Xavier", "wi_random"]  # distinct, no "-2"
    assert {r["run_name"] for r in trials_csv(tmp_path / "o" / "tiny")} == {"wi_Xavier", "wi_random"}
    assert "wi_random" in result.stdout


@pytest.mark.slow
def test_the_report_embeds_its_figures_and_warns_about_few_runs(swept):
    tmp_path, _, _ = swept
    folder = tmp_path / "o" / "tiny"
    report = (folder / "report.md").read_text()
    links = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert "curves.png" in links and "parallel_coordinates.png" in links and "metric_vs_created.png" in links
    assert all((folder / link).is_file() for link in links)
    assert "## Top 2 configurations" in report
    assert f"python train.py --from_sweep {folder} --rank 2" in report
    if "param_importances.png" in links:
        assert "**Few runs:**" in report


@pytest.mark.slow
def test_from_sweep_trains_exactly_the_ranked_trial(swept):
    tmp_path, _, _ = swept
    folder = tmp_path / "o" / "tiny"
    top = json.loads((folder / "top.json").read_text())["configurations"]
    assert [entry["rank"] for entry in top] == [1, 2]
    second = top[1]
    env = {**os.environ, **QUIET}
    out = tmp_path / "again"
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--from_sweep", str(folder), "--rank", "2", *DISABLED, str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (run_folder,) = out.iterdir()
    made = json.loads((run_folder / "config.json").read_text())
    trial = json.loads((folder / "runs" / second["run_name"] / "config.json").read_text())
    where = ("output_dir", "from_sweep", "rank")
    assert {k: v for k, v in made.items() if k not in where} == {k: v for k, v in trial.items() if k not in where}
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["best_val_accuracy"] == pytest.approx(second["val_accuracy"], abs=1e-12)  # the same run again
    beyond = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--from_sweep", str(folder), "--rank", "9"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert beyond.returncode == 2 and len(beyond.stderr.strip().splitlines()) == 1
    assert "2 complete trial(s)" in beyond.stderr


@pytest.mark.slow
def test_a_metric_typo_stops_the_sweep_before_any_trial(tmp_path):
    path = digits_sweep(tmp_path, "typo", metric="val_acc")
    result = run_sweep([path, "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "did you mean 'val_accuracy'" in result.stderr
    assert not (tmp_path / "o" / "typo").exists()  # no trial ran


@pytest.mark.slow
def test_every_failed_trial_says_why(tmp_path):
    path = write_sweep(
        tmp_path / "fails.yaml",
        name="fails",
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 2},
            "optimizer": {"value": "sgd"},
            "learning_rate": {"values": [0.01, 1.0e12]},
        },
    )
    result = run_sweep([path, "--wandb_mode", "disabled", "--output_dir", tmp_path / "o"], tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("trial   1 failed")]  # as it happens
    assert len(failed) == 1 and "lr_1e+12: " in failed[0]
    reason = failed[0].split("lr_1e+12: ", 1)[1]
    assert "diverged" in reason
    assert f"trial 1 failed (lr_1e+12): {reason}" in lines  # and again under the results
    report = (tmp_path / "o" / "fails" / "report.md").read_text()
    assert "## Failed trials" in report and reason.strip()[:40] in report


@pytest.mark.slow
def test_a_killed_workers_trial_is_finished_by_running_the_sweep_again(tmp_path):
    """One worker, killed with SIGKILL mid-trial and nobody else to notice: its trial stays RUNNING.
    The same command, run again once the heartbeat is stale, fails it, queues it again and finishes
    the grid (before, the re-run exited 0 with the trial RUNNING for good)."""
    path = write_sweep(
        tmp_path / "killed.yaml",
        name="killed",
        parameters={"dataset": {"value": "digits"}, "epochs": {"value": 400}, "learning_rate": {"values": [0.01]}},
    )
    storage = f"sqlite:///{tmp_path / 'o' / 'sweeps.db'}"
    args = [sys.executable, str(ROOT / "sweep.py"), str(path), "--wandb_mode", "disabled"]
    args += ["--output_dir", str(tmp_path / "o"), "--heartbeat", "1"]
    victim = subprocess.Popen(args, cwd=tmp_path, env={**os.environ, **QUIET}, stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    running = []
    while time.time() < deadline and not running:
        time.sleep(0.3)
        if (tmp_path / "o" / "sweeps.db").exists():
            try:
                study = optuna.load_study(study_name="killed", storage=storage)
                running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
            except Exception:
                running = []
    assert running, "the worker never started its trial"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    time.sleep(2.5)  # past the grace period (twice the heartbeat)
    quick = [*args[:3], "--set", "epochs=400", *args[3:]]  # the same definition (epochs fixed either way)
    result = subprocess.run(quick, cwd=tmp_path, env={**os.environ, **QUIET}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = trials_csv(tmp_path / "o" / "killed")
    assert [r["state"] for r in rows] == ["fail", "complete"]
    assert "run again as trial 1" in (tmp_path / "o" / "killed" / "report.md").read_text()
