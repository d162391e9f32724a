"""Builders: the networks the tool trains, as :class:`nn.Sequential` models."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .layers import (
    NORMS,
    ActivationLayer,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    LocallyConnected2D,
    MaxPool2D,
    Reshape,
)
from .layers.patches import output_size
from .model import Sequential

PADDINGS = ("same", "valid")


def dense_stack(
    sizes: Sequence[int], *, activation: str, weight_init: str, norm: str = "none", dropout: float = 0.0
) -> list[Layer]:
    """``[Dense -> norm -> activation -> dropout] * (len(sizes) - 2) -> Dense`` (``sizes`` includes in and out)."""
    norm_layer = NORMS[norm]
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Dense(n_in, n_out, weight_init))
        if i < len(sizes) - 2:
            if norm_layer is not None:
                layers.append(norm_layer(n_out))
            layers.append(ActivationLayer(activation))
            if dropout > 0.0:
                layers.append(Dropout(dropout))
    return layers


def mlp(
    sizes: Iterable[int],
    *,
    activation: str,
    weight_init: str,
    norm: str = "none",
    dropout: float = 0.0,
    seed: int = 0,
    dtype: DTypeLike = np.float32,
) -> Sequential:
    """Fully connected network ``x -> [Dense -> norm -> activation -> dropout] * H -> Dense``.

    ``sizes = [n_inputs, hidden_1, ..., hidden_H, n_outputs]``, e.g.
    ``[784, 128, 128, 10]``: any depth and widths, ``H = 0`` gives a linear
    model. ``norm`` (``none``, ``batch``, ``layer``) sits between each hidden
    linear map and its activation; ``dropout`` is the rate of the inverted
    dropout after each hidden activation (0: none). The last layer is linear:
    a softmax, if any, belongs to the loss (:mod:`nn.losses`).
    """
    widths = [int(n) for n in sizes]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"sizes needs at least an input and an output size, all >= 1; got {widths}")
    layers = dense_stack(widths, activation=activation, weight_init=weight_init, norm=norm, dropout=dropout)
    return Sequential(layers, seed=seed, dtype=dtype)


def convnet(
    image_shape: Iterable[int], n_outputs: int, *, seed: int = 0, dtype: DTypeLike = np.float32, **options: Any
) -> Sequential:
    """The network of :func:`convnet_layers` (same arguments) as a model."""
    return Sequential(convnet_layers(image_shape, n_outputs, **options), seed=seed, dtype=dtype)


def convnet_layers(
    image_shape: Iterable[int],
    n_outputs: int,
    *,
    filters: Iterable[int],
    kernel_size: int = 3,
    stride: int = 1,
    padding: str = "same",
    pool: int = 2,
    hidden: Iterable[int] = (),
    activation: str,
    weight_init: str,
    norm: str = "none",
    dropout: float = 0.0,
    locally_connected: bool = False,
) -> list[Layer]:
    """Convolutional (or, with ``locally_connected``, LocalNet) network on images held as vectors::

        x -> Reshape(H, W, C) -> [Conv2D -> norm -> activation -> MaxPool] per entry of filters
          -> Flatten -> [Dense -> norm -> activation -> dropout] per entry of hidden -> Dense

    ``image_shape`` is ``(H, W)`` or ``(H, W, C)``; ``filters`` the channels of each
    convolution (``[32, 64]``); ``padding`` ``same`` (``(k - 1) // 2`` zeros: the size is kept at
    stride 1) or ``valid`` (none); ``pool`` the max-pooling window and stride after each
    convolution (``<= 1``: no pooling, skipped too when the map is smaller than the window).
    Batch norm after a convolution normalises each channel; dropout acts in the dense part only.
    """
    shape = tuple(int(v) for v in image_shape)
    h, w, c = shape if len(shape) == 3 else (*shape, 1)
    channels = [int(f) for f in filters]
    if not channels or min(channels) < 1:
        raise ValueError(f"filters needs at least one convolution of >= 1 filters, got {channels}")
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, not {padding!r}")
    pad = (kernel_size - 1) // 2 if padding == "same" else 0
    norm_layer = NORMS[norm]
    layers: list[Layer] = [Reshape((h, w, c))]
    for f in channels:
        if output_size(min(h, w), kernel_size, stride, pad) < 1:
            raise ValueError(
                f"a {kernel_size}x{kernel_size} kernel does not fit the {h}x{w} maps of layer "
                f"{len(layers)}; use fewer convolutions, a smaller kernel or pooling"
            )
        if locally_connected:
            layers.append(LocallyConnected2D(c, f, kernel_size, stride, pad, weight_init, input_hw=(h, w)))
        else:
            layers.append(Conv2D(c, f, kernel_size, stride, pad, weight_init))
        h, w, c = output_size(h, kernel_size, stride, pad), output_size(w, kernel_size, stride, pad), f
        if norm_layer is not None:
            layers.append(norm_layer(c))
        layers.append(ActivationLayer(activation))
        if pool > 1 and min(h, w) >= pool:
            layers.append(MaxPool2D(pool))
            h, w = h // pool, w // pool
    layers.append(Flatten())
    sizes = [h * w * c, *[int(n) for n in hidden], int(n_outputs)]
    return layers + dense_stack(sizes, activation=activation, weight_init=weight_init, norm=norm, dropout=dropout)
