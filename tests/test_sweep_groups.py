"""What an offline sweep hands on: its trials' W&B group, the commands it prints, and the one-line
errors of a sweep file it refuses.

* a trial's W&B group is its study's name: ``--study quick_try`` gives the group ``quick_try``, never
  the real sweep's (whose runs ``sweep.py wandb-report`` shows);
* every command the end of a sweep prints (and ``report.md`` and ``top.json`` keep) carries the
  ``--data_dir`` the sweep ran with;
* an unknown key names the closest train.py option, a value train.py refuses names the file and the
  key: one line, exit 2.

Fast tier: the sweep runs in this process (``sweeping.worker.work``, the whole of ``sweep.py`` but its
command line) with every trial's run replaced by a stub that records what the objective passes it.
"""

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from sweeping import objective
from sweeping.worker import work
from tests.test_sweeps import write_sweep

LEARNING_RATES = [0.01, 0.001, 0.1]  # the stub's val_accuracy falls in this order: rank 1, 2, 3


@pytest.fixture
def stub_runs(tmp_path, monkeypatch):
    """Every trial's run replaced: ``calls`` collects what the objective passes to it."""
    calls = []

    def fake_run(config, **kwargs):
        calls.append({"config": config.flat(), **kwargs})
        value = 0.9 - LEARNING_RATES.index(config.flat()["learning_rate"]) / 10
        return SimpleNamespace(status="finished", summary={"val_accuracy": value}, folder=tmp_path, message="")

    monkeypatch.setattr(objective, "run", fake_run)
    monkeypatch.setattr(objective.DataCache, "get", lambda self, config: None)
    monkeypatch.delenv("FFNN_SWEEP_STORAGE", raising=False)
    monkeypatch.delenv("FFNN_DATA_DIR", raising=False)
    return calls


def sweep(tmp_path, *, study_name=None, data_dir=None, name="small") -> list[str]:
    """A three-point grid of the sweep ``name`` run to the end; the lines it said."""
    path = write_sweep(
        tmp_path / f"{name}.yaml",
        name=name,
        parameters={
            "dataset": {"value": "digits"},
            "epochs": {"value": 1},
            "learning_rate": {"values": LEARNING_RATES},
        },
    )
    said: list[str] = []
    code = work(
        path,
        count=None,
        storage=None,
        study_name=study_name,
        data_dir=data_dir,
        output_dir=str(tmp_path / "out"),
        wandb_mode="disabled",
        overrides=(),
        from_sweep=None,
        seed=0,
        heartbeat=30,
        say=said.append,
    )
    assert code == 0
    return "\n".join(said).splitlines()


# --- the W&B group -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("study_name", "group"), [(None, "small"), ("quick_try", "quick_try")])
def test_a_trials_wandb_group_is_its_studys_name(tmp_path, stub_runs, study_name, group):
    sweep(tmp_path, study_name=study_name)
    assert len(stub_runs) == 3
    assert {call["group"] for call in stub_runs} == {group}
    assert {tuple(call["tags"]) for call in stub_runs} == {("sweep", "small")}  # the tags keep the sweep's name


def test_a_quick_try_and_the_sweep_are_two_groups(tmp_path, stub_runs):
    sweep(tmp_path, study_name="quick_try")  # the same file, output folder and database
    sweep(tmp_path)
    assert [call["group"] for call in stub_runs] == ["quick_try"] * 3 + ["small"] * 3


# --- the printed commands ----------------------------------------------------------------------------


def test_every_printed_command_carries_the_sweeps_data_dir(tmp_path, stub_runs):
    data = tmp_path / "my data"  # a space: the commands quote it
    data.mkdir()
    lines = sweep(tmp_path, data_dir=str(data))
    folder = tmp_path / "out" / "small"
    flag = f"--data_dir '{data}'"
    best = lines.index(next(line for line in lines if line.startswith("best: ")))
    printed = [lines[best + 1], *[line for line in lines if line.startswith("rank ")]]
    assert len(printed) == 3 and printed[0].startswith("python train.py ")
    assert all(flag in line for line in printed), printed
    assert f"--from_sweep {folder} --rank 2 {flag}" in printed[1]
    top = json.loads((folder / "top.json").read_text())["configurations"]
    assert all(flag in entry["command"] and flag in entry["from_sweep_command"] for entry in top)
    commands = [line.strip() for line in (folder / "report.md").read_text().splitlines() if "train.py" in line]
    assert len(commands) == 6 and all(flag in command for command in commands), commands


def test_without_data_dir_the_commands_name_none(tmp_path, stub_runs):
    lines = sweep(tmp_path)
    rank_lines = [line for line in lines if line.startswith("rank ")]
    assert len(rank_lines) == 2 and not any("--data_dir" in line for line in rank_lines)
    assert rank_lines[0].endswith(f"--from_sweep {tmp_path / 'out' / 'small'} --rank 2")


# --- a sweep file sweep.py refuses ---------------------------------------------------------------------


def refused(tmp_path, parameters: dict, *args: str) -> str:
    """The one line ``sweep.py`` ends with for a sweep file of ``parameters``, exit 2, no traceback."""
    import sweep as sweep_command

    path = write_sweep(tmp_path / "typo.yaml", parameters={"epochs": {"value": 1}, **parameters})
    out = str(tmp_path / "out")
    result = CliRunner().invoke(sweep_command.cli, [str(path), "--output_dir", out, "--wandb_mode", "disabled", *args])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # click's exit, not a crash
    if not args:  # the file is at fault: the line names it
        assert str(path) in lines[0], lines[0]
    return lines[0]


def test_an_unknown_key_names_the_closest_option(tmp_path):
    line = refused(tmp_path, {"activaton": {"values": ["ReLU", "tanh"]}})
    assert "parameters.activaton is not a train.py option (did you mean 'activation'?)" in line


def test_several_unknown_keys_are_named_each_with_its_closest_option(tmp_path):
    line = refused(tmp_path, {"activaton": {"value": "tanh"}, "lerning_rate": {"value": 0.1}, "zzzz": {"value": 1}})
    assert "parameters.activaton is not a train.py option (did you mean 'activation'?)" in line
    assert "parameters.lerning_rate is not a train.py option (did you mean 'learning_rate'?)" in line
    assert "parameters.zzzz is not a train.py option" in line and "zzzz is not a train.py option (" not in line


@pytest.mark.parametrize(
    ("parameters", "words"),
    [
        ({"activation": {"values": ["relu6", "tanh"]}}, ["parameters.activation: 'relu6' is not one of"]),
        ({"batch_size": {"value": "many"}}, ["parameters.batch_size: 'many'"]),
    ],
)
def test_a_value_train_py_refuses_names_the_file_and_the_key(tmp_path, parameters, words):
    line = refused(tmp_path, parameters)
    for word in words:
        assert word in line, line


def test_an_unknown_set_key_names_the_closest_option(tmp_path):
    line = refused(tmp_path, {}, "--set", "activaton=tanh")
    assert "--set" in line and "did you mean 'activation'?" in line


# --- a database that stops answering mid-sweep ------------------------------------------------------


def test_a_database_lost_mid_sweep_is_one_line_and_keeps_what_it_recorded(tmp_path, stub_runs, monkeypatch):
    """Optuna, handling a lost connection, raises another error of its own (UnboundLocalError in its trial
    bookkeeping); the database error in the chain is what the user reads, password masked, exit 1."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from experiments.errors import EXIT_FAULT, Fault, one_line
    from sweeping import engine

    def lost(*args, **kwargs):
        try:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly\nmore"))
        except OperationalError:
            raise UnboundLocalError("cannot access local variable 'updated_state'")  # noqa: B904 - as Optuna does

    monkeypatch.setattr(engine, "optimize", lost)
    with pytest.raises(Fault) as caught:
        sweep(tmp_path)
    message, code = one_line(caught.value)
    assert code == EXIT_FAULT and "\n" not in message
    assert message == (
        "the sweep's database stopped answering (server closed the connection unexpectedly); the trials it "
        "recorded are kept: run the same command again to go on"
    )
    for other, name in ((ZeroDivisionError, "other"), (IntegrityError, "schema")):
        error = other("x") if other is ZeroDivisionError else other("INSERT", {}, Exception("duplicate key"))
        monkeypatch.setattr(engine, "optimize", lambda *a, error=error, **k: (_ for _ in ()).throw(error))
        with pytest.raises(other):  # a bug, or a database error that running again would not mend: traceback
            sweep(tmp_path, name=name)


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("postgres://ann:s3cret@localhost/sweeps", "; SQLAlchemy spells the scheme postgresql://"),
        ("out/sweeps.db", "; a database file is given as sqlite:///out/sweeps.db"),
    ],
)
def test_the_usual_misspellings_of_a_storage_url_get_their_fix(given, hint, tmp_path):
    from experiments.errors import ConfigError
    from sweeping import spec as specs
    from sweeping.storage import open_study

    spec, _ = specs.load(write_sweep(tmp_path / "s.yaml", name="s", parameters={"epochs": {"values": [1, 2]}}))
    with pytest.raises(ConfigError) as caught:
        open_study(spec, "s", given, tmp_path, 0)
    assert str(caught.value).endswith(hint) and "s3cret" not in str(caught.value), caught.value


def test_an_error_raised_from_none_is_not_taken_for_a_lost_connection():
    """A ConfigError raised ``from None`` while opening the database (a bad URL: exit 2) stays itself."""
    from sqlalchemy.exc import OperationalError

    from experiments.errors import ConfigError
    from sweeping.worker import connection_lost_in

    try:
        try:
            raise OperationalError("connect", {}, Exception("could not translate host name"))
        except OperationalError:
            raise ConfigError("--storage ...: cannot open the study database") from None
    except ConfigError as error:
        assert connection_lost_in(error) is None
        assert isinstance(connection_lost_in(error.__context__), OperationalError)
