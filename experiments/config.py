"""A run's configuration: every option, its type, its default and its help, in one table.

``train.py``'s flags, the sweep files' keys, presets and W&B's injected
config all go through :data:`OPTIONS`: the type of an option converts and
checks a value wherever it comes from (:func:`convert`). The defaults are
the best configuration of the assignment's sweep (README "Results"), except
the optimizer hyperparameters, whose defaults are the optimizers' own
(:class:`optimizers.Hyperparameters`): each default exists once.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import click

import datasets
import nn
import optimizers
from nn import losses

PRESETS_FILE = Path(__file__).resolve().parents[1] / "presets.yaml"
WANDB_MODES = ("auto", "online", "offline", "disabled")
# Options that change the loaded data: a run (or a sweep worker) reloads when one of them changes.
DATA_KEYS = ("dataset", "data_dir", "val_fraction", "seed", "scaling", "permute_pixels")


class Choice(click.Choice):
    """Case-insensitive choice that shows and returns the registry's spelling (``ReLU``, ``Xavier``)."""

    def __init__(self, choices):
        super().__init__(list(choices), case_sensitive=False)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.choices) + "]"

    def get_invalid_choice_message(self, value, ctx=None):
        return f"{value!r} is not one of {', '.join(self.choices)}."


class FiniteFloat(click.FloatRange):
    """A float range that also rejects nan and inf (which every range check lets through or misreads)."""

    name = "float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class HiddenSizes(click.ParamType):
    """``-sz``: one size for every hidden layer (``128``) or one per layer (``128 64 32``, as
    argparse's ``nargs="+"`` reads it; also ``128,64,32`` or a list from a sweep file)."""

    name = "size [size ...]"

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            sizes = [value]
        elif isinstance(value, (list, tuple)):
            sizes = list(value)
        else:
            sizes = list(str(value).replace(",", " ").split())
        try:
            sizes = [int(size) for size in sizes]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a size or a list of sizes.", param, ctx)
        if not sizes or min(sizes) < 1:
            self.fail(f"{value!r}: sizes must be at least 1.", param, ctx)
        return sizes[0] if len(sizes) == 1 else sizes


def hidden_sizes(config: dict) -> list[int]:
    """The width of each hidden layer; ``ValueError`` if a list's length differs from ``num_layers``."""
    size, layers = config["hidden_size"], config["num_layers"]
    if isinstance(size, int):
        return [size] * layers
    if len(size) != layers:
        raise ValueError(f"-sz gives {len(size)} sizes ({' '.join(map(str, size))}) for -nhl {layers} hidden layers")
    return list(size)


def conv_filters(config: dict) -> list[int]:
    """The channels of each convolutional layer (``--filters``), as a list."""
    filters = config["filters"]
    return [filters] if isinstance(filters, int) else list(filters)


ARCHITECTURES = ("mlp", "cnn", "localnet")
POSITIVE = FiniteFloat(min=0.0, min_open=True)
NON_NEGATIVE = FiniteFloat(min=0.0)
UNIT = FiniteFloat(0.0, 1.0, max_open=True)
_HP = {field.name: field.default for field in dataclasses.fields(optimizers.Hyperparameters)}
LOSS_NAMES = list(dict.fromkeys(name for task in losses.TASKS for name in losses.names_for(task)))

# (flags, type, default, help); the option's name is its first long flag without dashes.
OPTIONS = [
    (("-wp", "--wandb_project"), str, "da6401-assignment1", "W&B project the run is logged to."),
    (("-we", "--wandb_entity"), str, None, "W&B entity (user or team); default: your default entity."),
    (
        ("-d", "--dataset"),
        Choice(datasets.names()),
        "fashion_mnist",
        "Data set: " + "; ".join(f"{name}: {info.description}" for name, info in datasets.DATASETS.items()) + ".",
    ),
    (("-e", "--epochs"), click.IntRange(min=1), 10, "Number of passes over the training data."),
    (("-b", "--batch_size"), click.IntRange(min=1), 64, "Mini-batch size."),
    (
        ("-l", "--loss"),
        Choice(LOSS_NAMES),
        "cross_entropy",
        "Loss: cross_entropy and mean_squared_error on the softmax output for classification "
        "(squared_error, or mean_squared_error, on a linear output for regression).",
    ),
    (("-o", "--optimizer"), Choice(optimizers.names()), "adam", "Optimizer (the registry in optimizers/)."),
    (("-lr", "--learning_rate"), POSITIVE, _HP["learning_rate"], "Learning rate."),
    (("-m", "--momentum"), UNIT, _HP["momentum"], "Momentum, used by momentum and nag."),
    (("-beta", "--beta"), UNIT, _HP["beta"], "Decay of the squared-gradient average, used by rmsprop."),
    (("-beta1", "--beta1"), UNIT, _HP["beta1"], "First-moment decay, used by adam, nadam and eve."),
    (("-beta2", "--beta2"), UNIT, _HP["beta2"], "Second-moment decay, used by adam, nadam and eve."),
    (("-eps", "--epsilon"), NON_NEGATIVE, _HP["epsilon"], "Epsilon of rmsprop, adagrad, adam, adamw, nadam and eve."),
    (
        ("-dwd", "--decoupled_weight_decay"),
        NON_NEGATIVE,
        _HP["decoupled_weight_decay"],
        "Decoupled weight decay of adamw: every step w <- w - lr*dwd*w, apart from the gradient (all parameters).",
    ),
    (
        ("--lr_schedule", "--lr-schedule"),
        Choice(nn.SCHEDULES),
        "constant",
        "Learning-rate schedule per mini-batch: constant, step (times --lr_gamma every --lr_step_epochs epochs) or "
        "cosine (annealed to 0 over the run); after --warmup_epochs of linear warm-up. The rate is logged per epoch.",
    ),
    (
        ("--warmup_epochs", "--warmup-epochs"),
        NON_NEGATIVE,
        0.0,
        "Epochs (may be fractional) over which the learning rate rises linearly from lr/steps to lr (0: none).",
    ),
    (("--lr_step_epochs", "--lr-step-epochs"), click.IntRange(min=1), 10, "--lr_schedule step: epochs per step."),
    (
        ("--lr_gamma", "--lr-gamma"),
        FiniteFloat(0.0, 1.0, min_open=True),
        0.1,
        "--lr_schedule step: factor of each step.",
    ),
    (
        ("--label_smoothing", "--label-smoothing"),
        FiniteFloat(0.0, 1.0, max_open=True),
        0.0,
        "Label smoothing of cross_entropy: targets (1-e)*one_hot + e/K (0: off; the logged losses are smoothed too).",
    ),
    (
        ("--augment",),
        click.IntRange(min=0),
        0,
        "Data augmentation of image sets: shift each training image by up to N pixels in each direction, and mirror "
        "it left-right half of the time where that keeps its class (fashion_mnist, not mnist/digits) (0: off).",
    ),
    (
        ("-w_d", "-wd", "--weight_decay"),
        NON_NEGATIVE,
        0.0,
        "L2 weight decay: adds (w_d/2)*||W||^2 to the loss (weights only, not biases).",
    ),
    (
        ("-w_i", "-wi", "--weight_init"),
        Choice(nn.INITIALIZERS.names()),
        "Xavier",
        "Weight initialisation: random is N(0, 0.01^2), Xavier is Glorot uniform, He is He normal.",
    ),
    (("-nhl", "--num_layers"), click.IntRange(min=0), 5, "Number of hidden layers."),
    (
        ("-sz", "--hidden_size"),
        HiddenSizes(),
        128,
        "Neurons per hidden layer: one size for all (-sz 128) or one per layer (-nhl 3 -sz 128 64 32).",
    ),
    (("-a", "--activation"), Choice(nn.ACTIVATIONS.names()), "ReLU", "Hidden-layer activation."),
    (("--seed",), int, 0, "Seed of the initial weights, the validation split and the batch order."),
    (
        ("--data_dir", "--data-dir"),
        click.Path(exists=True, file_okay=False),
        None,
        f"Folder with the IDX .gz files (or a fashion-mnist / mnist sub-folder); also {datasets.ENV_VAR}. "
        "Looked at first; then the Keras cache, /usr/share/datasets, and last a keras.datasets download.",
    ),
    (
        ("--val_fraction", "--val-fraction"),
        FiniteFloat(0.0, 1.0, max_open=True),
        0.1,
        "Fraction of the training set held out for validation (stratified).",
    ),
    (
        ("--wandb_mode", "--wandb-mode"),
        Choice(WANDB_MODES),
        "auto",
        "auto: online if you are logged in and W&B answers, otherwise offline (./wandb).",
    ),
    (
        ("--output_dir", "--output-dir"),
        click.Path(file_okay=False),
        "outputs",
        "Where local results go (one sub-folder per run).",
    ),
    (
        ("--save_model", "--save-model"),
        click.BOOL,
        False,
        "Save the trained model as model.npz in the run folder (also --save_model=True).",
    ),
    (("--dtype",), Choice(("float32", "float64")), "float32", "Floating-point precision."),
    (("--l1",), NON_NEGATIVE, 0.0, "L1 regularisation: adds l1*sum|W| to the loss (weights only)."),
    (
        ("--patience",),
        click.IntRange(min=0),
        0,
        "Early stopping: stop after this many epochs without a better validation score and restore the "
        "best weights (0: off).",
    ),
    (
        ("--min_delta", "--min-delta"),
        NON_NEGATIVE,
        0.0,
        "Stop once the mean training loss changes by less than this between epochs (0: off).",
    ),
    (("--shuffle",), click.BOOL, True, "Shuffle the training set every epoch (--shuffle=False: fixed order)."),
    (
        ("--order",),
        Choice(nn.Batches.ORDERS),
        "shuffled",
        "Order of the training examples in each epoch: shuffled anew, fixed (the data's order), or sorted by "
        "class (pattern-mode training on sorted data). --shuffle=False means fixed.",
    ),
    (
        ("--log_every", "--log-every"),
        click.IntRange(min=0),
        0,
        "Also log the training loss every N mini-batches, on its own W&B step axis 'batch' (0: off).",
    ),
    (
        ("--folds",),
        click.IntRange(min=0),
        0,
        "k-fold cross-validation: train one model per fold of the training set (stratified for classes) and "
        "report cv_val_<metric>_mean and _std (0 or 1: off, one hold-out split).",
    ),
    (
        ("--scaling",),
        Choice(datasets.SCALINGS),
        "minmax",
        "Input scaling fitted on the training split: min-max to [0, 1], per-feature standardisation, or raw.",
    ),
    (
        ("--permute_pixels", "--permute-pixels"),
        click.BOOL,
        False,
        "Scramble the pixel positions with one fixed, seeded permutation (same for every split).",
    ),
    (
        ("--arch",),
        Choice(ARCHITECTURES),
        "mlp",
        "Network: mlp (fully connected, -nhl/-sz), cnn (convolutions and max pooling, then -nhl/-sz fully connected "
        "layers) or localnet (the same with locally connected layers: local receptive fields, no weight sharing).",
    ),
    (
        ("--filters",),
        HiddenSizes(),
        [32, 64],
        "cnn/localnet: channels of each convolutional (or locally connected) layer, e.g. --filters 32 64.",
    ),
    (("--kernel_size", "--kernel-size"), click.IntRange(min=1), 3, "cnn/localnet: kernel height and width."),
    (("--stride",), click.IntRange(min=1), 1, "cnn/localnet: stride of each convolution."),
    (
        ("--padding",),
        Choice(nn.builders.PADDINGS),
        "same",
        "cnn/localnet: same ((k-1)//2 zeros around each map: the size is kept at stride 1) or valid (none).",
    ),
    (
        ("--pool",),
        click.IntRange(min=0),
        2,
        "cnn/localnet: max-pooling window (and stride) after each convolution (0 or 1: no pooling).",
    ),
    (
        ("--norm",),
        Choice(nn.NORMS.names()),
        "none",
        "Normalisation between each hidden linear map (or convolution: per channel) and its activation.",
    ),
    (
        ("--dropout",),
        FiniteFloat(0.0, 1.0, max_open=True),
        0.0,
        "Inverted-dropout rate after each hidden activation (0: off; off at evaluation).",
    ),
    (
        ("--fgsm_eps", "--fgsm-eps"),
        FiniteFloat(0.0, 1.0),
        0.0,
        "FGSM: after training, also test on images perturbed by eps*sign(dL/dx) in [0, 1] pixel space and report "
        "test_accuracy_fgsm (image classification sets; 0: off).",
    ),
    (
        ("--adv_train", "--adv-train"),
        click.BOOL,
        False,
        "Adversarial training: minimise 0.5*L(x) + 0.5*L(x_adv), FGSM examples at --fgsm_eps from the current "
        "weights for every mini-batch.",
    ),
    (
        ("--pretrain",),
        Choice(("none", "autoencoder")),
        "none",
        "Pretrain the hidden layers greedily, each as the code of a one-hidden-layer autoencoder on the codes "
        "below it, then fine-tune the whole network on the labels.",
    ),
    (
        ("--pretrain_epochs", "--pretrain-epochs"),
        click.IntRange(min=1),
        2,
        "Epochs of autoencoder training per hidden layer (with --pretrain autoencoder).",
    ),
    (
        ("--plots",),
        click.BOOL,
        False,
        "At the end, also draw the first layer's weights as images and per-layer weight histograms.",
    ),
    (
        ("--preset",),
        str,
        None,
        "A named configuration from presets.yaml (e.g. fmnist_top1, the sweep's best); "
        "flags given explicitly override its values.",
    ),
]


def option_name(flags) -> str:
    return next(flag for flag in flags if flag.startswith("--")).lstrip("-")


DEFAULTS = {option_name(flags): default for flags, _, default, _ in OPTIONS}
TYPES = {option_name(flags): kind for flags, kind, _, _ in OPTIONS}


def convert(name: str, value):
    """Coerce a value (from a sweep file, a preset or W&B's config) to the option's type, as the CLI would;
    ``click.BadParameter`` if the CLI would reject it."""
    if value is None:
        return None
    try:
        return click.types.convert_type(TYPES[name]).convert(value, None, None)
    except click.BadParameter as error:
        error.param_hint = f"'{name}'"
        raise


def load_presets() -> dict:
    import yaml

    return (yaml.safe_load(PRESETS_FILE.read_text()) or {}) if PRESETS_FILE.is_file() else {}


def resolve(explicit: dict) -> dict:
    """Defaults, then the preset named in ``explicit`` (if any), then ``explicit``; all type-checked."""
    preset_name = explicit.get("preset")
    preset = {}
    if preset_name:
        presets = load_presets()
        if preset_name not in presets:
            raise click.BadParameter(
                f"unknown preset {preset_name!r}; presets.yaml has: {', '.join(presets) or 'none'}",
                param_hint="'--preset'",
            )
        preset = presets[preset_name]
        unknown = set(preset) - set(DEFAULTS)
        if unknown:
            raise click.BadParameter(
                f"preset {preset_name!r} sets unknown options {', '.join(sorted(unknown))}", param_hint="'--preset'"
            )
    config = dict(DEFAULTS)
    for key, value in {**preset, **explicit}.items():
        config[key] = convert(key, value)
    return config


def run_name(config: dict) -> str:
    """A name that says what the run is, e.g. ``hl_3_sz_128_bs_64_ac_ReLU_o_nadam_lr_0.001``."""
    size = config["hidden_size"]
    size = "-".join(map(str, size)) if isinstance(size, list) else size
    name = (
        f"hl_{config['num_layers']}_sz_{size}_bs_{config['batch_size']}"
        f"_ac_{config['activation']}_o_{config['optimizer']}_lr_{config['learning_rate']:g}"
    )
    if config.get("arch", "mlp") != "mlp":
        name = (
            f"{config['arch']}_f_{'-'.join(map(str, conv_filters(config)))}_k_{config['kernel_size']}"
            f"_p_{config['pool']}_" + name
        )
    if config["norm"] != "none":
        name += f"_{config['norm']}norm"
    if config["dropout"]:
        name += f"_do_{config['dropout']:g}"
    if config.get("lr_schedule", "constant") != "constant":
        name += f"_{config['lr_schedule']}"
    if config.get("augment", 0):
        name += f"_aug{config['augment']}"
    if config.get("label_smoothing", 0.0):
        name += f"_ls_{config['label_smoothing']:g}"
    if config["permute_pixels"]:
        name += "_scrambled"
    if config["loss"] != "cross_entropy":
        name += "_mse" if "squared" in config["loss"] else f"_{config['loss']}"
    if config["dataset"] != "fashion_mnist":
        name += f"_{config['dataset']}"
    if config.get("pretrain", "none") != "none":
        name += "_ae"
    order = "fixed" if not config["shuffle"] and config["order"] == "shuffled" else config["order"]
    if order != "shuffled":
        name += f"_{order}"
    if config.get("folds", 0) > 1:
        name += f"_cv{config['folds']}"
    return name
