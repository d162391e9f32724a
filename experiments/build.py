"""From a configuration to the objects that train: model, loss, optimizer."""
from __future__ import annotations

import numpy as np

import nn
import optimizers
from nn import losses

from .config import hidden_sizes


def loss_for(config: dict, task: str) -> nn.Loss:
    """The loss ``config["loss"]`` means on a ``task`` data set (``ValueError`` if it does not fit)."""
    return losses.for_task(config["loss"], task)


def model_for(config: dict, n_inputs: int, n_outputs: int) -> nn.Sequential:
    sizes = [n_inputs] + hidden_sizes(config) + [n_outputs]
    return nn.mlp(sizes, activation=config["activation"], weight_init=config["weight_init"], norm=config["norm"],
                  dropout=config["dropout"], seed=config["seed"], dtype=np.dtype(config["dtype"]))


def optimizer_for(config: dict) -> optimizers.Optimizer:
    hyperparameters = {name: config[name] for name in optimizers.Hyperparameters.__dataclass_fields__}
    return optimizers.make(config["optimizer"], **hyperparameters)
