"""Checkpoints: everything a training run needs to continue bit for bit, in one ``.npz``.

A checkpoint holds the model's parameters and layer state, the optimizer's
state (:func:`optimizers.state_to_arrays` layout, under ``optimizer/``), the
states of the two random generators that training draws from (the batch
order of :class:`nn.Batches` and the model's noise for dropout), the number
of epochs completed, the history so far, the best weights kept by
:class:`nn.BestWeights` and the caller's own ``metadata`` (a JSON object: the
run's configuration hash, which :func:`metadata` reads back without the
arrays). No pickle: arrays, and one JSON string for the rest. It is written to
a temporary file and renamed, so a run killed while saving leaves the previous
checkpoint intact. Non-finite weights (current or best) are refused on restore.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .callbacks import BestWeights
from .files import NPZ_READ_ERRORS, atomic_path, npz_problem

if TYPE_CHECKING:
    from .model import Sequential
    from .training import Batches


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model; the message names the file."""


def save(
    path: str | PathLike[str],
    *,
    model: Sequential,
    optimizer_arrays: dict[str, np.ndarray],
    batches: Batches,
    epoch: int,
    history: list[dict[str, Any]],
    best: BestWeights,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write the checkpoint; ``metadata`` (JSON) is kept beside it for :func:`metadata`."""
    path = Path(path)
    header = {
        "metadata": metadata or {},
        "epoch": epoch,
        "history": history,
        "batch_rng": batches.rng.bit_generator.state,
        "noise_rng": model.noise_rng.bit_generator.state,
        "best": {"value": best.best_value, "epoch": best.best_epoch, "monitor": best.monitor},
    }
    arrays = {"__header__": np.array(json.dumps(header, default=float))}
    arrays.update({f"params/{k}": v for k, v in model.params.items()})
    arrays.update({f"state/{k}": v for k, v in model.state().items()})
    arrays.update({f"optimizer/{k}": v for k, v in optimizer_arrays.items()})
    if best.weights is not None:
        arrays["best/weights"] = best.weights
        arrays.update({f"best/state/{k}": v for k, v in best.layer_state.items()})
    with atomic_path(path) as temporary:
        np.savez(temporary, allow_pickle=False, **arrays)  # restore reads without pickle, too


def metadata(path: str | PathLike[str]) -> dict[str, Any]:
    """The ``metadata`` the checkpoint was saved with (``{}`` for one saved without, or by an older version)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["__header__"]))
    except NPZ_READ_ERRORS as error:
        raise CheckpointError(f"{path}: not a readable checkpoint ({npz_problem(error)})") from None
    found = header.get("metadata") if isinstance(header, dict) else None
    return found if isinstance(found, dict) else {}


def _finite(path, name: str, array: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        raise CheckpointError(f"{path}: {name} holds non-finite values (nan or inf); it cannot resume")
    return array


def restore(
    path: str | PathLike[str], *, model: Sequential, batches: Batches, best: BestWeights
) -> tuple[int, list[dict[str, Any]], dict[str, np.ndarray]]:
    """Load a checkpoint into ``model``, ``batches`` and ``best``; return ``(epoch, history, optimizer arrays)``.
    Non-finite parameters, or non-finite best weights, are a :class:`CheckpointError`: the run would
    go on from (or save as its best) weights that have diverged."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["__header__"]))
            for name, array in model.params.items():
                stored = archive[f"params/{name}"]
                if stored.shape != array.shape:
                    raise CheckpointError(f"{path}: {name} has shape {stored.shape}, the model needs {array.shape}")
                array[...] = _finite(path, name, stored)
            model.set_state({k[len("state/") :]: archive[k] for k in archive.files if k.startswith("state/")})
            optimizer_arrays = {
                k[len("optimizer/") :]: np.array(archive[k]) for k in archive.files if k.startswith("optimizer/")
            }
            if "best/weights" in archive.files:
                best.weights = _finite(path, "best/weights", np.array(archive["best/weights"]))
                best.layer_state = {
                    k[len("best/state/") :]: _finite(path, k, np.array(archive[k]))
                    for k in archive.files
                    if k.startswith("best/state/")
                }
    except CheckpointError:
        raise
    except NPZ_READ_ERRORS as error:  # an unreadable archive, a missing array, bad JSON (a ValueError)
        raise CheckpointError(f"{path}: not a readable checkpoint ({npz_problem(error)})") from None
    batches.rng.bit_generator.state = header["batch_rng"]
    model.noise_rng.bit_generator.state = header["noise_rng"]
    best.best_value, best.best_epoch = header["best"]["value"], header["best"]["epoch"]
    return header["epoch"], header["history"], optimizer_arrays
