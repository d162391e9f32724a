"""Real users' paths: a stop at any moment after training, a full disk, secrets in the storage URL,
sweep names that would leave their folder, bad resume inputs, a killed worker's trial retried while
another worker trains. Real processes, a real tmpfs where the machine allows one, and the real
PostgreSQL of .ci/run."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import optuna
import pytest
from conftest import make_idx_folder

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("FFNN_TEST_POSTGRES_URL")
pytestmark = pytest.mark.slow


def env_for(tmp_path, **extra) -> dict:
    return {**os.environ, "WANDB_DIR": str(tmp_path), "WANDB_MODE": "offline", "WANDB_SILENT": "true", **extra}


def train(args, tmp_path, **kwargs):
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *map(str, args)],
        cwd=tmp_path, env=env_for(tmp_path), capture_output=True, text=True, timeout=600, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8, 1.5])
def test_a_stop_after_the_last_epoch_keeps_the_summary_and_the_model_and_names_the_phase(delay, tiny_idx, tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "--data_dir", str(tiny_idx), "-e", "2", "-nhl", "1", "-sz", "16",
         "--save_model", "True", "--output_dir", "out"],
        cwd=tmp_path, env=env_for(tmp_path, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    for line in process.stdout:
        if line.startswith("epoch 2/2"):
            break
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    folder = next((tmp_path / "out").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    assert (folder / "model.npz").is_file(), (out, err)
    assert "before training started" not in err and "Traceback" not in err
    if process.returncode == 0:  # the run was over before the signal came
        assert summary["status"] == "finished"
    else:
        assert process.returncode == 143, err
        assert summary["status"] == "interrupted"
        # a stop while testing waits for the test pass (its scores are kept); at any other phase it stops it
        assert summary["message"] != "stopped by SIGTERM during testing", summary["message"]
        if summary["message"] == "stopped by SIGTERM after testing":
            assert "test_accuracy" in summary
        else:
            assert summary["message"].startswith("stopped by SIGTERM during "), summary["message"]
            assert summary["message"].split(" during ")[1] in ("saving", "figures", "finishing", "training")
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "a temporary file was left"


def test_sigint_stops_a_run_started_with_sigint_ignored(tiny_idx, tmp_path):
    """A run started in the background (`cmd &`, nohup) inherits SIGINT ignored; train.py installs its
    own handler, so Ctrl-C (kill -INT) still stops it, whatever state this test process is in."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "--data_dir", str(tiny_idx), "-e", "100000", "-nhl", "1",
         "-sz", "8", "--output_dir", "out", "--wandb_mode", "disabled"],
        cwd=tmp_path, env=env_for(tmp_path, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    for line in process.stdout:
        if line.startswith("epoch"):
            break
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    summary = json.loads(next((tmp_path / "out").glob("*/summary.json")).read_text())
    assert summary["status"] == "interrupted" and "Ctrl-C" in summary["message"]


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 3 MB tmpfs (root only); the test is skipped where the machine does not allow mounting one."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_keeps_the_last_checkpoint_and_resume_works_once_there_is_space(small_tmpfs, tmp_path):
    data = make_idx_folder(tmp_path / "data" / "fashion-mnist", n_train=600, n_test=100).parent
    # ~200k parameters: a checkpoint (weights, two Adam slots, best weights) of ~3.2 MB... too big; ~150k
    # parameters make one of ~1.3 MB: the first fits, writing the second beside it does not.
    result = train(["--data_dir", data, "-e", "3", "-nhl", "1", "-sz", "150", "--output_dir", small_tmpfs / "out"],
                   tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("wandb")]
    assert len(lines) == 1 and lines[0].startswith("Error: the disk is full: cannot write in"), result.stderr
    folder = next((small_tmpfs / "out").iterdir())
    assert str(folder) in lines[0]
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], "a temporary file was left"
    assert (folder / "checkpoint.npz").is_file()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    from test_cli import wandb_summary

    shown = wandb_summary(runs[0])
    assert "exit code" in shown.lower() or "failed" in shown.lower(), shown
    moved = tmp_path / "roomy" / folder.name
    shutil.copytree(folder, moved)
    resumed = train(["--resume", moved], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((moved / "summary.json").read_text())["epochs_completed"] == 3


def test_a_truncated_config_json_or_a_non_finite_checkpoint_cannot_be_resumed(tiny_idx, tmp_path):
    first = train(["--data_dir", tiny_idx, "-e", "1", "-nhl", "1", "-sz", "8", "--output_dir", "out"], tmp_path)
    assert first.returncode == 0, first.stderr
    folder = next((tmp_path / "out").iterdir())
    config = (folder / "config.json").read_text()
    (folder / "config.json").write_text(config[: len(config) // 2])
    result = train(["--resume", folder], tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "config.json" in result.stderr
    (folder / "config.json").write_text(config)
    with np.load(folder / "checkpoint.npz") as archive:
        arrays = dict(archive)
    name = next(key for key in arrays if key.startswith("params/"))
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = np.nan
    np.savez(folder / "checkpoint.npz", **arrays)
    result = train(["--resume", folder, "-e", "2"], tmp_path)
    assert result.returncode == 2 and "non-finite" in result.stderr and "diverged" not in result.stdout


def sweep_file(tmp_path, name: str) -> Path:
    path = tmp_path / f"s{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(
        f"name: {json.dumps(name)}\nprogram: train.py\nmethod: grid\nmetric: {{name: val_accuracy, goal: maximize}}\n"
        "parameters:\n  dataset: {value: digits}\n  epochs: {value: 1}\n  num_layers: {value: 1}\n"
        "  hidden_size: {value: 8}\n  learning_rate: {values: [0.01, 0.001]}\n"
    )
    return path


def sweep(args, tmp_path, **env):
    return subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), *map(str, args)],
        cwd=tmp_path, env=env_for(tmp_path, **env), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["../escaped", "a/b", "..", "/tmp/abs"])
def test_a_sweep_name_that_would_leave_the_output_folder_is_refused(name, tmp_path):
    out = tmp_path / "deep" / "o"
    for args in ([sweep_file(tmp_path, name)], [sweep_file(tmp_path, "fine"), "--study", name]):
        result = sweep([*args, "--output_dir", out, "--wandb_mode", "disabled"], tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "cannot name a sweep" in result.stderr
    assert not (tmp_path / "deep" / "escaped").exists() and not (tmp_path / "deep" / "o").exists()


@pytest.mark.skipif(not POSTGRES, reason="no PostgreSQL server (source .ci/postgres.sh)")
def test_the_storage_password_appears_nowhere(tmp_path):
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(POSTGRES)
    secret = f"pw{uuid.uuid4().hex[:12]}"
    user = parts.username or "ffnn"
    with_password = urlunsplit(parts._replace(netloc=f"{user}:{secret}@{parts.hostname or ''}"))
    name = f"s{uuid.uuid4().hex[:8]}"
    shown = sweep([sweep_file(tmp_path, name), "--storage", with_password, "--output_dir", "o"], tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert secret not in shown.stdout + shown.stderr and f"{user}:***@" in shown.stdout
    from_env = sweep([sweep_file(tmp_path, name), "--output_dir", "o"], tmp_path, FFNN_SWEEP_STORAGE=with_password)
    assert from_env.returncode == 0 and secret not in from_env.stdout + from_env.stderr
    bad = urlunsplit(parts._replace(netloc=f"{user}:{secret}@127.0.0.1:1"))
    failed = sweep([sweep_file(tmp_path, name), "--storage", bad, "--output_dir", "o"], tmp_path)
    assert failed.returncode == 2 and secret not in failed.stdout + failed.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not [p for p in written if secret.encode() in p.read_bytes()]


def test_a_killed_workers_trial_is_requeued_within_twice_the_heartbeat_while_another_worker_trains(tmp_path):
    """Two workers (heartbeat 2 s) on a two-point grid: the survivor takes the long point, the victim
    the short one and is killed with SIGKILL mid-trial. The survivor's watch fails the victim's trial
    and queues it again while the survivor still trains, and the survivor then runs that retry and
    finishes the grid. What is asserted is that behaviour, never a duration: on a loaded 2-core
    machine a heartbeat's check can come late, so the only time limits are hang guards (minutes)."""
    storage = f"sqlite:///{tmp_path / 'w.db'}"
    name = f"w{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(  # the grid's points in this order: the long one (about 25 s on an idle core) first
        f"name: {name}\nprogram: train.py\nmethod: grid\nmetric: {{name: val_accuracy, goal: maximize}}\n"
        "parameters:\n  dataset: {value: digits}\n  num_layers: {value: 1}\n  hidden_size: {value: 8}\n"
        "  epochs: {values: [800, 100]}\n"
    )

    def worker():
        return subprocess.Popen(
            [sys.executable, str(ROOT / "sweep.py"), str(path), "--storage", storage, "--heartbeat", "2",
             "--wandb_mode", "disabled", "--output_dir", "o"],
            cwd=tmp_path, env=env_for(tmp_path, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def trials():
        try:
            return optuna.load_study(study_name=name, storage=storage).get_trials()
        except KeyError:  # the first worker has not created the study yet
            return []

    def wait_for(condition, what):
        deadline = time.monotonic() + 300  # a hang guard, not a speed limit
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.2)

    def running():
        return [t for t in trials() if t.state == optuna.trial.TrialState.RUNNING]

    survivor, victim = worker(), None
    try:
        wait_for(lambda: len(running()) == 1, "the first worker never started a trial")
        survivors_trial = running()[0]
        victim = worker()
        wait_for(lambda: len(running()) == 2, "the second worker never started a trial")
        time.sleep(0.5)  # its first heartbeat is written just after the trial starts
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=60)
        killed = next(t for t in running() if t.number != survivors_trial.number)
        out, err = survivor.communicate(timeout=900)
        assert survivor.returncode == 0, err[-3000:]
    finally:
        for process in (survivor, victim):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    final = {t.number: t for t in trials()}
    assert survivors_trial.params["epochs"] == 800 and killed.params["epochs"] == 100
    assert final[killed.number].state == optuna.trial.TrialState.FAIL  # failed once its heartbeat went stale
    (retry,) = [t for t in final.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert retry.params == killed.params and retry.state == optuna.trial.TrialState.COMPLETE
    # failed and queued while the survivor was still training its own trial (its watch, not its next start)
    assert final[killed.number].datetime_complete < final[survivors_trial.number].datetime_complete
    assert retry.datetime_start > final[survivors_trial.number].datetime_complete
    # and run by the survivor, which then finished the grid: each point complete once
    assert f"trial {retry.number:>3} complete" in out, out
    done = [t for t in final.values() if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(t.params["epochs"] for t in done) == [100, 800]
