"""Checks made before a run starts anything (W&B, folders, data copies): a configuration that
cannot work ends with one line and exit code 2, not a traceback half-way through."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import build
from .config import hidden_sizes


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


def memory_needed(config: dict, n_inputs: int, n_outputs: int) -> int:
    """Bytes a run will allocate beyond the data, estimated from the layer sizes before anything is built.

    Parameters live in: the parameters, their gradients, up to two optimizer slots, one scratch
    pair and the best-weights copy (6 copies). Activations: each layer keeps about four arrays
    of ``rows x width`` (output, cached input, gradient, a mask or pre-activation), for the
    training batch and for the 4,096-row evaluation chunks.
    """
    item = 4 if config["dtype"] == "float32" else 8
    sizes = [n_inputs] + hidden_sizes(config) + [n_outputs]
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    rows = config["batch_size"] + 4096
    return item * (6 * n_params + 4 * rows * sum(sizes))


def check(config: dict, data) -> None:
    """Raise :class:`ConfigError` for a configuration this data set and machine cannot run."""
    try:
        hidden_sizes(config)
    except ValueError as error:
        raise ConfigError(str(error)) from None
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
    if config["adv_train"] and not config["fgsm_eps"]:
        raise ConfigError("--adv_train needs --fgsm_eps > 0 (the size of the adversarial perturbation)")
    if config["pretrain"] != "none" and (config["norm"] != "none" or config["dropout"] or not config["num_layers"]):
        raise ConfigError("--pretrain autoencoder takes hidden layers of Dense + activation (no --norm, no "
                          "--dropout, -nhl >= 1)")
    needed, available = memory_needed(config, data.n_features, data.n_outputs), available_memory()
    if needed > available:
        raise ConfigError(f"a network of hidden sizes {hidden_sizes(config)} would need about "
                          f"{needed / 2 ** 30:.1f} GiB, more than the {available / 2 ** 30:.1f} GiB available; "
                          "use fewer or smaller hidden layers")
    check_writable(config["output_dir"], "--output_dir")


def check_writable(folder, flag: str) -> None:
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(f"{flag} {folder}: cannot write there ({error.strerror or error})") from None
