"""What a run is called and how it is repeated: its name (the network, the optimizer and what differs
from the defaults), a sweep trial's name (what the sweep varies) and the ``train.py`` command line."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

import datasets

from .config import defaults, from_saved
from .options import plain
from .plugins import PLUGINS
from .sections import RunConfig

NAME_PARTS = {  # the short names of run names: the course's short flags where it has them
    "num_layers": "hl",
    "hidden_size": "sz",
    "batch_size": "bs",
    "activation": "ac",
    "optimizer": "o",
    "learning_rate": "lr",
    "weight_decay": "wd",
    "weight_init": "wi",
    "epochs": "ep",
    "loss": "l",
    "dataset": "d",
    "momentum": "m",
    "beta": "beta",
    "beta1": "b1",
    "beta2": "b2",
    "epsilon": "eps",
    "dropout": "do",
    "seed": "seed",
    "val_fraction": "vf",
}
NAMED_WHEN_CHANGED = (
    "weight_decay",
    "weight_init",
    "epochs",
    "momentum",
    "beta",
    "beta1",
    "beta2",
    "epsilon",
    "seed",
    "val_fraction",  # the final model of question 7 trains on all of it: not the default run's twin
    "dtype",
)


def name_part(key: str, value: Any) -> str:
    """``abbreviation_value`` of one option in a run name, e.g. ``wd_0.0005``, ``sz_256-128``: floats
    as ``%g``, lists joined by ``-``, a file by its name; never a path separator."""
    if isinstance(value, (list, tuple)):
        text = "-".join(name_part("", v) for v in value)
    elif isinstance(value, bool) or value is None:
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = datasets.short_name(value) if key == "dataset" else str(value)
    text = text.replace("/", "-").replace("\\", "-")
    return f"{NAME_PARTS.get(key, key)}_{text}" if key else text


def changed_options(config: RunConfig) -> dict[str, Any]:
    """The options whose values differ from the defaults, as ``flat()`` writes them."""
    default = defaults()
    return {key: value for key, value in config.flat().items() if value != plain(default[key])}


def sweep_run_name(config: RunConfig, keys: Iterable[str]) -> str:
    """A sweep trial's name: every option the sweep varies, in the sweep's order, e.g.
    ``hl_3_bs_16_ac_tanh_wd_0.0005_wi_Xavier``; unique within the sweep, since its trials differ in
    these options only."""
    values = config.flat()
    return "_".join(name_part(key, values[key]) for key in keys if key in values) or run_name(config)


def run_name(config: RunConfig, plugins: Iterable[Any] = PLUGINS) -> str:
    """A name that says what the run is, e.g. ``hl_3_sz_128_bs_64_ac_ReLU_o_nadam_lr_0.001``:
    the network and optimizer, then what differs from the defaults among the options that change
    what is trained (weight decay and initialisation, epochs, the optimizer's hyperparameters, the
    seed, the validation fraction, the precision, ...), then each active plugin's part. Options that
    only add outputs (figures, analyses) are not named; a name taken in the output folder gets
    ``-2``, ``-3``, ... (:func:`tracking.local.unique_dir`)."""
    model, training, data = config.model, config.training, config.data
    size = model.hidden_size
    size_text = "-".join(map(str, size)) if isinstance(size, tuple) else str(size)
    network = f"hl_{model.num_layers}_sz_{size_text}_bs_{training.batch_size}_ac_{model.activation}"
    if not model.hidden_sizes() and model.arch == "mlp":  # a perceptron: no hidden size, no activation
        network = f"hl_0_bs_{training.batch_size}"
    name = f"{network}_o_{training.optimizer}_lr_{config.learning_rate:g}"
    if model.arch != "mlp":
        filters = "-".join(map(str, model.conv_filters()))
        name = f"{model.arch}_f_{filters}_k_{model.kernel_size}_p_{model.pool}_" + name
    if model.norm != "none":
        name += f"_{model.norm}norm"
    if config.regularisation.dropout:
        name += f"_do_{config.regularisation.dropout:g}"
    changed = changed_options(config)
    for key in NAMED_WHEN_CHANGED:
        if key in changed:
            name += "_" + name_part(key, changed[key])
    active = [plugin for plugin in plugins if plugin.enabled(config)]

    def parts(slot: str) -> str:
        return "".join(plugin.name_part(config) for plugin in active if plugin.name_slot == slot)

    name += parts("network")
    if data.permute_pixels:
        name += "_scrambled"
    if training.loss != "cross_entropy":
        name += "_mse" if "squared" in training.loss else f"_{training.loss}"
    if data.dataset != "fashion_mnist":
        name += f"_{datasets.short_name(data.dataset)}"
    name += parts("data")
    if training.batch_order != "shuffled":
        name += f"_{training.batch_order}"
    return name + parts("last")


def command_line(config: RunConfig | Mapping[str, Any], swept: Iterable[str]) -> str:
    """``python train.py ...`` that repeats a configuration (or a recorded one): the swept options and
    those that differ from the defaults."""
    config = config if isinstance(config, RunConfig) else from_saved(config)
    changed, swept = changed_options(config), set(swept)
    parts = ["python", "train.py"]
    for key, value in config.flat().items():
        if key in ("wandb_mode", "output_dir", "preset", "from_sweep", "rank") or value is None:
            continue
        if key in swept or key in changed:
            text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts += [f"--{key}", text]
    return shlex.join(parts)
