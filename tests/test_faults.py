"""Bad input and faults: one line, the right exit code, never a traceback; nothing computed is lost."""

import json
import os
import random
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import train
from experiments import config as configuration
from experiments.options import FiniteFloat, field_type
from tests.conftest import ROOT
from tests.test_cli import run_cli

FLOAT_OPTIONS = [name for name, (_, field) in configuration.FIELDS.items() if field.type in ("float", float)]
SHORT = {"learning_rate": "-lr", "momentum": "-m", "beta1": "-beta1", "epsilon": "-eps", "weight_decay": "-w_d"}


def one_line_error(result, code=2):
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == code, result.output
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return lines[0]


def test_every_float_option_is_checked():
    """Every option declared a float, whichever section (core or plugin) declares it, takes the finite-float
    type; the NaN test below then tries each of them, chosen by the declaration, not by the type."""
    unchecked = [
        name for name in FLOAT_OPTIONS if not isinstance(field_type(configuration.FIELDS[name][1]), FiniteFloat)
    ]
    assert not unchecked, unchecked
    assert {
        "elastic",
        "elastic_sigma",
        "learning_rate",
        "momentum",
        "beta",
        "beta1",
        "beta2",
        "epsilon",
        "weight_decay",
        "l1",
        "min_delta",
        "dropout",
        "val_fraction",
    } <= set(FLOAT_OPTIONS)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
@pytest.mark.parametrize("name", FLOAT_OPTIONS)
def test_float_options_reject_nan_and_inf(name, value):
    line = one_line_error(CliRunner().invoke(train.cli, [f"--{name}", value]))
    assert name in line
    if name in SHORT:
        one_line_error(CliRunner().invoke(train.cli, [SHORT[name], value]))
    with pytest.raises(click.BadParameter):  # the same check for sweep files, presets and W&B's config
        configuration.convert(name, value)


@pytest.mark.parametrize("setting", ["momentum=nan", "learning_rate=inf", "dropout=-inf"])
def test_sweep_set_rejects_nan_and_inf(setting, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "sweep.py"),
            str(ROOT / "sweep.yaml"),
            "--set",
            setting,
            "--output_dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and setting.split("=")[0] in result.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["-d", "digits", "-o", "adam", "-eps", "0"], "epsilon"),
        (["-d", "digits", "-o", "rmsprop", "--epsilon", "0"], "epsilon"),
        (["-d", "digits", "--val_fraction", "0.0001"], "val_fraction|validation fraction"),
        (["-d", "digits", "-sz", "100000", "-nhl", "5"], "GiB"),
        (["-d", "digits", "-l", "squared_error"], "regression"),
    ],
)
def test_configurations_that_cannot_run_exit_2_before_starting(args, words, tmp_path):
    result = run_cli([*args, "--wandb_mode", "offline", "--output_dir", "out"], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    import re

    assert re.search(words, lines[0]), lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing started
    assert not (tmp_path / "wandb").exists()


@pytest.mark.slow
def test_epsilon_zero_is_fine_where_nothing_divides_by_it(tmp_path):
    result = run_cli(
        ["-d", "digits", "-e", "1", "-o", "momentum", "-eps", "0", "--wandb_mode", "disabled", "--output_dir", "out"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("tiny:\n  epochs: 1\nbroken: [1, 2\n  epochs: 3\n", ", line 4: not valid YAML: expected ',' or ']'"),
        ("tiny:\n  epochs: 1\n\tseed: 2\n", ", line 3: not valid YAML: found character '\\t'"),
        ("tiny: 1\n", ": must map each preset's name to a mapping of its options"),
    ],
    ids=["unclosed bracket", "tab", "not a mapping"],
)
def test_a_presets_file_that_cannot_be_read_is_one_line_with_its_line(text, words, tmp_path, monkeypatch):
    """Was: yaml's 73-line traceback (or a TypeError's), exit 1."""
    from experiments import presets

    path = tmp_path / "presets.yaml"
    path.write_text(text)
    monkeypatch.setattr(presets, "PRESETS_FILE", path)
    result = CliRunner().invoke(train.cli, ["--preset", "tiny", "--wandb_mode", "disabled", "-o", "sgd"])
    assert one_line_error(result).startswith(f"Error: {path}{words}"), result.output


def test_unwritable_output_folder_is_one_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = run_cli(["-d", "digits", "--wandb_mode", "disabled", "--output_dir", str(blocker / "out")], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--output_dir" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    sweep = subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), str(ROOT / "sweep.yaml"), "--output_dir", str(blocker / "sweeps")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sweep.returncode == 2 and "Traceback" not in sweep.stderr and "--output_dir" in sweep.stderr


def _closed_pipe():
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line: every write meets EPIPE
    return write


STDOUTS = {  # standard output a user's shell may hand over, and what stderr says of it
    "closed pipe (| head -1)": (_closed_pipe, ""),
    "full device (> /dev/full)": (lambda: os.open("/dev/full", os.O_WRONLY), "warning: standard output cannot"),
    "no stdout (>&-)": (None, ""),
    "ASCII terminal": (subprocess.PIPE, ""),
}


@pytest.mark.slow
@pytest.mark.parametrize("stdout", STDOUTS)
@pytest.mark.parametrize("script", ["train.py", "evaluate.py"])
def test_standard_output_that_cannot_be_written_loses_nothing(script, stdout, tmp_path):
    """Standard output that is gone, full, absent or cannot encode the output's non-ASCII characters
    (a folder named ``données``, evaluate's ``R²``): the run still finishes, exit 0, its folder complete;
    evaluate.py still scores, exit 0. Only a failure other than a gone reader says so, once."""
    opened, said = STDOUTS[stdout]
    out = tmp_path / "données"
    if script == "evaluate.py":
        args = ["-d", "diabetes", "-l", "mean_squared_error", "-e", "1", "-nhl", "1", "-sz", "8", "--save_model"]
        args += ["--wandb_mode", "disabled"]
        assert run_cli([*args, "--output_dir", "o"], tmp_path).returncode == 0
        (model,) = (tmp_path / "o").glob("*/model.npz")
        command = [str(ROOT / script), str(model), "--output_dir", str(out)]
    else:
        command = [str(ROOT / script), "-d", "digits", "-e", "2", "-nhl", "1", "-sz", "8", "--wandb_mode", "disabled"]
        command += ["--output_dir", str(out)]
    handle = opened() if callable(opened) else opened
    environment = {**os.environ, "PYTHONIOENCODING": "ascii"} if stdout == "ASCII terminal" else None
    kept = {"pass_fds": ()} if handle is not None else {"preexec_fn": lambda: os.close(1)}
    try:
        done = subprocess.run(
            [sys.executable, *command],
            cwd=tmp_path,
            stdout=handle if handle is not None else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            env=environment,
            **kept,
        )
    finally:
        if isinstance(handle, int) and handle > 2:
            os.close(handle)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(said) and len(done.stderr.splitlines()) == (1 if said else 0), done.stderr
    if script == "train.py":
        (folder,) = out.iterdir()
        assert json.loads((folder / "summary.json").read_text())["status"] == "finished"
        assert len((folder / "history.csv").read_text().splitlines()) == 3
    if stdout == "ASCII terminal":  # every line written, the non-ASCII ones included
        assert ("R²" if script == "evaluate.py" else "données") in done.stdout, done.stdout


def test_missing_data_folder_says_so(tmp_path):
    result = run_cli(["--data_dir", str(tmp_path / "nowhere"), "--wandb_mode", "disabled"], tmp_path)
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    result = run_cli(["--wandb_mode", "disabled"], tmp_path, FFNN_DATA_DIR=str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "FFNN_DATA_DIR" in result.stderr and "no such folder" in result.stderr


@pytest.mark.slow
def test_a_finite_blow_up_is_divergence_not_success(tmp_path):
    """-lr 100 with SGD: the loss leaves any sane range long before it is NaN; the run must fail."""
    result = run_cli(
        [
            "-d",
            "digits",
            "-e",
            "3",
            "-o",
            "sgd",
            "-lr",
            "100",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "out",
            "--save_model",
        ],
        tmp_path,
    )
    assert result.returncode == 1, result.stdout
    assert "diverged" in result.stderr and "Traceback" not in result.stderr
    folder = next((tmp_path / "out").iterdir())
    assert json.loads((folder / "summary.json").read_text())["status"] == "diverged"


def test_the_divergence_rule_leaves_healthy_training_alone(blobs):
    """A normal run, even with a large but sane learning rate, never trips the 100x bound."""
    import nn
    import optimizers
    from tests.conftest import fit_arrays

    (x, y), validation = blobs
    model = nn.mlp([20, 16, 3], activation="ReLU", weight_init="Xavier")
    history = fit_arrays(
        model, optimizers.make("sgd", learning_rate=1.0), x, y, epochs=5, batch_size=16, validation_data=validation
    )
    assert len(history) == 5


def random_bad_argv(rng: random.Random) -> list[str]:
    """A command line with at least one invalid value or flag, and otherwise random valid pieces."""
    bad = [
        ["-e", rng.choice(["0", "-1", "x", "1.5", ""])],
        ["-b", rng.choice(["0", "-4", "b"])],
        ["-lr", rng.choice(["0", "-1", "nan", "inf", "1e999", "lr"])],
        ["-m", rng.choice(["1", "1.5", "nan"])],
        ["-beta", rng.choice(["-0.1", "2"])],
        ["-beta1", rng.choice(["1.0", "inf"])],
        ["-eps", rng.choice(["-1", "nan"])],
        ["-w_d", rng.choice(["-0.1", "nan", "inf"])],
        ["-w_i", rng.choice(["glorot", "", "xavierr"])],
        ["-nhl", rng.choice(["-1", "two"])],
        ["-sz", rng.choice(["0", "-5", "x"])],
        ["-a", rng.choice(["relu6", "softmax", ""])],
        ["-o", rng.choice(["adamax", "ADAMX", ""])],
        ["-l", rng.choice(["hinge", "mse"])],
        ["-d", rng.choice(["cifar100", "MNIST2"])],
        ["--val_fraction", rng.choice(["1", "-0.1", "nan"])],
        ["--dropout", rng.choice(["1", "nan", "-0.5"])],
        ["--save_model", rng.choice(["maybe", "2"])],
        ["--norm", rng.choice(["group", "instance"])],
        ["--scaling", rng.choice(["log", ""])],
        ["--patience", rng.choice(["-1", "p"])],
        ["--dtype", rng.choice(["float16", "int"])],
        ["--data_dir", "/nonexistent/folder"],
        ["--preset", "no_such_preset"],
        ["--no_such_flag", "1"],
        ["-lr"],
        ["--seed", "zero"],
    ]
    good = [
        ["-e", "1"],
        ["-b", "32"],
        ["-lr", "0.01"],
        ["-o", "nadam"],
        ["-a", "tanh"],
        ["-w_i", "He"],
        ["-nhl", "2"],
        ["-sz", "16"],
        ["--dropout", "0.1"],
        ["--norm", "batch"],
        ["-d", "digits"],
    ]
    argv = [piece for part in rng.sample(good, rng.randint(0, 4)) for piece in part]
    for part in rng.sample(bad, rng.randint(1, 3)):
        argv += part
    return argv


def test_a_fuzz_of_invalid_command_lines_never_gives_a_traceback():
    rng = random.Random(2026)
    runner = CliRunner()
    for _ in range(300):
        argv = random_bad_argv(rng)
        result = runner.invoke(train.cli, argv)
        assert result.exit_code == 2, (argv, result.output, result.exception)
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit), argv
        assert result.output.startswith("Error:"), (argv, result.output)


FINALIZER_STOP = """
import os, signal, sys, time, weakref
sys.path.insert(0, {root!r})
from experiments.errors import Terminated
from experiments.session import stop_on_signals

stop_on_signals()


def stop_and_linger(*_):
    os.kill(os.getpid(), signal.{signal})
    for _ in range(100_000):  # the handler runs here, inside the finalizer
        pass


class ClosedByTheCollector:
    __del__ = stop_and_linger


class Referent:
    pass


try:
    if {in_callback}:  # a weakref callback, as WeakKeyDictionary's removal is
        referent = Referent()
        reference = weakref.ref(referent, stop_and_linger)
        del referent
    else:
        ClosedByTheCollector()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pass
    print("the stop was lost")
except Terminated:
    print("stopped by SIGTERM")
except KeyboardInterrupt:
    print("interrupted")
"""


@pytest.mark.parametrize("in_callback", [False, True], ids=["__del__", "weakref_callback"])
@pytest.mark.parametrize(("name", "expected"), [("SIGTERM", "stopped by SIGTERM"), ("SIGINT", "interrupted")])
def test_a_stop_that_lands_in_a_finalizer_is_raised_after_it(name, expected, in_callback):
    """An exception raised in a ``__del__`` or a weakref callback is printed and dropped by Python; the
    stop is delivered once the finalizer has returned instead of being lost (CI saw a temporary file's
    ``__del__`` and a ``WeakKeyDictionary``'s removal callback swallow it)."""
    script = FINALIZER_STOP.format(root=str(ROOT), signal=name, in_callback=in_callback)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == expected, (done.stdout, done.stderr)
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_signal_handlers_and_the_unraisable_hook_can_be_put_back():
    import signal

    from experiments.session import stop_on_signals

    before = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)], sys.unraisablehook
    restore = stop_on_signals()
    assert sys.unraisablehook is not before[1] and signal.getsignal(signal.SIGTERM) is not before[0][0]
    restore()
    assert (
        [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)],
        sys.unraisablehook,
    ) == before


@pytest.mark.parametrize(
    ("given", "meant"), [("fashion-mnist", "fashion_mnist"), ("mnst", "mnist"), ("cifar", "cifar10")]
)
def test_a_misspelt_data_set_is_one_line_naming_the_closest(given, meant, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no folder of that name here
    line = one_line_error(CliRunner().invoke(train.cli, ["-d", given, "--wandb_mode", "disabled"]))
    assert line.endswith(f"Did you mean '{meant}'?"), line


def test_a_folder_of_idx_files_given_as_the_data_set_says_how_to_name_it(tmp_path, monkeypatch):
    from tests.conftest import make_idx_folder

    folder = make_idx_folder(tmp_path / "fashion-mnist")
    monkeypatch.chdir(tmp_path)
    line = one_line_error(CliRunner().invoke(train.cli, ["-d", "fashion-mnist", "--wandb_mode", "disabled", "-e", "1"]))
    assert "Did you mean" not in line  # a folder of that name exists: it is taken as one
    assert f"{folder.name}: holds the IDX files of MNIST or Fashion-MNIST, not image folders" in line, line
    assert f"give -d fashion_mnist or -d mnist with --data_dir {folder.name}" in line, line
    parent = one_line_error(CliRunner().invoke(train.cli, ["-d", ".", "--wandb_mode", "disabled", "-e", "1"]))
    assert "holds the IDX files of MNIST or Fashion-MNIST" in parent  # a folder of such folders too


@pytest.mark.parametrize("path", ["./data/mnist", "data/fashion_mnist", "~/nowhere_at_all"])
def test_a_data_set_path_that_does_not_exist_says_so_without_guessing_a_name(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(CliRunner().invoke(train.cli, ["-d", path, "--wandb_mode", "disabled"]))
    assert line.endswith("no such file or folder.") and "Did you mean" not in line, line
