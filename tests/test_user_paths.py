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
        assert summary["message"].startswith("stopped by SIGTERM during "), summary["message"]
        assert summary["message"].split(" during ")[1] in ("testing", "saving", "figures", "finishing", "training")
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
    storage = f"sqlite:///{tmp_path / 'w.db'}"
    name = f"w{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nprogram: train.py\nmethod: grid\nmetric: {{name: val_accuracy, goal: maximize}}\n"
        "parameters:\n  dataset: {value: digits}\n  epochs: {value: 3000}\n  num_layers: {value: 1}\n"
        "  hidden_size: {value: 8}\n  learning_rate: {values: [0.01, 0.001, 0.0005]}\n"
    )

    def worker():
        return subprocess.Popen(
            [sys.executable, str(ROOT / "sweep.py"), str(path), "--storage", storage, "--heartbeat", "2",
             "--wandb_mode", "disabled", "--output_dir", "o", "--count", "2"],
            cwd=tmp_path, env=env_for(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def running():
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            return []
        return [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.RUNNING]

    survivor, victim = worker(), None
    try:
        deadline = time.monotonic() + 120
        while len(running()) < 1:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        victim = worker()
        while len(running()) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        survivors_trial = running()[0].number
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        killed_at = time.monotonic()
        killed = next(t for t in running() if t.number != survivors_trial)
        while True:  # failed first, then its copy queued (Optuna's retry callback): wait for both
            states = {t.number: t for t in optuna.load_study(study_name=name, storage=storage).get_trials()}
            requeued = [t for t in states.values() if t.system_attrs.get("failed_trial") == killed.number]
            if states[killed.number].state == optuna.trial.TrialState.FAIL and requeued:
                break
            assert time.monotonic() - killed_at < 15, "the dead worker's trial was not failed and queued in time"
            time.sleep(0.2)
        assert requeued[0].params == killed.params
        assert states[survivors_trial].state == optuna.trial.TrialState.RUNNING  # the survivor still trains
    finally:
        for process in (survivor, victim):
            if process is not None and process.poll() is None:
                process.kill()
