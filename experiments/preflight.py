"""Checks made before a run starts anything (W&B, folders, data copies): a configuration that
cannot work ends with one line and exit code 2, not a traceback half-way through."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import nn

from . import build
from .errors import ConfigError

if TYPE_CHECKING:
    from .sections import RunConfig

__all__ = ["check", "check_writable", "memory_needed"]


def memory_needed(layers: list, n_inputs: int, config: RunConfig) -> int:
    """Bytes a run will allocate beyond the data, estimated from the layers before any array is made.

    Parameters live in: the parameters, their gradients, up to two optimizer slots, one scratch
    pair and the best-weights copy (6 copies). Activations: each layer keeps about four arrays
    of its output's size (output, cached input, gradient, a mask or pre-activation), and a
    convolution or pooling layer two more of its patches (im2col and its gradient), for the
    training batch and for the evaluation chunks. Shapes come from the layers themselves
    (:func:`nn.layer_shapes`).
    """
    item = 4 if config.model.dtype == "float32" else 8
    n_params = sum(nn.summary.n_params(layer) for layer in layers)
    per_row = n_inputs + sum(
        4 * math.prod(shape) + 2 * patches for _, shape, patches in nn.layer_shapes(layers, n_inputs)
    )
    chunk = nn.model.eval_batch_size(layers)
    return item * (6 * n_params + (config.training.batch_size + chunk) * per_row)


def check(config: RunConfig, data, plugins=()) -> None:
    """Raise :class:`ConfigError` for a configuration this data set and machine cannot run
    (each enabled plugin checks its own section)."""
    model = config.model
    try:
        build.loss_for(config, data.task)
        build.output_units(config, data.n_outputs)  # binary_cross_entropy: two classes
    except ValueError as error:
        raise ConfigError(f"--loss {config.training.loss} on {data.name}: {error}") from None
    try:
        layers = build.layers_for(config, data.n_features, data.n_outputs, data.image_shape)
    except ValueError as error:
        raise ConfigError(
            f"--arch {model.arch} on {data.name}: {error}" if model.arch != "mlp" else str(error)
        ) from None
    try:
        build.optimizer_for(config)
    except ValueError as error:
        raise ConfigError(f"--optimizer {config.training.optimizer}: {error}") from None
    for plugin in plugins:
        plugin.check(config, data)
    needed, available = memory_needed(layers, data.n_features, config), nn.model.available_memory()
    if needed > available:
        what = (
            f"hidden sizes {model.hidden_sizes()}"
            if model.arch == "mlp"
            else f"--arch {model.arch} --filters {' '.join(map(str, model.conv_filters()))}"
        )
        raise ConfigError(
            f"a network of {what} would need about {needed / 2**30:.1f} GiB, more than the "
            f"{available / 2**30:.1f} GiB available; use fewer or smaller layers"
        )
    check_writable(config.tracking.output_dir, "--output_dir")


def check_writable(folder, flag: str) -> None:
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(f"{flag} {folder}: cannot write there ({error.strerror or error})") from None
