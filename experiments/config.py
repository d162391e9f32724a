"""A run's configuration: typed sections, parsed from flat keys in one place.

A configuration is a :class:`RunConfig`: one frozen dataclass per concern
(:class:`TrackingConfig`, :class:`DataConfig`, :class:`ModelConfig`,
:class:`TrainingConfig`, the optimizer's hyperparameters, :class:`RegularisationConfig`)
and one per study plugin (declared by the plugin, :mod:`experiments.plugins`).
Code reads fields (``config.model.num_layers``, ``config.get(ScheduleConfig).lr_schedule``);
only this module turns flat ``name -> value`` mappings into sections and back.

The flat names are what users type and never change: the assignment's
flags, the 2026 aliases, the sweep files' keys, the keys of W&B's config,
``config.json`` and a saved model's metadata. Every value, wherever it comes
from, is converted and checked by its field's type (:func:`convert`).

The defaults are the best configuration of the assignment's sweep (README
"Results"), except the optimizer hyperparameters, whose defaults are the
optimizers' own (each optimizer's ``Hyperparameters`` dataclass): each
default exists once.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

import datasets
import nn
import optimizers
from nn import losses

from .options import (
    NON_NEGATIVE,
    UNIT,
    Choice,
    DatasetName,
    FiniteFloat,
    Sizes,
    convert_value,
    field_type,
    flags,
    option,
    plain,
)
from .plugins import PLUGINS

PRESETS_FILE = Path(__file__).resolve().parents[1] / "presets.yaml"
WANDB_MODES = ("auto", "online", "offline", "disabled")
ARCHITECTURES = ("mlp", "cnn", "localnet")
LOSS_NAMES = list(dict.fromkeys(name for task in losses.TASKS for name in losses.names_for(task)))
ASSIGNMENT_HYPERPARAMETERS = ("learning_rate", "momentum", "beta", "beta1", "beta2", "epsilon")
S = TypeVar("S")


@dataclasses.dataclass(frozen=True)
class TrackingConfig:
    title = "Tracking and output"
    wandb_project: str = option(
        "da6401-assignment1", "-wp", "--wandb_project", help="W&B project the run is logged to.", assignment=True
    )
    wandb_entity: str | None = option(
        None,
        "-we",
        "--wandb_entity",
        type=click.STRING,
        help="W&B entity (user or team); default: your default entity.",
        assignment=True,
    )
    wandb_mode: str = option(
        "auto",
        "--wandb_mode",
        "--wandb-mode",
        type=Choice(WANDB_MODES),
        help="auto: online if you are logged in and W&B answers, otherwise offline (./wandb).",
    )
    output_dir: str = option(
        "outputs",
        "--output_dir",
        "--output-dir",
        type=click.Path(file_okay=False),
        help="Where local results go (one sub-folder per run).",
    )
    save_model: bool = option(
        False,
        "--save_model",
        "--save-model",
        help="Save the trained model as model.npz in the run folder (also --save_model=True).",
    )
    preset: str | None = option(
        None,
        "--preset",
        type=click.STRING,
        help="A named configuration from presets.yaml (e.g. fmnist_top1, the sweep's best); "
        "flags given explicitly override its values.",
    )
    from_sweep: str | None = option(
        None,
        "--from_sweep",
        "--from-sweep",
        type=click.Path(file_okay=False),
        help="Train a configuration of a sweep: SWEEP_DIR is the sweep's folder (OUTPUT_DIR/<study>, as "
        "sweep.py writes it, with top.json), --rank picks the trial. Every option is the trial's (but where "
        "data and results go); --preset and flags given explicitly override them.",
    )
    rank: int = option(
        1,
        "--rank",
        type=click.IntRange(min=1),
        help="With --from_sweep: the trial's place among the sweep's complete trials, ranked by its metric "
        "(1: the best; see the sweep's report.md).",
    )


@dataclasses.dataclass(frozen=True)
class DataConfig:
    title = "Data"
    dataset: str = option(
        "fashion_mnist",
        "-d",
        "--dataset",
        type=DatasetName(datasets.names()),
        help="Data set: "
        + "; ".join(f"{name}: {info.description}" for name, info in datasets.DATASETS.items())
        + "; or your own file: a .csv with a header row (give --target) or a .npz with arrays x and y "
        "(optionally x_test, y_test, class_names).",
        assignment=True,
    )
    target: str | None = option(
        None,
        "--target",
        type=click.STRING,
        help="CSV data: the column to predict (the other columns are the features: numbers as they are, text "
        "one-hot encoded, missing cells imputed).",
    )
    task: str = option(
        "auto",
        "--task",
        type=Choice(datasets.files.TASKS),
        help="For a data file: classification or regression; auto: classification for a text target or at "
        f"most {datasets.files.MAX_CLASSES} distinct integers, regression otherwise.",
    )
    data_dir: str | None = option(
        None,
        "--data_dir",
        "--data-dir",
        type=click.Path(exists=True, file_okay=False),
        help=f"Folder with the IDX .gz files (or a fashion-mnist / mnist sub-folder); also {datasets.ENV_VAR}. "
        "Looked at first; then the Keras cache, /usr/share/datasets, and last a keras.datasets download.",
    )
    val_fraction: float = option(
        0.1,
        "--val_fraction",
        "--val-fraction",
        type=UNIT,
        help="Fraction of the training set held out for validation (stratified).",
    )
    scaling: str = option(
        "auto",
        "--scaling",
        type=Choice(datasets.SCALINGS),
        help="Input scaling fitted on the training split: min-max to [0, 1], per-feature standardisation, or raw; "
        "auto: min-max for images, standardisation for tabular data.",
    )
    permute_pixels: bool = option(
        False,
        "--permute_pixels",
        "--permute-pixels",
        help="Scramble the pixel positions with one fixed, seeded permutation (same for every split).",
    )
    seed: int = option(0, "--seed", help="Seed of the initial weights, the validation split and the batch order.")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    title = "Network"
    num_layers: int = option(
        5, "-nhl", "--num_layers", type=click.IntRange(min=0), help="Number of hidden layers.", assignment=True
    )
    hidden_size: int | tuple[int, ...] = option(
        128,
        "-sz",
        "--hidden_size",
        type=Sizes(),
        help="Neurons per hidden layer: one size for all (-sz 128) or one per layer (-nhl 3 -sz 128 64 32).",
        assignment=True,
    )
    activation: str = option(
        "ReLU",
        "-a",
        "--activation",
        type=Choice(nn.ACTIVATIONS.names()),
        help="Hidden-layer activation.",
        assignment=True,
    )
    weight_init: str = option(
        "Xavier",
        "-w_i",
        "-wi",
        "--weight_init",
        type=Choice(nn.INITIALIZERS.names()),
        help="Weight initialisation: random is N(0, 0.01^2), Xavier is Glorot uniform, He is He normal.",
        assignment=True,
    )
    arch: str = option(
        "mlp",
        "--arch",
        type=Choice(ARCHITECTURES),
        help="Network: mlp (fully connected, -nhl/-sz), cnn (convolutions and max pooling, then -nhl/-sz fully "
        "connected layers) or localnet (the same with locally connected layers: local receptive fields, no weight "
        "sharing).",
    )
    filters: int | tuple[int, ...] = option(
        (32, 64),
        "--filters",
        type=Sizes(),
        help="cnn/localnet: channels of each convolutional (or locally connected) layer, e.g. --filters 32 64.",
    )
    kernel_size: int = option(
        3, "--kernel_size", "--kernel-size", type=click.IntRange(min=1), help="cnn/localnet: kernel height and width."
    )
    stride: int = option(1, "--stride", type=click.IntRange(min=1), help="cnn/localnet: stride of each convolution.")
    padding: str = option(
        "same",
        "--padding",
        type=Choice(nn.builders.PADDINGS),
        help="cnn/localnet: same ((k-1)//2 zeros around each map: the size is kept at stride 1) or valid (none).",
    )
    pool: int = option(
        2,
        "--pool",
        type=click.IntRange(min=0),
        help="cnn/localnet: max-pooling window (and stride) after each convolution (0 or 1: no pooling).",
    )
    norm: str = option(
        "none",
        "--norm",
        type=Choice(nn.NORMS.names()),
        help="Normalisation between each hidden linear map (or convolution: per channel) and its activation.",
    )
    dtype: str = option("float32", "--dtype", type=Choice(("float32", "float64")), help="Floating-point precision.")

    def hidden_sizes(self) -> list[int]:
        """The width of each hidden layer; ``ValueError`` if a list's length differs from ``num_layers``."""
        size = self.hidden_size
        if isinstance(size, int):
            return [size] * self.num_layers
        if len(size) != self.num_layers:
            raise ValueError(
                f"-sz gives {len(size)} sizes ({' '.join(map(str, size))}) for -nhl {self.num_layers} hidden layers"
            )
        return list(size)

    def conv_filters(self) -> list[int]:
        """The channels of each convolutional layer (``--filters``), as a list."""
        return [self.filters] if isinstance(self.filters, int) else list(self.filters)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    title = "Training"
    epochs: int = option(
        10,
        "-e",
        "--epochs",
        type=click.IntRange(min=1),
        help="Number of passes over the training data.",
        assignment=True,
    )
    batch_size: int = option(
        64, "-b", "--batch_size", type=click.IntRange(min=1), help="Mini-batch size.", assignment=True
    )
    loss: str = option(
        "cross_entropy",
        "-l",
        "--loss",
        type=Choice(LOSS_NAMES),
        help="Loss: cross_entropy and mean_squared_error on the softmax output for classification "
        "(squared_error, or mean_squared_error, on a linear output for regression).",
        assignment=True,
    )
    optimizer: str = option(
        "adam",
        "-o",
        "--optimizer",
        type=Choice(optimizers.names()),
        help="Optimizer (the registry in optimizers/; its hyperparameters below).",
        assignment=True,
    )
    shuffle: bool = option(
        True, "--shuffle", help="Shuffle the training set every epoch (--shuffle=False: fixed order)."
    )
    order: str = option(
        "shuffled",
        "--order",
        type=Choice(nn.Batches.ORDERS),
        help="Order of the training examples in each epoch: shuffled anew, fixed (the data's order), or sorted by "
        "class (pattern-mode training on sorted data). --shuffle=False means fixed.",
    )

    @property
    def batch_order(self) -> str:
        return "fixed" if not self.shuffle and self.order == "shuffled" else self.order


@dataclasses.dataclass(frozen=True)
class RegularisationConfig:
    title = "Regularisation"
    weight_decay: float = option(
        0.0,
        "-w_d",
        "-wd",
        "--weight_decay",
        type=NON_NEGATIVE,
        help="L2 weight decay: adds (w_d/2)*||W||^2 to the loss (weights only, not biases).",
        assignment=True,
    )
    l1: float = option(
        0.0, "--l1", type=NON_NEGATIVE, help="L1 regularisation: adds l1*sum|W| to the loss (weights only)."
    )
    dropout: float = option(
        0.0,
        "--dropout",
        type=UNIT,
        help="Inverted-dropout rate after each hidden activation (0: off; off at evaluation).",
    )


def _hyperparameter_section() -> type:
    """The optimizers' hyperparameters as one section, generated from their own dataclasses
    (:func:`optimizers.hyperparameter_specs`): flags, defaults, ranges and "used by" cannot drift."""
    fields = []
    for spec in optimizers.hyperparameter_specs():
        kind = FiniteFloat(spec.low, spec.high, min_open=spec.low_open, max_open=spec.high_open)
        course = spec.name in ASSIGNMENT_HYPERPARAMETERS
        fields.append(
            (spec.name, float, option(spec.default, *spec.flags, help=spec.help, type=kind, assignment=course))
        )
    section = dataclasses.make_dataclass("OptimizerConfig", fields, frozen=True)
    section.title = "Optimizer hyperparameters (each used by the optimizers named)"  # type: ignore[attr-defined]
    return section


OptimizerConfig = _hyperparameter_section()
CORE_SECTIONS: tuple[type, ...] = (
    TrackingConfig,
    DataConfig,
    TrainingConfig,
    OptimizerConfig,
    ModelConfig,
    RegularisationConfig,
)
SECTIONS: tuple[type, ...] = CORE_SECTIONS + tuple(p.section for p in PLUGINS if p.section is not None)
FIELDS: dict[str, tuple[type, dataclasses.Field]] = {
    field.name: (section, field) for section in SECTIONS for field in dataclasses.fields(section)
}
NOT_IN_MODEL_FILES = ("wandb_entity", "data_dir", "output_dir", "from_sweep")  # paths and accounts of this machine


def is_option(name: str) -> bool:
    return name in FIELDS


def convert(name: str, value: Any) -> Any:
    """Coerce a value (from a sweep file, a preset or W&B's config) to option ``name``'s type, as the CLI
    would; ``click.BadParameter`` if the CLI would reject it, ``KeyError`` for an unknown name."""
    return convert_value(FIELDS[name][1], value)


def defaults() -> dict[str, Any]:
    return {name: field.default for name, (_, field) in FIELDS.items()}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One run's configuration: an instance of every section."""

    sections: tuple[Any, ...]

    def get(self, section: type[S]) -> S:
        """The instance of ``section`` (a section class: core or a plugin's)."""
        for instance in self.sections:
            if type(instance) is section:
                return instance
        raise KeyError(f"no configuration section {section.__name__}")

    @property
    def tracking(self) -> TrackingConfig:
        return self.get(TrackingConfig)

    @property
    def data(self) -> DataConfig:
        return self.get(DataConfig)

    @property
    def model(self) -> ModelConfig:
        return self.get(ModelConfig)

    @property
    def training(self) -> TrainingConfig:
        return self.get(TrainingConfig)

    @property
    def regularisation(self) -> RegularisationConfig:
        return self.get(RegularisationConfig)

    @property
    def hyperparameters(self) -> dict[str, float]:
        """The optimizer hyperparameters (every optimizer's; :func:`optimizers.make` takes its own)."""
        return dataclasses.asdict(self.get(OptimizerConfig))

    @property
    def learning_rate(self) -> float:
        return float(self.hyperparameters["learning_rate"])

    def flat(self) -> dict[str, Any]:
        """``{name: value}`` as users, JSON and W&B write it (lists, not tuples)."""
        return {f.name: plain(getattr(s, f.name)) for s in self.sections for f in dataclasses.fields(s)}

    def replace(self, **values: Any) -> RunConfig:
        """A copy with the flat options ``values`` changed (converted and checked)."""
        return from_flat({**self.flat(), **values})

    def differs(self, other: RunConfig, section: type) -> bool:
        return self.get(section) != other.get(section)

    def for_model_file(self) -> dict[str, Any]:
        """What a saved model keeps of its configuration (no folders, no account)."""
        return {k: v for k, v in self.flat().items() if k not in NOT_IN_MODEL_FILES}


def from_flat(values: Mapping[str, Any]) -> RunConfig:
    """A :class:`RunConfig` from flat ``values`` (missing names take their defaults); every value is
    converted by its option's type. Unknown names are a ``click.BadParameter``."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise click.BadParameter(f"unknown options {', '.join(unknown)}")
    sections = []
    for section in SECTIONS:
        given = {}
        for field in dataclasses.fields(section):
            if field.name in values:
                given[field.name] = convert_value(field, values[field.name])
        sections.append(section(**given))
    return RunConfig(tuple(sections))


def load_presets() -> dict:
    import yaml

    return (yaml.safe_load(PRESETS_FILE.read_text()) or {}) if PRESETS_FILE.is_file() else {}


MEMBERS = "members"  # a preset's list of ensemble members, each a mapping of options over the preset's own


def preset_values(name: str | None) -> dict:
    """The options the preset ``name`` sets (``{}`` for none), its ``members`` included; an unknown
    preset or option is a ``click.BadParameter``."""
    if not name:
        return {}
    presets = load_presets()
    if name not in presets:
        raise click.BadParameter(
            f"unknown preset {name!r}; presets.yaml has: {', '.join(presets) or 'none'}", param_hint="'--preset'"
        )
    preset = dict(presets[name])
    members = preset.get(MEMBERS, [])
    if not isinstance(members, list) or not all(isinstance(member, dict) for member in members):
        raise click.BadParameter(
            f"preset {name!r}: {MEMBERS} must be a list of option mappings", param_hint="'--preset'"
        )
    unknown = (set(preset) - {MEMBERS} | {key for member in members for key in member}) - set(FIELDS)
    if unknown:
        raise click.BadParameter(
            f"preset {name!r} sets unknown options {', '.join(sorted(unknown))}", param_hint="'--preset'"
        )
    return preset


def ensemble_members(explicit: Mapping[str, Any]) -> list[dict]:
    """The members of the preset named in ``explicit`` (``[]`` when it is not an ensemble)."""
    return list(preset_values(explicit.get("preset")).get(MEMBERS, []))


def resolve(explicit: Mapping[str, Any], member: Mapping[str, Any] | None = None) -> RunConfig:
    """Defaults, then the sweep trial named by ``from_sweep`` and ``rank`` (if any), then the preset
    named in ``explicit`` (if any), then one of its ensemble ``member``'s options, then ``explicit``;
    all type-checked."""
    preset = preset_values(explicit.get("preset"))
    preset.pop(MEMBERS, None)
    trial = sweep_trial_values(explicit.get("from_sweep"), explicit.get("rank", 1))
    return from_flat({**trial, **preset, **(member or {}), **explicit})


TOP_FILE = "top.json"  # a sweep folder's ranked complete trials (written by sweeping.report)
NOT_FROM_SWEEPS = ("output_dir", "data_dir", "wandb_mode", "preset", "from_sweep", "rank")


def sweep_trial_values(folder: str | None, rank: Any = 1) -> dict:
    """The options of the trial ranked ``rank`` in the sweep folder ``folder`` (its ``top.json``),
    but where data and results go (:data:`NOT_FROM_SWEEPS`); ``{}`` without a folder. A missing or
    unreadable file, or a rank beyond the complete trials, is a ``click.BadParameter``."""
    if folder is None:
        return {}
    rank = int(rank)
    path = Path(folder) / TOP_FILE
    try:
        ranked = json.loads(path.read_text())["configurations"]
    except FileNotFoundError:
        raise click.BadParameter(
            f"{folder}: no {TOP_FILE}: not a sweep folder, or its report was written by an earlier sweep.py "
            f"(python sweep.py report {shlex.quote(str(folder))} writes it)",
            param_hint="'--from_sweep'",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise click.BadParameter(f"{path}: cannot read it ({error})", param_hint="'--from_sweep'") from None
    if not ranked:
        raise click.BadParameter(f"{folder}: the sweep has no complete trial yet", param_hint="'--from_sweep'")
    if not 1 <= rank <= len(ranked):
        raise click.BadParameter(
            f"{rank}: the sweep in {folder} has {len(ranked)} complete trial(s) (ranks 1 to {len(ranked)})",
            param_hint="'--rank'",
        )
    values = ranked[rank - 1]["config"]
    return {k: v for k, v in values.items() if k in FIELDS and k not in NOT_FROM_SWEEPS}


def from_saved(saved: Mapping[str, Any]) -> RunConfig:
    """The configuration a run folder's ``config.json`` (or a model file) recorded; keys of
    options that no longer exist are dropped, so older files still load."""
    return from_flat({k: v for k, v in saved.items() if k in FIELDS and k != "preset"})


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
}
NAMED_WHEN_CHANGED = ("weight_decay", "weight_init", "epochs", "momentum", "beta", "beta1", "beta2", "epsilon", "seed")


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
    the network and optimizer, then what differs from the defaults (weight decay and
    initialisation, epochs, the optimizer's hyperparameters, the seed, ...), then each active
    plugin's part."""
    model, training, data = config.model, config.training, config.data
    size = model.hidden_size
    size_text = "-".join(map(str, size)) if isinstance(size, tuple) else str(size)
    name = (
        f"hl_{model.num_layers}_sz_{size_text}_bs_{training.batch_size}"
        f"_ac_{model.activation}_o_{training.optimizer}_lr_{config.learning_rate:g}"
    )
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


def option_sections() -> Iterator[tuple[str, type]]:
    """``(title, section)`` in the order ``--help`` shows them."""
    for section in SECTIONS:
        yield section.title, section  # type: ignore[attr-defined]


def click_options() -> list[click.Option]:
    """One click option per field; each knows its section (``option.section_title``) and whether it
    is one of the assignment's flags (``option.assignment``)."""
    made = []
    for title, section in option_sections():
        for field in dataclasses.fields(section):
            kind = field_type(field)
            extra = {"is_flag": False, "flag_value": True} if kind is click.BOOL else {}
            default = plain(field.default)
            opt = click.Option(
                [*flags(field), field.name],
                type=kind,
                default=default,
                show_default=True,
                help=field.metadata["help"],
                **extra,
            )
            opt.section_title = title  # type: ignore[attr-defined]
            opt.assignment = field.metadata["assignment"]  # type: ignore[attr-defined]
            made.append(opt)
    return made
