"""A sweep's name in its trials' W&B tags and in titles: once, also when the name is "sweep" (sweep.yaml's stem).

Fast tier: the trial's run is replaced by a stub that records what the engine passes to it.
"""

from types import SimpleNamespace

import pytest

from sweeping import objective
from sweeping import spec as specs
from sweeping.storage import describe

SPEC = {
    "method": "random",
    "metric": {"name": "val_accuracy", "goal": "maximize"},
    "parameters": {"learning_rate": {"values": [0.01, 0.001]}},
}


@pytest.mark.parametrize(
    "name, tags, title",
    [
        ("sweep", ["sweep"], "sweep"),
        ("Sweep", ["sweep"], "sweep"),
        ("adam_lr", ["sweep", "adam_lr"], "sweep adam_lr"),
        ("sweep_2", ["sweep", "sweep_2"], "sweep sweep_2"),
    ],
)
def test_tags_are_unique_and_titles_name_the_sweep_once(name, tags, title):
    spec, _ = specs.parse(dict(SPEC), name)
    assert spec.tags == tags and len(set(spec.tags)) == len(spec.tags)
    assert spec.title == title and spec.title.lower().split()[:2] != ["sweep", "sweep"]


def test_a_sweep_file_named_sweep_yaml_gives_its_trials_one_sweep_tag(tmp_path, monkeypatch):
    import optuna

    (tmp_path / "sweep.yaml").write_text(
        "method: random\nmetric: {name: val_accuracy, goal: maximize}\nparameters:\n  epochs: {value: 1}\n"
    )
    spec, _ = specs.load(tmp_path / "sweep.yaml")
    assert spec.name == "sweep"
    seen = {}

    def fake_run(config, **kwargs):
        seen.update(kwargs)
        return SimpleNamespace(status="finished", summary={"val_accuracy": 0.5}, folder=tmp_path, message="")

    monkeypatch.setattr(objective, "run", fake_run)
    monkeypatch.setattr(objective.DataCache, "get", lambda self, config: None)
    fixed = {"dataset": "digits", "wandb_mode": "disabled"}
    run_trial = objective.make_objective(
        spec, fixed, objective.DataCache(), lambda line: None, tmp_path, objective.Interrupt()
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", study_name="sweep")  # the W&B group is the study's name
    study.optimize(run_trial, n_trials=1)
    assert study.trials[0].value == 0.5
    assert seen["tags"] == ["sweep"] and seen["group"] == "sweep"
    (first, _) = describe(spec, "sweep", study, "sqlite:///x.db")
    assert first.startswith("sweep: ") and "sweep sweep" not in first


def test_a_capitalised_title_keeps_the_name_as_written():
    """Titles start a sentence with "Sweep"; the name's own capitals stay (str.capitalize would lower them)."""
    from sweeping import spec as specs

    assert specs.title("MNIST_top3", capital=True) == "Sweep MNIST_top3"
    assert specs.title("Sweep", capital=True) == "Sweep"
    assert specs.title("adam_lr") == "sweep adam_lr"
