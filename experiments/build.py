"""From a configuration to the objects that train: model, loss, optimizer."""

from __future__ import annotations

import numpy as np

import nn
import optimizers
from nn import losses

from .config import conv_filters, hidden_sizes


def loss_for(config: dict, task: str) -> nn.Loss:
    """The loss ``config["loss"]`` means on a ``task`` data set (``ValueError`` if it does not fit)."""
    return losses.with_label_smoothing(losses.for_task(config["loss"], task), config.get("label_smoothing", 0.0))


def model_for(config: dict, n_inputs: int, n_outputs: int, image_shape=None) -> nn.Sequential:
    """The ``--arch`` network: ``mlp`` on ``n_inputs`` features; ``cnn`` / ``localnet`` on images of
    ``image_shape`` (held as vectors of ``n_inputs`` values). ``ValueError`` if it cannot be built."""
    return nn.Sequential(
        layers_for(config, n_inputs, n_outputs, image_shape), seed=config["seed"], dtype=np.dtype(config["dtype"])
    )


def layers_for(config: dict, n_inputs: int, n_outputs: int, image_shape=None) -> list:
    """The layers of :func:`model_for`, before any parameter is allocated."""
    common = {
        "activation": config["activation"],
        "weight_init": config["weight_init"],
        "norm": config["norm"],
        "dropout": config["dropout"],
    }
    arch = config.get("arch", "mlp")
    if arch == "mlp":
        return nn.builders.dense_stack([n_inputs, *hidden_sizes(config), n_outputs], **common)
    if image_shape is None:
        raise ValueError("needs an image data set (fashion_mnist, mnist or digits)")
    return nn.builders.convnet_layers(
        image_shape,
        n_outputs,
        filters=conv_filters(config),
        kernel_size=config["kernel_size"],
        stride=config["stride"],
        padding=config["padding"],
        pool=config["pool"],
        hidden=hidden_sizes(config),
        locally_connected=arch == "localnet",
        **common,
    )


def optimizer_for(config: dict) -> optimizers.Optimizer:
    hyperparameters = {name: config[name] for name in optimizers.Hyperparameters.__dataclass_fields__}
    return optimizers.make(config["optimizer"], **hyperparameters)
