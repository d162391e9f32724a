"""Checks made before a run starts anything (W&B, folders, data copies): a configuration that
cannot work ends with one line and exit code 2, not a traceback half-way through."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import nn

from . import build
from .config import conv_filters, hidden_sizes


class ConfigError(ValueError):
    """A configuration that cannot run: the message is the one line the user sees."""


def available_memory() -> int:
    """Bytes the process may still allocate: MemAvailable of /proc/meminfo (physical memory elsewhere)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_needed(layers: list, n_inputs: int, config: dict) -> int:
    """Bytes a run will allocate beyond the data, estimated from the layers before any array is made.

    Parameters live in: the parameters, their gradients, up to two optimizer slots, one scratch
    pair and the best-weights copy (6 copies). Activations: each layer keeps about four arrays
    of its output's size (output, cached input, gradient, a mask or pre-activation), and a
    convolution or pooling layer two more of its patches (im2col and its gradient), for the
    training batch and for the evaluation chunks.
    """
    item = 4 if config["dtype"] == "float32" else 8
    n_params = sum(math.prod(shape) for layer in layers for shape in layer.param_shapes().values())
    shape, per_row = (n_inputs,), n_inputs
    for layer in layers:
        shape, patches = output_shape(layer, shape)
        per_row += 4 * math.prod(shape) + 2 * patches
    rows = config["batch_size"] + min([4096, *(layer.eval_batch_size for layer in layers if layer.eval_batch_size)])
    return item * (6 * n_params + rows * per_row)


def output_shape(layer, shape: tuple) -> tuple[tuple, int]:
    """A layer's output shape (without the batch axis) for an input of ``shape``, and its patch values per row."""
    if isinstance(layer, nn.layers.Reshape):
        return layer.shape, 0
    if isinstance(layer, nn.layers.Flatten):
        return (math.prod(shape),), 0
    if isinstance(layer, nn.layers.Dense):
        return (layer.n_out,), 0
    if isinstance(layer, (nn.layers.Conv2D, nn.layers.LocallyConnected2D)):
        ho, wo = layer._output_hw(*shape[:2])
        return (ho, wo, layer.filters), ho * wo * layer.patch_size
    if isinstance(layer, nn.layers.MaxPool2D):
        ho, wo = ((size - layer.pool_size) // layer.stride + 1 for size in shape[:2])
        return (ho, wo, shape[2]), ho * wo * layer.pool_size**2 * shape[2]
    return shape, 0  # element-wise: activations, normalisation, dropout


def check(config: dict, data) -> None:
    """Raise :class:`ConfigError` for a configuration this data set and machine cannot run."""
    try:
        layers = build.layers_for(config, data.n_features, data.n_outputs, data.image_shape)
    except ValueError as error:
        raise ConfigError(
            f"--arch {config['arch']} on {data.name}: {error}" if config["arch"] != "mlp" else str(error)
        ) from None
    try:
        build.loss_for(config, data.task)
    except ValueError as error:
        raise ConfigError(f"--loss {config['loss']} on {data.name}: {error}") from None
    try:
        build.optimizer_for(config)
    except ValueError as error:
        raise ConfigError(f"--optimizer {config['optimizer']}: {error}") from None
    if (config["fgsm_eps"] or config["adv_train"]) and (data.image_shape is None or data.task != "classification"):
        raise ConfigError(f"--fgsm_eps and --adv_train need an image classification data set, not {data.name}")
    if config["augment"] and (data.image_shape is None or data.task != "classification"):
        raise ConfigError(f"--augment shifts images: it needs an image classification data set, not {data.name}")
    if config["augment"] and config["augment"] >= min(data.image_shape):
        raise ConfigError(
            f"--augment {config['augment']}: a shift must be smaller than the "
            f"{data.image_shape[0]}x{data.image_shape[1]} images"
        )
    if config["adv_train"] and not config["fgsm_eps"]:
        raise ConfigError("--adv_train needs --fgsm_eps > 0 (the size of the adversarial perturbation)")
    if config["pretrain"] != "none" and (
        config["norm"] != "none" or config["dropout"] or not config["num_layers"] or config["arch"] != "mlp"
    ):
        raise ConfigError(
            "--pretrain autoencoder takes an mlp of Dense + activation hidden layers (no --norm, no "
            "--dropout, -nhl >= 1)"
        )
    needed, available = memory_needed(layers, data.n_features, config), available_memory()
    if needed > available:
        what = (
            f"hidden sizes {hidden_sizes(config)}"
            if config["arch"] == "mlp"
            else f"--arch {config['arch']} --filters {' '.join(map(str, conv_filters(config)))}"
        )
        raise ConfigError(
            f"a network of {what} would need about {needed / 2**30:.1f} GiB, more than the "
            f"{available / 2**30:.1f} GiB available; use fewer or smaller layers"
        )
    check_writable(config["output_dir"], "--output_dir")


def check_writable(folder, flag: str) -> None:
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(f"{flag} {folder}: cannot write there ({error.strerror or error})") from None
