"""The schema of a run's configuration: the core's typed sections and :class:`RunConfig`.

A configuration is a :class:`RunConfig`: one frozen dataclass per concern
(:class:`TrackingConfig`, :class:`DataConfig`, :class:`ModelConfig`,
:class:`TrainingConfig`, the optimizer's hyperparameters, :class:`RegularisationConfig`)
and one per study plugin (declared by the plugin, :mod:`experiments.plugins`).
Code reads fields (``config.model.num_layers``, ``config.get(ScheduleConfig).lr_schedule``).
A :class:`RunConfig` knows the sections it holds and nothing else: which sections a run has
(the core's and every plugin's) is put together one floor up, in :mod:`experiments.config`.

The flat names are what users type and never change: the assignment's
flags, the 2026 aliases, the sweep files' keys, the keys of W&B's config,
``config.json`` and a saved model's metadata. Every value, wherever it comes
from, is converted and checked by its field's type (:func:`parse`).

The defaults are the best configuration of the assignment's sweep's first run (docs/assignment.md),
except the optimizer hyperparameters, whose defaults are the optimizers' own (each
optimizer's ``Hyperparameters`` dataclass): each default exists once.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any, TypeVar

import click

import datasets
import nn
import optimizers
from nn import losses
from nn.tasks import Task

from .errors import ConfigError
from .options import (
    NON_NEGATIVE,
    UNIT,
    Choice,
    DatasetName,
    FiniteFloat,
    ImageSize,
    Sizes,
    convert_value,
    option,
    plain,
)

WANDB_MODES = ("auto", "online", "offline", "disabled")
ARCHITECTURES = ("mlp", "cnn", "localnet")
LOSS_NAMES = list(dict.fromkeys(name for task in losses.TASKS for name in losses.names_for(task)))
ASSIGNMENT_HYPERPARAMETERS = ("learning_rate", "momentum", "beta", "beta1", "beta2", "epsilon")
NOT_IN_MODEL_FILES = ("wandb_entity", "data_dir", "output_dir", "from_sweep")  # paths and accounts of this machine
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
        help="A named configuration from presets.yaml (e.g. fmnist_top1, the best of the sweep's first run); "
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
        "(optionally x_test, y_test, class_names); or a folder of PNG/JPEG images, one sub-folder per class "
        "(--image_size, --color).",
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
    image_size: tuple[int, int] | None = option(
        None,
        "--image_size",
        "--image-size",
        type=ImageSize(),
        help="Image folder: resize every image to H x W pixels (bilinear; one size: a square). Default: the "
        "images' own size, which must then be the same for all.",
    )
    color: str = option(
        "auto",
        "--color",
        type=Choice(datasets.COLORS),
        help="Image folder: rgb (3 channels) or grey (1); auto: rgb if any image is stored in colour, else grey.",
    )
    data_dir: str | None = option(
        None,
        "--data_dir",
        "--data-dir",
        type=click.Path(exists=True, file_okay=False),
        help=f"Folder with the IDX .gz files (or a fashion-mnist / mnist sub-folder), or with CIFAR-10's binary "
        f"version (cifar-10-binary.tar.gz or cifar-10-batches-bin); also {datasets.ENV_VAR}. "
        "Looked at first; then the Keras cache, /usr/share/datasets, and last a keras.datasets download.",
    )
    val_fraction: float = option(
        0.1,
        "--val_fraction",
        "--val-fraction",
        type=UNIT,
        help="Fraction of the training set held out for validation (stratified).",
    )
    val_data: str | None = option(
        None,
        "--val_data",
        "--val-data",
        type=click.STRING,
        help="Validate on this file instead of a held-out fraction (nothing is held out; --val_fraction does not "
        "apply): a .csv with the training CSV's columns and target, or a .npz with arrays x and y (rows shaped as "
        "the training data's, raw units: 0..255 pixels for the built-in image sets). An NPZ training file's own "
        "x_val/y_val are used the same way.",
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
        help="Loss: cross_entropy and mean_squared_error on the softmax output for classification, "
        "binary_cross_entropy on one sigmoid output unit for two classes "
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
    title = "Optimizer hyperparameters (each used by the optimizers named)"
    return dataclasses.make_dataclass("OptimizerConfig", fields, frozen=True, namespace={"title": title})


OptimizerConfig = _hyperparameter_section()
CORE_SECTIONS: tuple[type, ...] = (
    TrackingConfig,
    DataConfig,
    TrainingConfig,
    OptimizerConfig,
    ModelConfig,
    RegularisationConfig,
)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One run's configuration: an instance of every section it holds (the core's and the plugins')."""

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
        return parse({**self.flat(), **values}, tuple(type(section) for section in self.sections))

    @functools.cached_property
    def task(self) -> Task:
        """The run's task, resolved once for this configuration: the data set's, or its file's
        (``--task``, or inferred from the target column); a file that cannot be read is a :class:`ConfigError`."""
        data = self.data
        try:
            return Task(datasets.describe(data.dataset, data.target, data.task).task)
        except datasets.DataFileError as error:
            raise ConfigError(str(error)) from None

    def differs(self, other: RunConfig, section: type) -> bool:
        return self.get(section) != other.get(section)

    def for_model_file(self) -> dict[str, Any]:
        """What a saved model keeps of its configuration (no folders, no account)."""
        return {k: v for k, v in self.flat().items() if k not in NOT_IN_MODEL_FILES}


def parse(values: Mapping[str, Any], sections: tuple[type, ...]) -> RunConfig:
    """A :class:`RunConfig` of ``sections`` from flat ``values`` (missing names take their defaults);
    every value is converted by its option's type. Unknown names are a ``click.BadParameter``."""
    known = {field.name for section in sections for field in dataclasses.fields(section)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise click.BadParameter(f"unknown options {', '.join(unknown)}")
    made = []
    for section in sections:
        given = {}
        for field in dataclasses.fields(section):
            if field.name in values:
                given[field.name] = convert_value(field, values[field.name])
        made.append(section(**given))
    return RunConfig(tuple(made))
