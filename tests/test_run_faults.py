"""A run's files and phases against what users and machines do to them: a config.json edited before
``--resume``, a checkpoint whose best weights are not finite, a stop while the test set is scored, a
``kill -9`` while a file is written, a series of batch rows continued by a resumed run, a sweep's report
rewritten. Real files; real train.py processes, started and signalled as users do."""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from conftest import make_idx_folder

from experiments import lifecycle
from experiments.errors import Terminated
from experiments.session import came_after, deferred_stops, stop_on_signals
from tracking.files import atomic_path, is_temporary, remove_temporaries
from tracking.local import FLUSH_SECONDS, LocalRun

ROOT = Path(__file__).resolve().parents[1]


def env_for(tmp_path, **extra) -> dict:
    return {**os.environ, "WANDB_DIR": str(tmp_path), "WANDB_MODE": "disabled", "WANDB_SILENT": "true", **extra}


def train(args, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *map(str, args)],
        cwd=tmp_path, env=env_for(tmp_path), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def start(args, tmp_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *map(str, args)],
        cwd=tmp_path, env=env_for(tmp_path, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def dotfiles(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# a resumed run is the run it claims to be


@pytest.mark.slow
def test_a_config_json_edited_since_the_checkpoint_is_refused_and_an_older_checkpoint_still_resumes(tiny_idx, tmp_path):
    first = train(["--data_dir", tiny_idx, "-e", "1", "-nhl", "1", "-sz", "8", "--output_dir", "out"], tmp_path)
    assert first.returncode == 0, first.stderr
    folder = next((tmp_path / "out").iterdir())
    original = json.loads((folder / "config.json").read_text())
    edited = {**original, "learning_rate": 0.5}
    (folder / "config.json").write_text(json.dumps(edited))
    refused = train(["--resume", folder, "-e", "2"], tmp_path)
    line = one_error_line(refused)
    assert str(folder) in line and "config.json was changed since checkpoint.npz" in line, line
    assert len(json.loads((folder / "history.json").read_text())) == 1  # nothing trained
    assert json.loads((folder / "config.json").read_text()) == edited  # nor rewritten

    # the same configuration, written otherwise, with the data moved and --epochs raised: the same run
    moved = shutil.copytree(tiny_idx, tmp_path / "moved")
    (folder / "config.json").write_text(json.dumps({**original, "data_dir": str(moved)}, indent=4, sort_keys=True))
    resumed = train(["--resume", folder, "-e", "2"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert [h["epoch"] for h in json.loads((folder / "history.json").read_text())] == [1, 2]

    # a checkpoint written before the fingerprint existed has nothing to compare: it resumes
    with np.load(folder / "checkpoint.npz") as archive:
        arrays = dict(archive)
    header = json.loads(str(arrays["__header__"]))
    assert set(header.pop("metadata")) == {lifecycle.CONFIG_HASH, lifecycle.CONFIG_KEYS}
    arrays["__header__"] = np.array(json.dumps(header))
    np.savez(folder / "checkpoint.npz", **arrays)
    (folder / "config.json").write_text(json.dumps({**original, "learning_rate": 0.01}))
    older = train(["--resume", folder, "-e", "3"], tmp_path)
    assert older.returncode == 0, older.stderr
    assert "lr 0.01," in older.stdout


def test_the_fingerprint_is_the_runs_own_configuration_over_the_options_the_checkpoint_names():
    from experiments import presets

    flat = presets.resolve({"dataset": "digits"}).flat()
    metadata = lifecycle.checkpoint_metadata(presets.resolve({"dataset": "digits"}))
    assert metadata[lifecycle.CONFIG_HASH] == lifecycle.fingerprint(flat)
    same = {**flat, "epochs": 99, "wandb_mode": "offline", "output_dir": "/x", "data_dir": "/y", "preset": "p"}
    assert lifecycle.fingerprint(same, metadata[lifecycle.CONFIG_KEYS]) == metadata[lifecycle.CONFIG_HASH]
    for key, value in (("learning_rate", 0.5), ("seed", 12345), ("hidden_size", 3), ("save_model", True)):
        assert lifecycle.fingerprint({**flat, key: value}) != metadata[lifecycle.CONFIG_HASH], key
    # a later version's new option, at any value, is not part of what this checkpoint covers
    later = {**flat, "an_option_of_a_later_version": 1}
    assert lifecycle.fingerprint(later, metadata[lifecycle.CONFIG_KEYS]) == metadata[lifecycle.CONFIG_HASH]


# non-finite best weights


@pytest.mark.slow
def test_non_finite_values_only_in_the_best_weights_cannot_be_resumed(tiny_idx, tmp_path):
    first = train(["--data_dir", tiny_idx, "-e", "1", "-nhl", "1", "-sz", "8", "--norm", "batch", "--output_dir", "out"],
                  tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    folder = next((tmp_path / "out").iterdir())
    with np.load(folder / "checkpoint.npz") as archive:
        arrays = dict(archive)
    state = next(key for key in arrays if key.startswith("best/state/"))
    for key, value in (("best/weights", np.nan), (state, np.inf)):
        copy = shutil.copytree(folder, tmp_path / key.replace("/", "_"))
        poisoned = dict(arrays)
        poisoned[key] = arrays[key].copy()
        poisoned[key].flat[0] = value
        np.savez(copy / "checkpoint.npz", **poisoned)
        result = train(["--resume", copy, "-e", "2"], tmp_path)
        line = one_error_line(result)
        assert key in line and "non-finite" in line and str(copy) in line, line
        assert len(json.loads((copy / "history.json").read_text())) == 1


# a stop while the test set is scored


@pytest.fixture(scope="module")
def big_test_set(tmp_path_factory):
    """A test set large enough (30,000 images through a 2048-unit layer) that its pass takes a while (1.5 s
    on an idle core), and a training set small enough that training does not."""
    return make_idx_folder(tmp_path_factory.mktemp("big") / "fashion-mnist", n_train=100, n_test=30000).parent


def stop_while_testing(data, tmp_path, signals: int):
    """A two-epoch run, sent ``signals`` SIGTERMs (0.25 s apart: closer ones are one stop, as timeout's pair) from 0.1 s after its last epoch: in its test pass."""
    process = start(["--data_dir", data, "-e", "2", "-nhl", "1", "-sz", "2048", "--save_model", "True",
                     "--output_dir", "out"], tmp_path)  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("epoch 2/2"):
            break
    time.sleep(0.1)
    for _ in range(signals):
        process.send_signal(signal.SIGTERM)
        time.sleep(0.25)
    out, err = process.communicate(timeout=300)
    folder = next((tmp_path / "out").iterdir())
    return process.returncode, out, err, folder, json.loads((folder / "summary.json").read_text())


@pytest.mark.slow
def test_a_stop_during_testing_finishes_the_test_pass_keeps_its_scores_and_exits_143(big_test_set, tmp_path):
    code, out, err, folder, summary = stop_while_testing(big_test_set, tmp_path, signals=1)
    assert code == 143, err
    assert summary["status"] == "interrupted" and summary["message"] == "stopped by SIGTERM after testing", summary
    assert summary["test_accuracy"] == pytest.approx(1.0) and summary["epochs_completed"] == 2
    assert "test_acc 1.0000" in out and "stopped: stopped by SIGTERM after testing" in out, out
    assert (folder / "model.npz").is_file() and "saved_model_epoch" not in summary  # the weights it tested
    assert not (folder / "curves.png").exists()  # figures are for finished runs
    assert "Traceback" not in err and not dotfiles(folder)


@pytest.mark.slow
def test_a_second_stop_during_testing_stops_at_once(big_test_set, tmp_path):
    code, out, err, folder, summary = stop_while_testing(big_test_set, tmp_path, signals=2)
    assert code == 143, err
    assert summary["message"] == "stopped by SIGTERM during testing", summary
    assert "test_accuracy" not in summary and "test_acc" not in out
    assert (folder / "model.npz").is_file() and summary["saved_model_epoch"] == summary["best_epoch"]
    assert "Traceback" not in err and not dotfiles(folder)


def test_deferred_stops_hold_the_first_stop_until_the_block_is_done_and_raise_a_second_at_once():
    restore = stop_on_signals()
    try:
        done = []
        with pytest.raises(Terminated) as held, deferred_stops():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here: nothing is raised
            done.append("the block")
        assert done == ["the block"] and came_after(held.value)
        with pytest.raises(KeyboardInterrupt) as at_once, deferred_stops():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            done.append("never")
        assert done == ["the block"] and not came_after(at_once.value)
        assert type(at_once.value) is Terminated  # the stops in the order they came: SIGTERM's first
        with deferred_stops():  # no stop: nothing raised, and the handlers are put back
            pass
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.set_wakeup_fd(-1) == -1  # and no wake-up file is left behind
    finally:
        restore()


def test_a_sweep_workers_handler_still_ends_the_trial_after_one_stop_and_stops_at_once_after_two():
    """The worker's own handler (a first stop ends the trial when it is safe, a second one at once) is
    handed the stops too: one after the test pass, two as soon as the second comes."""
    from sweeping.objective import Interrupt

    interrupt = Interrupt()
    interrupt.install()
    with deferred_stops():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert not interrupt.requested  # held
    assert interrupt.requested and interrupt.exit_code == 143  # handed over after the block: nothing raised
    again = Interrupt()
    again.install()
    with pytest.raises(KeyboardInterrupt), deferred_stops():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.3)  # apart: two stops (SIGTERMs within 0.1 s are one, as timeout's pair)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        pytest.fail("the second stop did not stop the block")
    assert again.requested


@pytest.mark.parametrize(("stop", "gap", "held"), [(signal.SIGINT, 0.02, False), (signal.SIGTERM, 0.0, True)])
def test_stops_that_come_during_one_call_into_c(stop, gap, held):
    """Python runs a handler once for the signals that came while a matrix product ran: two Ctrl-Cs still
    count as two (the block stops at once); two SIGTERMs sent back to back, as ``timeout`` sends them (to
    the command and to its process group), are one, held until the block is done."""
    import threading

    restore = stop_on_signals()
    a = np.ones((2500, 2500))
    done = []

    def twice():
        time.sleep(0.02)
        for _ in range(2):
            os.kill(os.getpid(), stop)
            time.sleep(gap)

    try:
        with pytest.raises(KeyboardInterrupt) as stopped, deferred_stops():
            sender = threading.Thread(target=twice)
            sender.start()
            for _ in range(5):
                a @ a  # about 0.3 s each: both signals come during one
            done.append("the block")
        sender.join()
        assert done == (["the block"] if held else []) and came_after(stopped.value) is held
        assert isinstance(stopped.value, Terminated) is (stop == signal.SIGTERM)
    finally:
        restore()


@pytest.mark.slow
def test_timeout_stopping_a_held_block_lets_it_finish():
    """The real ``timeout``: its SIGTERM (sent twice) lands during a held block, which still finishes."""
    script = (
        "import numpy as np\n"
        "from experiments.session import deferred_stops, stop_on_signals\n"
        "stop_on_signals()\n"
        "a = np.ones((1500, 1500))\n"
        "with deferred_stops():\n"
        "    for _ in range(40):\n"
        "        a @ a\n"
        "    print('the block finished', flush=True)\n"
        "print('never')\n"
    )
    for _ in range(3):  # where the pair lands varies: the old count stopped two runs in three at once
        done = subprocess.run(
            ["timeout", "-s", "TERM", "0.5", sys.executable, "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 124 and done.stdout == "the block finished\n", (done.stdout, done.stderr)


# no temporary file outlives a crash; every file is written whole


def test_the_temporary_names_are_atomic_paths_own_and_nothing_else(tmp_path):
    names = {}
    for target in ("checkpoint.npz", "confusion_matrix.png", "wandb_run_id", "history.json", "a.b.csv"):
        with atomic_path(tmp_path / target) as temporary:
            temporary.write_bytes(b"")
            names[target] = temporary.name
            assert is_temporary(temporary.name), temporary.name
    others = [".gitignore", ".DS_Store", "checkpoint.npz", ".checkpoint.npz.bak", ".x.ABCDEFGH",
              ".history.json.abcdefgh.npz", "notes.abcdefgh.txt", ".wandb"]  # fmt: skip
    assert not [name for name in others if is_temporary(name)]
    left = tmp_path / "run"
    (left / "sub").mkdir(parents=True)
    for name in [*names.values(), *others]:
        (left / name).write_bytes(b"x")
        (left / "sub" / name).write_bytes(b"x")  # another folder's: not this run's to remove
    removed = remove_temporaries(left)
    assert sorted(p.name for p in removed) == sorted(names.values())
    assert sorted(p.name for p in left.iterdir()) == sorted(["sub", *others])
    assert len(list((left / "sub").iterdir())) == len(names) + len(others)


@pytest.mark.slow
def test_temporaries_a_killed_process_left_are_removed_when_its_run_resumes(big_test_set, tmp_path):
    """kill -9 while the run writes its checkpoint (26 MB): the temporary file stays; the resumed run
    removes it, and only the temporary files of its own folder."""
    args = ["--data_dir", big_test_set, "-e", "60", "-nhl", "1", "-sz", "2048", "--output_dir", "out"]
    folder, left = None, []
    for _ in range(5):  # the kill may come just after the file was renamed: then once more, resumed
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "train.py"), *map(str, args)],
            cwd=tmp_path, env=env_for(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: os.nice(10),  # this test's own polling first: it must see the file being written
        )  # fmt: skip
        try:
            while process.poll() is None and not (folder and writing_a_checkpoint(folder)):
                folder = folder or next((tmp_path / "out").glob("hl_*"), None)  # the run folder, by its name
            process.kill()
        finally:
            process.kill()
            process.wait()
        assert process.returncode == -signal.SIGKILL and folder is not None
        left = temporaries(folder)
        if left:
            break
        args = ["--resume", folder]
    assert left and (folder / "checkpoint.npz").is_file(), dotfiles(folder)
    (folder / ".confusion_matrix.png.abcd_123.png").write_bytes(b"")  # as a kill -9 in savefig leaves one
    (folder / ".notes").write_text("mine")
    (folder / "figures").mkdir()
    (folder / "figures" / ".curves.png.abcd_123.png").write_bytes(b"")
    resumed = train(["--resume", folder, "-e", "1"], tmp_path)  # nothing to train: it only opens the folder
    assert resumed.returncode == 0, resumed.stderr
    assert dotfiles(folder) == [".notes"], left
    assert (folder / "figures" / ".curves.png.abcd_123.png").is_file()


def temporaries(folder: Path) -> list[str]:
    return [entry.name for entry in os.scandir(folder) if is_temporary(entry.name)]


def writing_a_checkpoint(folder: Path) -> bool:
    """Whether the run in ``folder`` is writing a checkpoint beside the one it has (it can be resumed)."""
    names = [entry.name for entry in os.scandir(folder)]
    return "checkpoint.npz" in names and any(name.startswith(".checkpoint.npz.") for name in names)


def batch_rows(folder: Path) -> list[dict]:
    with open(folder / "batch_loss.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_a_run_stopped_within_an_epoch_and_resumed_logs_each_batch_once(tmp_path):
    """1,800 training images, one per batch, every batch logged: SIGTERM in the middle of epoch 3 (its rows
    so far are written with the summary), then the run resumed from its last checkpoint: batch_loss.csv
    holds rows 1 ... 6 x 1,800, each once, the earlier ones as they were."""
    data = make_idx_folder(tmp_path / "data" / "fashion-mnist", n_train=2000, n_test=50).parent
    process = start(["--data_dir", data, "-e", "6", "-nhl", "1", "-sz", "8", "-b", "1", "--log_every", "1",
                     "--output_dir", "out"], tmp_path)  # fmt: skip
    history = None
    while process.poll() is None and history is None:
        found = list((tmp_path / "out").glob("*/history.json"))
        if found and len(json.loads(found[0].read_text())) >= 2:
            history = found[0]
        time.sleep(0.01)
    time.sleep(0.3)  # an epoch takes about 1 s
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 143 and history is not None, err
    folder, per_epoch = history.parent, 1800
    stopped = batch_rows(folder)
    resumed = train(["--resume", folder], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    match = re.search(r"after epoch (\d+)", resumed.stdout)
    assert match, resumed.stdout
    done = int(match[1])  # the checkpoint's epoch
    assert len(stopped) > per_epoch * done  # it stopped within an epoch: the rows of that epoch were written
    rows = batch_rows(folder)
    assert [int(row["batch"]) for row in rows] == list(range(1, 6 * per_epoch + 1))
    assert rows[: per_epoch * done] == stopped[: per_epoch * done]
    assert [int(row["epoch"]) for row in rows[::per_epoch]] == list(range(1, 7))


def test_batch_rows_replace_their_file_whole_and_at_most_every_few_seconds(tmp_path):
    local = LocalRun(tmp_path, "run", {})
    path = local.folder / "batch_loss.csv"
    local.log_scalars("batch_loss", {"batch": 1, "epoch": 1, "batch_loss": 0.5}, step="batch")
    assert path.read_bytes() == b"batch,epoch,batch_loss\r\n1,1,0.5\r\n"  # the first row at once (csv's line ends)
    os.link(path, tmp_path / "seen")  # an appending writer would change this inode too
    for batch in range(2, 1001):
        local.log_scalars("batch_loss", {"batch": batch, "epoch": 1, "batch_loss": 1 / batch}, step="batch")
    assert FLUSH_SECONDS >= 1 and len(batch_rows(local.folder)) == 1  # not rewritten at every row
    local.on_epoch_end(1, {"epoch": 1})
    rows = batch_rows(local.folder)
    assert [int(row["batch"]) for row in rows] == list(range(1, 1001)) and float(rows[-1]["batch_loss"]) == 1 / 1000
    assert (tmp_path / "seen").read_bytes() == b"batch,epoch,batch_loss\r\n1,1,0.5\r\n"
    local.log_scalars("pretraining", {"pretrain_epoch": 1, "loss/0": 0.3}, step="pretrain_epoch")
    local.log_scalars("pretraining", {"pretrain_epoch": 1, "loss/1": 0.2}, step="pretrain_epoch")  # a new column
    local.write_summary({"status": "finished"})
    assert (local.folder / "pretraining.csv").read_bytes() == b"pretrain_epoch,loss/0,loss/1\r\n1,0.3,\r\n1,,0.2\r\n"
    assert not dotfiles(local.folder)


def test_the_sweep_report_replaces_its_files_and_never_rewrites_them_in_place(tmp_path):
    from sweeping import report
    from tests.test_sweep_report import mixed_trials, spec_of

    study = optuna.create_study(direction="maximize")
    study.add_trials(mixed_trials())
    spec = spec_of()
    folder = tmp_path / "sweep"
    folder.mkdir()
    (tmp_path / "before").write_text("the previous report\n")
    for name in ("trials.csv", "best.json", "report.md", "importance.csv"):
        os.link(tmp_path / "before", folder / name)  # a writer in place would change "before" too
    report.write(study, spec, {}, folder, lambda line: None)
    trials = study.get_trials(deepcopy=False)
    (folder / "importance.csv").unlink()  # report.write removes it before writing it: try its writer alone
    os.link(tmp_path / "before", folder / "importance.csv")
    assert report._importances(study, spec, spec.varying, trials, folder)
    assert (tmp_path / "before").read_text() == "the previous report\n"
    with open(folder / "trials.csv", newline="") as handle:
        assert [row["number"] for row in csv.DictReader(handle)] == [str(t.number) for t in trials]
    assert (folder / "importance.csv").read_text().startswith("parameter,importance,correlation_with_metric\n")
    assert json.loads((folder / "best.json").read_text())["trial"] == 7
    assert (folder / "report.md").read_text().startswith("# Sweep synthetic")
    assert not dotfiles(folder)


def test_a_stop_that_lands_as_the_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch):
    """SIGTERM raises wherever Python code runs; here it lands right after the temporary file is made
    (simulated in the os.close that follows): the file is removed, the target untouched."""
    import nn.files

    real_close, calls = os.close, []

    def interrupted_close(descriptor):
        real_close(descriptor)
        calls.append(descriptor)
        if len(calls) == 1:
            raise Terminated

    monkeypatch.setattr(nn.files.os, "close", interrupted_close)
    with pytest.raises(Terminated), atomic_path(tmp_path / "history.csv") as temporary:
        temporary.write_text("never")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(tmp_path / "history.csv") as temporary:  # the next write is whole, under a fresh name
        temporary.write_text("epoch\n1\n")
    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]
    assert (tmp_path / "history.csv").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
