"""``--latent``, ``--dynamics``, ``--maximize``: the options of the "Looking inside the network" studies
(:mod:`.latent`, :mod:`.dynamics`, :mod:`.maximize`), and what they share: where a network's hidden
representations are and how to read them off a forward pass.

A network is a list of layers (:class:`nn.Sequential`); its *weighted* layers (Dense, Conv2D,
LocallyConnected2D) are the linear maps. A hidden representation is what one hidden block hands to the
next weighted layer: the input of every weighted layer but the first, i.e. the output of a hidden
block's activation (after its max pooling in a conv block; dropout is the identity in evaluation mode).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import click
import numpy as np

from nn.layers import ActivationLayer, Conv2D, Dense, LocallyConnected2D, MaxPool2D

from ..options import Choice, option

WEIGHTED = (Dense, Conv2D, LocallyConnected2D)


@dataclass(frozen=True)
class InsideConfig:
    title = "Looking inside the network"
    latent: str = option(
        "none",
        "--latent",
        type=Choice(("none", "pca", "tsne")),
        help="After training, project each hidden layer's activations on up to 2,000 test samples to 2-D "
        "(scikit-learn's PCA or t-SNE) and scatter them coloured by class (by target value for regression): "
        "latent.png.",
    )
    dynamics: bool = option(
        False,
        "--dynamics",
        help="Watch training inside the network: per-layer gradient norms (gradient_norms.png), weight and "
        "activation percentiles per epoch (weight_spread.png; histograms in W&B) and dead-ReLU fractions "
        "(dead_relu.png).",
    )
    maximize: int = option(
        0,
        "--maximize",
        type=click.IntRange(min=0),
        help="After training, draw for N units of the first and of the last hidden layer the input that excites "
        "each most (gradient ascent on the input; image data sets only): maximize.png. 0: off.",
    )


def inside(config) -> InsideConfig:
    return config.get(InsideConfig)


def layer_outputs(model, x: np.ndarray, positions: Iterable[int], chunk: int | None = None) -> dict[int, np.ndarray]:
    """The outputs of the layers at ``positions`` (indices into ``model.layers``) for inputs ``x``, in
    evaluation mode, computed in chunks of ``chunk`` rows (default: the model's evaluation chunk)."""
    wanted = sorted(set(positions))
    if not wanted:
        return {}
    x = model.as_input(x)
    chunk = chunk or model.eval_batch_size
    parts: dict[int, list[np.ndarray]] = {p: [] for p in wanted}
    for start in range(0, len(x), chunk):
        values = x[start : start + chunk]
        for position, layer in enumerate(model.layers[: wanted[-1] + 1]):
            values = layer.forward(values)
            if position in parts:
                parts[position].append(values.copy())  # layers reuse their output buffers
    return {p: np.concatenate(chunks) for p, chunks in parts.items()}


@dataclass
class Representation:
    """A hidden representation: ``position`` of the layer whose output it is, and its ``title`` for a figure."""

    position: int
    title: str


def representations(model) -> list[Representation]:
    """Every hidden representation of ``model``, input side first (see the module's docstring)."""
    layers = model.layers
    weighted = [k for k, layer in enumerate(layers) if isinstance(layer, WEIGHTED)]
    return [Representation(after - 1, _title(layers[before:after])) for before, after in itertools.pairwise(weighted)]


def _title(block) -> str:
    """``dense_0 + ReLU (128 units)``, ``conv2d_1 + ReLU + pool (64 maps)``: a hidden block, from its
    weighted layer up to (not including) the next one."""
    source = block[0]
    parts = [source.name]
    parts += [layer.function.name for layer in block if isinstance(layer, ActivationLayer)]
    parts += ["pool" for layer in block if isinstance(layer, MaxPool2D)]
    size = f"{source.n_out} units" if isinstance(source, Dense) else f"{source.filters} maps"
    return f"{' + '.join(parts)} ({size})"


def dense_hidden_layers(model) -> list[tuple[Dense, int]]:
    """The dense hidden layers: ``(their Dense, the position of their activation)``, input side first;
    the pre-activation ``z`` of such a layer is the output of the layer just before its activation
    (the Dense, or the normalisation after it)."""
    found, last = [], None
    for position, layer in enumerate(model.layers):
        if isinstance(layer, WEIGHTED):
            last = layer
        elif isinstance(layer, ActivationLayer) and isinstance(last, Dense):
            found.append((last, position))
            last = None
    return found
