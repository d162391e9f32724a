"""Train a feed-forward network (NumPy, hand-written backprop) on Fashion-MNIST or MNIST.

Every run prints one line per epoch, logs to Weights & Biases (offline when
you are not logged in) and writes its history, figures and summary under
--output_dir. Choices are case-insensitive.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import click
import numpy as np

import nn
import optimizers
from nn.losses import LOSSES

# Defaults: the configuration with the best validation accuracy (0.8892) of the
# assignment's sweep (sweep.yaml, 100 trials; README "Results"), preset fmnist_top1.
DEFAULTS = {
    "wandb_project": "da6401-assignment1", "wandb_entity": None, "dataset": "fashion_mnist",
    "epochs": 10, "batch_size": 64, "loss": "cross_entropy", "optimizer": "adam",
    "learning_rate": 0.001, "momentum": 0.9, "beta": 0.9, "beta1": 0.9, "beta2": 0.999,
    "epsilon": 1e-8, "weight_decay": 0.0, "weight_init": "Xavier", "num_layers": 5,
    "hidden_size": 128, "activation": "ReLU", "seed": 0, "data_dir": None, "val_fraction": 0.1,
    "wandb_mode": "auto", "output_dir": "outputs", "save_model": False, "dtype": "float32", "preset": None,
    "l1": 0.0, "patience": 0, "min_delta": 0.0, "shuffle": True, "scaling": "minmax", "permute_pixels": False,
    "norm": "none", "dropout": 0.0, "plots": False,
}
# Options that change the loaded data: a run (or a sweep worker) reloads when one of them changes.
DATA_KEYS = ("dataset", "data_dir", "val_fraction", "seed", "scaling", "permute_pixels")
PRESETS_FILE = Path(__file__).resolve().parent / "presets.yaml"
DATASETS = ("mnist", "fashion_mnist", "digits")

class Choice(click.Choice):
    """Case-insensitive choice that shows and returns the course's spelling (``ReLU``, ``Xavier``)."""

    def __init__(self, choices):
        super().__init__(list(choices), case_sensitive=False)

    def get_metavar(self, param, ctx=None):
        return "[" + "|".join(self.choices) + "]"

    def get_invalid_choice_message(self, value, ctx=None):
        return f"{value!r} is not one of {', '.join(self.choices)}."


POSITIVE = click.FloatRange(min=0.0, min_open=True)
NON_NEGATIVE = click.FloatRange(min=0.0)
UNIT = click.FloatRange(0.0, 1.0, max_open=True)

# (flags, type, help); the parameter name is the long underscore flag.
OPTIONS = [
    (("-wp", "--wandb_project"), str, "W&B project the run is logged to."),
    (("-we", "--wandb_entity"), str, "W&B entity (user or team); default: your default entity."),
    (("-d", "--dataset"), Choice(DATASETS),
     "Data set (digits: scikit-learn's 8x8 digits, tiny, for demos and tests)."),
    (("-e", "--epochs"), click.IntRange(min=1), "Number of passes over the training data."),
    (("-b", "--batch_size"), click.IntRange(min=1), "Mini-batch size."),
    (("-l", "--loss"), Choice(list(LOSSES)),
     "Loss on the softmax output."),
    (("-o", "--optimizer"), Choice(optimizers.names()),
     "Optimizer (the registry in optimizers/)."),
    (("-lr", "--learning_rate"), POSITIVE, "Learning rate."),
    (("-m", "--momentum"), UNIT, "Momentum, used by momentum and nag."),
    (("-beta", "--beta"), UNIT, "Decay of the squared-gradient average, used by rmsprop."),
    (("-beta1", "--beta1"), UNIT, "First-moment decay, used by adam, nadam and eve."),
    (("-beta2", "--beta2"), UNIT, "Second-moment decay, used by adam, nadam and eve."),
    (("-eps", "--epsilon"), NON_NEGATIVE, "Epsilon of rmsprop, adagrad, adam, nadam and eve."),
    (("-w_d", "--weight_decay"), NON_NEGATIVE,
     "L2 weight decay: adds (w_d/2)*||W||^2 to the loss (weights only, not biases)."),
    (("-w_i", "--weight_init"), Choice(list(nn.INITIALIZERS)),
     "Weight initialisation: random is N(0, 0.01^2), Xavier is Glorot uniform, He is He normal."),
    (("-nhl", "--num_layers"), click.IntRange(min=0), "Number of hidden layers."),
    (("-sz", "--hidden_size"), click.IntRange(min=1), "Neurons in each hidden layer."),
    (("-a", "--activation"), Choice(list(nn.ACTIVATIONS)),
     "Hidden-layer activation."),
    (("--seed",), int, "Seed of the initial weights, the validation split and the batch order."),
    (("--data_dir", "--data-dir"), click.Path(file_okay=False),
     "Folder with the IDX .gz files (or a fashion-mnist / mnist sub-folder); also FFNN_DATA_DIR. "
     "Looked at first; then the Keras cache, /usr/share/datasets, and last a keras.datasets download."),
    (("--val_fraction", "--val-fraction"), click.FloatRange(0.0, 1.0, max_open=True),
     "Fraction of the training set held out for validation (stratified)."),
    (("--wandb_mode", "--wandb-mode"), Choice(("auto", "online", "offline", "disabled")),
     "auto: online if you are logged in and W&B answers, otherwise offline (./wandb)."),
    (("--output_dir", "--output-dir"), click.Path(file_okay=False),
     "Where local results go (one sub-folder per run)."),
    (("--save_model", "--save-model"), click.BOOL,
     "Save the trained model as model.npz in the run folder (also --save_model=True)."),
    (("--dtype",), Choice(("float32", "float64")), "Floating-point precision."),
    (("--l1",), NON_NEGATIVE, "L1 regularisation: adds l1*sum|W| to the loss (weights only)."),
    (("--patience",), click.IntRange(min=0),
     "Early stopping: stop after this many epochs without a better val_accuracy and restore the best "
     "weights (0: off)."),
    (("--min_delta", "--min-delta"), NON_NEGATIVE,
     "Stop once the mean training loss changes by less than this between epochs (0: off)."),
    (("--shuffle",), click.BOOL, "Shuffle the training set every epoch (--shuffle=False: fixed order)."),
    (("--scaling",), Choice(("minmax", "standard", "none")),
     "Input scaling fitted on the training split: min-max to [0, 1], per-pixel standardisation, or raw."),
    (("--permute_pixels", "--permute-pixels"), click.BOOL,
     "Scramble the pixel positions with one fixed, seeded permutation (same for every split)."),
    (("--norm",), Choice(("none", "batch", "layer")),
     "Normalisation between each hidden linear map and its activation."),
    (("--dropout",), click.FloatRange(0.0, 1.0, max_open=True),
     "Inverted-dropout rate after each hidden activation (0: off; off at evaluation)."),
    (("--plots",), click.BOOL,
     "At the end, also draw the first layer's weights as images and per-layer weight histograms."),
    (("--preset",), str, "A named configuration from presets.yaml (e.g. fmnist_top1, the sweep's best); "
                         "flags given explicitly override its values."),
]
PARAMETERS = {}  # long underscore name -> click.Option, filled by the decorator below


def _with_options(function):
    for flags, kind, help_text in reversed(OPTIONS):
        name = flags[-1].lstrip("-").replace("-", "_") if len(flags) == 1 else next(
            f.lstrip("-") for f in flags if f.startswith("--"))
        extra = {"is_flag": False, "flag_value": True} if kind is click.BOOL else {}
        function = click.option(*flags, name, type=kind, default=DEFAULTS[name], show_default=True,
                                help=help_text, **extra)(function)
    return function


class OneLineErrors(click.Command):
    """Usage errors as one line (``Error: ...``) and exit code 2, without the usage block."""

    def main(self, args=None, prog_name=None, **kwargs):
        try:
            return super().main(args, prog_name, standalone_mode=False, **kwargs) or 0
        except click.UsageError as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)


def convert(name: str, value):
    """Coerce a value (from a sweep file or W&B's config) to the option's type, as the CLI would."""
    param = PARAMETERS[name]
    if value is None:
        return None
    return param.type.convert(value, param, None)


def load_presets() -> dict:
    import yaml

    return yaml.safe_load(PRESETS_FILE.read_text()) or {} if PRESETS_FILE.is_file() else {}


def resolve_config(explicit: dict) -> dict:
    """Defaults, then the preset named in ``explicit`` (if any), then ``explicit``; all type-checked."""
    preset_name = explicit.get("preset")
    preset = {}
    if preset_name:
        presets = load_presets()
        if preset_name not in presets:
            raise click.BadParameter(f"unknown preset {preset_name!r}; presets.yaml has: "
                                     f"{', '.join(presets) or 'none'}", param_hint="'--preset'")
        preset = presets[preset_name]
        unknown = set(preset) - set(PARAMETERS)
        if unknown:
            raise click.BadParameter(f"preset {preset_name!r} sets unknown options {', '.join(sorted(unknown))}",
                                     param_hint="'--preset'")
    config = dict(DEFAULTS)
    for key, value in {**preset, **explicit}.items():
        config[key] = convert(key, value)
    return config


def run_name(config: dict) -> str:
    """A name that says what the run is, e.g. ``hl_3_sz_128_bs_64_ac_ReLU_o_nadam_lr_0.001``."""
    name = (f"hl_{config['num_layers']}_sz_{config['hidden_size']}_bs_{config['batch_size']}"
            f"_ac_{config['activation']}_o_{config['optimizer']}_lr_{config['learning_rate']:g}")
    if config["norm"] != "none":
        name += f"_{config['norm']}norm"
    if config["dropout"]:
        name += f"_do_{config['dropout']:g}"
    if config["permute_pixels"]:
        name += "_scrambled"
    if config["loss"] != "cross_entropy":
        name += "_mse"
    if config["dataset"] != "fashion_mnist":
        name += f"_{config['dataset']}"
    return name


def build(config: dict, n_features: int, n_classes: int):
    sizes = [n_features] + [config["hidden_size"]] * config["num_layers"] + [n_classes]
    model = nn.FeedForward(sizes, config["activation"], config["weight_init"], seed=config["seed"],
                           dtype=np.dtype(config["dtype"]), norm=config["norm"], dropout=config["dropout"])
    optimizer = optimizers.make(config["optimizer"], learning_rate=config["learning_rate"],
                                momentum=config["momentum"], beta=config["beta"], beta1=config["beta1"],
                                beta2=config["beta2"], epsilon=config["epsilon"])
    return model, optimizer


@dataclass
class RunResult:
    status: str  # finished, diverged, interrupted
    history: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    folder: Optional[Path] = None
    message: str = ""
    model: object = None


def load_data(config: dict):
    import datasets

    return datasets.load(config["dataset"], config["data_dir"], config["val_fraction"], config["seed"],
                         scaling=config["scaling"], permute_pixels=config["permute_pixels"])


def reconcile(config: dict, injected: dict, say) -> dict:
    """Under ``wandb agent`` W&B holds the sweep's values: use them, and say where the flags differ."""
    config = dict(config)
    for key, value in injected.items():
        if key in PARAMETERS and key in config:
            value = convert(key, value)
            if value != config[key]:
                say(f"note: W&B's config sets {key}={value!r} (the flags said {config[key]!r}); using W&B's")
                config[key] = value
    return config


def run(config: dict, data=None, callbacks=(), group=None, tags=None, say=print, progress=True) -> RunResult:
    """One training run: build, fit, evaluate, report. Used by the CLI and, in-process, by sweep.py.

    ``data`` (a :class:`datasets.Dataset`) is loaded from ``config`` when not given.
    Exceptions other than divergence and Ctrl-C propagate, after the W&B run is
    finished as failed and the local history is written.
    """
    from tracking import local, plots
    from tracking.console import ConsoleProgress

    config = {**DEFAULTS, **config}
    if data is None:
        data = load_data(config)
    tracker = None
    if config["wandb_mode"] != "disabled":
        from tracking.wandb_run import WandbRun

        tracker = WandbRun(project=config["wandb_project"], entity=config["wandb_entity"],
                           name=run_name(config), config=config, mode=config["wandb_mode"], group=group,
                           tags=tags)
        reconciled = reconcile(config, tracker.injected_config, say)
        if any(reconciled[k] != config[k] for k in DATA_KEYS):
            data = load_data(reconciled)
        config = reconciled
        tracker.update_config(config)
        tracker.run.name = run_name(config)
    name = run_name(config)
    folder = local.unique_dir(config["output_dir"], name)
    local.write_json(folder / "config.json", config)
    model, optimizer = build(config, data.n_features, data.n_classes)
    n_val = 0 if data.x_val is None else len(data.x_val)
    say(f"{name}: {'-'.join(map(str, model.layer_sizes))} {config['activation']}, {config['optimizer']} "
        f"lr {config['learning_rate']:g}, batch {config['batch_size']}, {config['epochs']} epochs, "
        f"{config['loss']} on {data.name} ({len(data.x_train)} train / {n_val} val / {len(data.x_test)} test, "
        f"from {data.source})")
    history_writer = local.LocalHistory(folder)
    best = nn.BestWeights(model, "val_accuracy" if n_val else "train_accuracy")
    all_callbacks = [nn.GradientNorms(model), history_writer, best]
    stoppers = []
    if config["patience"] and not n_val:
        say("note: --patience needs a validation set (--val_fraction > 0); early stopping is off")
    elif config["patience"]:
        stoppers.append(nn.EarlyStopping(model, config["patience"], best=best))
    if config["min_delta"]:
        stoppers.append(nn.LossPlateau(config["min_delta"]))
    if progress:
        all_callbacks.append(ConsoleProgress())
    grid = plots.sample_grid(data.x_train, data.y_train, data.image_shape, data.class_names, folder / "samples.png")
    if tracker:
        tracker.log_samples(data.x_train, data.y_train, data.image_shape, data.class_names, grid)
        all_callbacks.append(tracker)
    all_callbacks.extend(stoppers)  # after the loggers' hooks: the epoch that stops is still logged
    all_callbacks.extend(callbacks)

    status, message, exit_code = "finished", "", 0
    try:
        nn.fit(model, optimizer, data.x_train, data.y_train, epochs=config["epochs"],
               batch_size=config["batch_size"], loss=config["loss"], weight_decay=config["weight_decay"],
               l1=config["l1"], validation_data=data.validation, callbacks=all_callbacks, seed=config["seed"],
               shuffle=config["shuffle"])
    except nn.Diverged as error:
        status, message, exit_code = "diverged", str(error), 1
    except KeyboardInterrupt:
        status, message, exit_code = "interrupted", "interrupted by the user (Ctrl-C)", 130
    except BaseException:
        _close(tracker, history_writer, folder, {"status": "failed"}, 1)
        raise

    history = history_writer.history
    summary = {"status": status, "epochs_completed": len(history), "n_params": model.n_params}
    if best.best_epoch is not None:
        summary.update({f"best_{best.monitor}": best.best_value, "best_epoch": best.best_epoch})
    for stopper in stoppers:
        if stopper.stopped_epoch is not None:
            summary["stopped_early_at_epoch"] = stopper.stopped_epoch
            summary["stopped_by"] = type(stopper).__name__
    if any(isinstance(s, nn.EarlyStopping) for s in stoppers) and best.best_epoch is not None:
        summary["restored_weights_of_epoch"] = best.best_epoch  # the stopper restored them; testing uses them
    if history:
        summary["seconds_per_epoch"] = float(np.mean([h["seconds"] for h in history]))
        summary.update({k: v for k, v in history[-1].items() if k.startswith(("train_", "val_"))})
    if status == "finished":
        summary.update(_evaluate_test(model, data, config, folder, tracker))
        plots.curves_figure(history, folder / "curves.png", title=name)
        figures = {"curves": folder / "curves.png"}
        if config["plots"]:
            figures["first_layer_weights"] = plots.first_layer_figure(
                model.params["0.W"], data.image_shape, folder / "first_layer_weights.png", title=name)
            figures["weight_histograms"] = plots.weight_histograms(model, folder / "weight_histograms.png")
        if tracker:
            tracker.log_images(figures)
    if config["save_model"]:
        if status != "finished" and best.restore():
            summary["saved_model_epoch"] = best.best_epoch  # the last finite, best-validated weights
        if status == "finished" or best.best_epoch is not None:
            summary["model_path"] = str(model.save(folder / "model.npz"))
    where = _close(tracker, history_writer, folder, summary, exit_code)
    _report(say, status, message, summary, folder, where)
    return RunResult(status, history, summary, folder, message, model)


def _evaluate_test(model, data, config, folder, tracker) -> dict:
    from tracking import plots

    test_loss, test_accuracy = model.evaluate(data.x_test, data.y_test, loss=config["loss"])
    predictions = model.predict(data.x_test)
    counts = plots.confusion_counts(data.y_test, predictions, data.n_classes)
    figure = plots.confusion_figure(counts, data.class_names, folder / "confusion_matrix.png",
                                    title=f"{data.name} test set")
    np.savetxt(folder / "confusion_matrix.csv", counts, fmt="%d", delimiter=",")
    if tracker:
        tracker.log_confusion(data.y_test, predictions, data.class_names, figure)
    return {"test_loss": test_loss, "test_accuracy": test_accuracy}


def _close(tracker, history_writer, folder, summary, exit_code) -> str:
    from tracking import local

    local.write_history(folder, history_writer.history)
    local.write_json(folder / "summary.json", summary)
    if tracker is None:
        return ""
    tracker.set_summary({k: v for k, v in summary.items() if isinstance(v, (int, float, str))})
    return tracker.finish(exit_code)


def _report(say, status, message, summary, folder, where) -> None:
    if status == "finished":
        best = summary.get("best_val_accuracy")
        best_text = f" | best val_acc {best:.4f} (epoch {summary['best_epoch']})" if best is not None else ""
        say(f"test_acc {summary['test_accuracy']:.4f} | test_loss {summary['test_loss']:.4f}{best_text}")
    else:
        say(f"stopped: {message}")
    say(f"results: {folder}")
    if where:
        say(where)


@click.command(cls=OneLineErrors, help=__doc__,
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@_with_options
@click.pass_context
def cli(ctx, **config):
    import datasets

    given = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    explicit = {key: value for key, value in config.items() if ctx.get_parameter_source(key) in given}
    config = resolve_config(explicit)
    try:
        result = run(config, say=click.echo)
    except (datasets.DataUnavailable, datasets.DataError) as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    if result.status == "diverged":
        click.echo(f"Error: {result.message}", err=True)
        sys.exit(1)
    if result.status == "interrupted":
        sys.exit(130)


PARAMETERS.update({param.name: param for param in cli.params})

if __name__ == "__main__":
    cli()
