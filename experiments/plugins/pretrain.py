"""Greedy layer-wise pretraining of the hidden layers as stacked autoencoders (``--pretrain autoencoder``).

Hidden layer ``i`` (its Dense map and activation) is trained as the encoder of a
one-hidden-layer autoencoder on the codes of layer ``i - 1`` (the network's inputs for
``i = 0``): ``h = f(a W_i + b_i)``, ``a_hat = h V + c``, minimising the mean squared
reconstruction error ``(1/(N d)) sum ||a_hat - a||^2`` over the ``d`` values of each input
(:func:`reconstruction_error`: averaged over the values too, so 784 outputs do not make the
gradient 784 times larger than the run's learning rate expects), with the same loop and the run's
optimizer rule and learning rate. The decoder ``V, c`` is its own, **untied** from ``W_i``,
linear, and thrown away afterwards; the encoder's weights go back into the network. Then the
codes ``f(a W_i + b_i)`` feed layer ``i + 1``. After all hidden layers, the whole network is
fine-tuned on the labels as usual. Each layer's reconstruction loss is logged per pretraining
epoch (``pretrain/reconstruction_loss/<i>``, step axis ``pretrain_epoch``) and its final value
kept in the summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
import numpy as np

import nn
import optimizers
from nn.layers import ActivationLayer, Dense
from nn.tasks import Task

from ..errors import ConfigError
from ..options import Choice, option
from ..plugin import Changes, Plugin


@dataclass(frozen=True)
class PretrainConfig:
    title = "Autoencoder pretraining"
    pretrain: str = option(
        "none",
        "--pretrain",
        type=Choice(("none", "autoencoder")),
        help="Pretrain the hidden layers greedily, each as the code of a one-hidden-layer autoencoder on the codes "
        "below it, then fine-tune the whole network on the labels.",
    )
    pretrain_epochs: int = option(
        2,
        "--pretrain_epochs",
        "--pretrain-epochs",
        type=click.IntRange(min=1),
        help="Epochs of autoencoder training per hidden layer (with --pretrain autoencoder).",
    )


def reconstruction_error(z, y, need_grad=True):
    """``(1/(N d)) sum (z - y)^2`` and its gradient ``2 (z - y) / (N d)``."""
    value, grad = nn.losses.squared_error(z, y, need_grad)
    d = z.shape[1]
    if grad is not None:
        grad *= 1.0 / d
    return value / d, grad


RECONSTRUCTION = nn.Loss("reconstruction_error", Task.REGRESSION, "linear", reconstruction_error)


def hidden_blocks(model) -> list[tuple[Dense, ActivationLayer]]:
    """``(Dense, activation)`` of each hidden layer; ``ValueError`` if other layers sit between."""
    layers, blocks = model.layers, []
    for k, layer in enumerate(layers[:-1]):
        if isinstance(layer, Dense):
            following = layers[k + 1]
            if not isinstance(following, ActivationLayer):
                raise ValueError(
                    "autoencoder pretraining takes networks of Dense + activation blocks (no --norm, no --dropout)"
                )
            blocks.append((layer, following))
    return blocks


def pretrain(model, data, config, reporters, say) -> dict:
    """Pretrain every hidden layer in turn (``config`` a :class:`RunConfig`); return the summary entries."""
    seed, batch_size = config.data.seed, config.training.batch_size
    epochs = config.get(PretrainConfig).pretrain_epochs
    codes = data.x_train
    summary = {}
    for index, (dense, activation) in enumerate(hidden_blocks(model)):
        encoder = Dense(dense.n_in, dense.n_out, dense.weight_init)
        decoder = Dense(dense.n_out, dense.n_in, dense.weight_init)
        autoencoder = nn.Sequential(
            [encoder, ActivationLayer(activation.function.name), decoder],
            seed=seed + 101 * (index + 1),
            dtype=model.dtype,
        )
        encoder.params["W"][...], encoder.params["b"][...] = dense.params["W"], dense.params["b"]
        logger = _Logger(index, reporters)
        nn.fit(
            autoencoder,
            RECONSTRUCTION,
            optimizers.make(config.training.optimizer, **config.hyperparameters),
            nn.Batches(codes, codes, batch_size, seed=seed + index),
            epochs=epochs,
            callbacks=[logger],
        )
        dense.params["W"][...], dense.params["b"][...] = encoder.params["W"], encoder.params["b"]
        final = logger.losses[-1]
        summary[f"pretrain/reconstruction_loss/{index}"] = final
        say(
            f"pretrained hidden layer {index} as an autoencoder: reconstruction loss "
            f"{logger.losses[0]:.4f} -> {final:.4f} in {len(logger.losses)} epochs"
        )
        codes = _codes(dense, activation, codes)
    return summary


def _codes(dense, activation, inputs, chunk: int = 4096) -> np.ndarray:
    out = np.empty((len(inputs), dense.n_out), dtype=inputs.dtype)
    for i in range(0, len(inputs), chunk):
        out[i : i + chunk] = activation.forward(dense.forward(inputs[i : i + chunk]))
    return out


class _Logger(nn.Callback):
    def __init__(self, index, reporters):
        self.index, self.reporters, self.losses = index, reporters, []

    def on_epoch_end(self, epoch, metrics):
        self.losses.append(metrics["train_loss"])
        for reporter in self.reporters:
            reporter.log_scalars(
                "pretraining",
                {"pretrain_epoch": epoch, f"pretrain/reconstruction_loss/{self.index}": metrics["train_loss"]},
                step="pretrain_epoch",
            )


class Pretrain(Plugin[dict]):
    name = "pretrain"
    example = {"pretrain": "autoencoder", "pretrain_epochs": 1}
    changes = Changes(summary=("pretrain/reconstruction_loss/*",), files=("pretraining.csv",), trajectory=True)
    section = PretrainConfig
    name_slot = "data"

    def enabled(self, config):
        return config.get(PretrainConfig).pretrain != "none"

    def new_state(self) -> dict:
        return {}  # the pretraining's summary entries

    def check(self, config, data):
        model, reg = config.model, config.regularisation
        if model.norm != "none" or reg.dropout or not model.num_layers or model.arch != "mlp":
            raise ConfigError(
                "--pretrain autoencoder takes an mlp of Dense + activation hidden layers (no --norm, no --dropout, "
                "-nhl >= 1)"
            )

    def before_training(self, run):
        run.state_of(self).update(pretrain(run.model, run.data, run.config, run.reporters, run.say))

    def logged_metrics(self, config):
        return ["pretrain/reconstruction_loss/*"]

    def summarize(self, run):
        return dict(run.state_of(self))

    def name_part(self, config):
        return "_ae"
