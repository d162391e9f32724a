"""Figure titles as short sentences ("Fashion-MNIST, 5 × 128 ReLU, Adam 0.001, 10 epochs") instead
of the run's name (``hl_5_sz_128_bs_64_ac_ReLU_o_adam_lr_0.001``), which stays the folder's and
W&B's name."""

from __future__ import annotations

from experiments.sections import RunConfig

DATASETS = {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST", "breast_cancer": "breast cancer"}
OPTIMIZERS = {
    "sgd": "SGD",
    "momentum": "momentum",
    "nag": "NAG",
    "rmsprop": "RMSProp",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "Nadam",
    "adagrad": "AdaGrad",
    "eve": "Eve",
}


def dataset_title(name: str) -> str:
    """``fashion_mnist`` -> ``Fashion-MNIST``; a file's path -> its file name."""
    return DATASETS.get(name, name.replace("\\", "/").rsplit("/", 1)[-1].replace("_", " "))


def network_title(config: RunConfig) -> str:
    """``5 × 128 ReLU``, ``128-64 tanh``, ``cnn 32-64 (3×3) + 1 × 128 ReLU``, ``no hidden layer``."""
    model = config.model
    size = model.hidden_size
    if not model.num_layers:
        dense = "no hidden layer"
    elif isinstance(size, tuple):
        dense = f"{'-'.join(map(str, size))} {model.activation}"
    else:
        dense = f"{model.num_layers} × {size} {model.activation}"
    if model.arch != "mlp":
        filters = "-".join(map(str, model.conv_filters()))
        k = model.kernel_size
        dense = f"{model.arch} {filters} ({k}×{k})" + ("" if not model.num_layers else f" + {dense}")
    if model.norm != "none":
        dense += f", {model.norm} norm"
    return dense


def run_title(config: RunConfig, epochs: int | None = None, pixels: bool = False) -> str:
    """The run as a sentence: data set (with its pixels permuted, when they are; ``pixels``: also say
    when they are not), network, optimizer and rate, epochs (``epochs``: those run, when fewer than
    configured), and a loss and dropout that differ from the defaults."""
    data, training = config.data, config.training
    parts = [dataset_title(data.dataset)]
    if data.permute_pixels:
        parts[0] += " with its pixels permuted"
    elif pixels:
        parts[0] += " with its pixels in place"
    parts.append(network_title(config))
    parts.append(f"{OPTIMIZERS.get(training.optimizer, training.optimizer)} {config.learning_rate:g}")
    ran = training.epochs if epochs is None else epochs
    parts.append(f"{ran} epoch{'s' if ran != 1 else ''}")
    if training.loss != "cross_entropy":
        parts.append(training.loss.replace("_", " ") + " loss")
    if config.regularisation.dropout:
        parts.append(f"dropout {config.regularisation.dropout:g}")
    return ", ".join(parts)
