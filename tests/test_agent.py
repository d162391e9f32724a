"""Under `wandb agent`, through W&B's own agent code (only the W&B server is absent): the command line
it builds from a run's config, and its stop path (the agent's AgentProcess.terminate, what the
sweep's controller asks for on hyperband's early termination or "Stop" in the UI)."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import offline_run, wandb_summary

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def agent_command(args: dict) -> list[str]:
    """``${env} ${interpreter} ${program} ${args}`` as wandb's agent renders it for these values."""
    from wandb.sdk.launch.sweeps import utils as sweep_utils

    rendered = sweep_utils.create_sweep_command_args({"args": {k: {"value": v} for k, v in args.items()}})
    return [sys.executable, str(ROOT / "train.py"), *rendered["args"]]


def agent_env(tmp_path, data_dir, sweep_id="sweep1234") -> dict:
    return {
        **os.environ,
        "FFNN_DATA_DIR": str(data_dir),
        "WANDB_DIR": str(tmp_path),
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_SWEEP_ID": sweep_id,  # what the agent sets for the runs it starts
        "WANDB_RUN_ID": "run00001",
    }


def test_a_list_value_reaches_train_py_as_wandb_renders_it(tiny_idx, tmp_path):
    from wandb.sdk.lib import config_util

    values = {"num_layers": 2, "hidden_size": [24, 12], "epochs": 1, "output_dir": "out"}
    command = agent_command(values)
    assert "--hidden_size=[24, 12]" in command
    # as the agent does: the sweep's values in a file that wandb.init loads, locked, into the run's config
    params = tmp_path / "sweep-params.yaml"
    config_util.save_config_file_from_dict(str(params), {k: {"value": v} for k, v in values.items()})
    env = {**agent_env(tmp_path, tiny_idx), "WANDB_SWEEP_PARAM_PATH": str(params)}
    env.pop("WANDB_SILENT")  # W&B's warnings must show, to be counted
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "784-24-12-10" in result.stdout
    assert "locked by" not in result.stdout + result.stderr  # only what the sweep did not set is written back
    config = json.loads(next((tmp_path / "out").glob("*/config.json")).read_text())
    assert config["hidden_size"] == [24, 12]


def test_a_run_the_sweep_stops_ends_as_stopped_keeps_its_model_and_exits_0(tiny_idx, tmp_path):
    from wandb.wandb_agent import AgentProcess

    command = agent_command(
        {
            "epochs": 100000,
            "num_layers": 1,
            "hidden_size": 16,
            "batch_size": 8,
            "save_model": True,
            "output_dir": str(tmp_path / "out"),
        }
    )
    process = AgentProcess(command=command, env={**agent_env(tmp_path, tiny_idx)})
    deadline = time.monotonic() + 240
    while not list((tmp_path / "out").glob("*/checkpoint.npz")):
        assert process.poll() is None, "the run ended before it was stopped"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    process.terminate()  # the agent's _command_stop
    while (code := process.poll()) is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert code == 0  # the agent counts a non-zero exit as a crash
    folder = next((tmp_path / "out").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "stopped" and "stopped by the sweep" in summary["message"]
    assert (folder / "model.npz").is_file() and summary["epochs_completed"] >= 1
    shown = wandb_summary(offline_run(tmp_path))
    assert re.search(r"exit code\W+0|state\W+finished", shown), shown
    assert "preempt" not in shown.lower()


def test_sigterm_outside_a_sweep_is_a_preemption_with_exit_143(tiny_idx, tmp_path):
    env = {k: v for k, v in agent_env(tmp_path, tiny_idx).items() if k not in ("WANDB_SWEEP_ID", "WANDB_RUN_ID")}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "-e", "100000", "-nhl", "1", "-sz", "16", "-b", "8",
         "--output_dir", "out", "--save_model", "True"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not list((tmp_path / "out").glob("*/checkpoint.npz")):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    process.terminate()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    summary = json.loads(next((tmp_path / "out").glob("*/summary.json")).read_text())
    assert summary["status"] == "interrupted" and "SIGTERM during training" in summary["message"]
