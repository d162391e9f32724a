"""Builders: the networks the tool trains, as :class:`nn.Sequential` models."""
from __future__ import annotations

import numpy as np

from .layers import NORMS, ActivationLayer, Dense, Dropout
from .model import Sequential


def mlp(sizes, *, activation: str, weight_init: str, norm: str = "none", dropout: float = 0.0,
        seed: int = 0, dtype=np.float32) -> Sequential:
    """Fully connected network ``x -> [Dense -> norm -> activation -> dropout] * H -> Dense``.

    ``sizes = [n_inputs, hidden_1, ..., hidden_H, n_outputs]``, e.g.
    ``[784, 128, 128, 10]``: any depth and widths, ``H = 0`` gives a linear
    model. ``norm`` (``none``, ``batch``, ``layer``) sits between each hidden
    linear map and its activation; ``dropout`` is the rate of the inverted
    dropout after each hidden activation (0: none). The last layer is linear:
    a softmax, if any, belongs to the loss (:mod:`nn.losses`).
    """
    sizes = [int(n) for n in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes needs at least an input and an output size, all >= 1; got {sizes}")
    norm_layer = NORMS[norm]
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, weight_init))
        if i < len(sizes) - 2:
            if norm_layer is not None:
                layers.append(norm_layer(n_out))
            layers.append(ActivationLayer(activation))
            if dropout > 0.0:
                layers.append(Dropout(dropout))
    return Sequential(layers, seed=seed, dtype=dtype)
