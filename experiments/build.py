"""From a configuration to the objects that train: model, loss, optimizer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import nn
import optimizers
from nn import losses

from .errors import ConfigError

if TYPE_CHECKING:
    from .sections import RunConfig


def loss_for(config: RunConfig, task: str) -> nn.Loss:
    """The loss ``--loss`` means on a ``task`` data set (``ValueError`` if it does not fit)."""
    return losses.for_task(config.training.loss, task)


def output_units(config: RunConfig, n_outputs: int) -> int:
    """The network's output units for a data set that has ``n_outputs`` (its classes, or its regression
    targets: ``Dataset.n_outputs``), as ``--loss`` decides: one per class or target, or one sigmoid unit for
    ``binary_cross_entropy`` (``ValueError`` unless the data set has two classes)."""
    return losses.get(config.training.loss).units(n_outputs)


def model_for(config: RunConfig, n_inputs: int, n_outputs: int, image_shape=None) -> nn.Sequential:
    """The ``--arch`` network: ``mlp`` on ``n_inputs`` features; ``cnn`` / ``localnet`` on images of
    ``image_shape`` (held as vectors of ``n_inputs`` values); ``n_outputs`` is the data set's (its classes or
    targets), the network has :func:`output_units` of them. ``ValueError`` if it cannot be built."""
    return nn.Sequential(
        layers_for(config, n_inputs, n_outputs, image_shape),
        seed=config.data.seed,
        dtype=np.dtype(config.model.dtype),
    )


def layers_for(config: RunConfig, n_inputs: int, n_outputs: int, image_shape=None) -> list:
    """The layers of :func:`model_for`, before any parameter is allocated."""
    model = config.model
    n_outputs = output_units(config, n_outputs)
    common: dict[str, Any] = {
        "activation": model.activation,
        "weight_init": model.weight_init,
        "norm": model.norm,
        "dropout": config.regularisation.dropout,
    }
    if model.arch == "mlp":
        return nn.builders.dense_stack([n_inputs, *model.hidden_sizes(), n_outputs], **common)
    if image_shape is None:
        raise ValueError(
            "needs an image data set (fashion_mnist, mnist, cifar10, digits, an image folder or an NPZ of images)"
        )
    return nn.builders.convnet_layers(
        image_shape,
        n_outputs,
        filters=model.conv_filters(),
        kernel_size=model.kernel_size,
        stride=model.stride,
        padding=model.padding,
        pool=model.pool,
        hidden=model.hidden_sizes(),
        locally_connected=model.arch == "localnet",
        **common,
    )


def summary_of(config: RunConfig) -> str:
    """``train.py --summary``: the network ``config`` builds for its data set, layer by layer (loads the data
    set for its shape; a configuration that cannot be built is a ``ConfigError``)."""
    from .session import load_data

    data = load_data(config.replace(val_fraction=0.0))
    try:
        model = model_for(config, data.n_features, data.n_outputs, data.image_shape)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return model.summary(data.n_features)


def optimizer_for(config: RunConfig) -> optimizers.Optimizer:
    """The ``--optimizer`` rule with its own hyperparameters (it takes the ones it declares)."""
    return optimizers.make(config.training.optimizer, **config.hyperparameters)
