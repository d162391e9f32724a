"""A sequential model over one contiguous parameter buffer."""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import summary as _summary
from .files import NPZ_READ_ERRORS, atomic_path, npz_problem
from .layers import LAYERS, Layer
from .layers.base import Shape
from .layers.dense import fuse_dense_relu
from .layers.pooling import fuse_relu_pooling

FORMAT_VERSION = 2
DEFAULT_EVAL_BATCH = 4096
"""Rows per evaluation chunk (prediction, validation, test) unless a layer asks for fewer: see
:func:`eval_batch_size`."""

_UNREADABLE: tuple[type[Exception], ...] = (*NPZ_READ_ERRORS, AttributeError)
"""What :meth:`Sequential.load` turns into :class:`ModelFileError`: an unreadable archive
(:data:`nn.files.NPZ_READ_ERRORS`: missing arrays are KeyErrors, bad JSON ValueErrors, a layer's
configuration refused by its constructor a TypeError or ValueError), and a header that is JSON but not
an object (AttributeError)."""


def eval_batch_size(layers: Iterable[Layer]) -> int:
    """Rows per evaluation chunk for these layers: :data:`DEFAULT_EVAL_BATCH` (4,096), or fewer when a
    layer asks for fewer (convolutions and pooling: their patches are large)."""
    return min([DEFAULT_EVAL_BATCH, *(layer.eval_batch_size for layer in layers if layer.eval_batch_size)])


class ModelFileError(ValueError):
    """A model file that cannot be loaded; the message names the file."""


def name_layers(layers: list[Layer]) -> None:
    """Name each unnamed layer ``<kind>_<k>`` (``dense_0``, ``dense_1``, ...); a ``ValueError`` if two
    layers share a name."""
    counts: dict[str, int] = {}
    for layer in layers:
        if not layer.name:
            layer.name = f"{layer.kind}_{counts.get(layer.kind, 0)}"
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be unique, got {names}")


def available_memory() -> int:
    """Bytes the process may still allocate: ``MemAvailable`` of ``/proc/meminfo`` (Linux), else the
    physical memory."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as handle:
            found = [line.split()[1] for line in handle if line.startswith("MemAvailable:")]
        return int(found[0]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class Sequential:
    """Layers applied in order: ``forward`` feeds each layer's output to the next,
    ``backward`` runs them in reverse and returns ``dL/dx``.

    Every parameter is a view into one buffer, :attr:`flat_params`, with the
    decayed parameters (the weights) first, so weight decay is one slice; the
    gradients likewise live in :attr:`flat_grads`. ``params`` and ``grads``
    hold the same views by qualified name ``"<layer name>.<param>"``; a layer
    without a name is named ``<kind>_<k>`` (``dense_0``, ``dense_1``,
    ``batch_norm_0``, ...), so names never collide.

    ``seed`` fixes the initial weights (one generator, handed to the layers in
    order) and, through a second generator, the training noise (dropout
    masks). The dtype (float32 by default) is kept by parameters, gradients
    and activations.

    Regularisation of the decayed parameters ``W``: L2 coupled to the gradient
    (PyTorch's ``weight_decay``): the objective gains ``(lambda / 2) * sum ||W||^2``
    and its gradient ``lambda * W``; L1 adds ``mu * sum |W|`` and ``mu * sign(W)``
    (the subgradient 0 at 0). See :meth:`penalty` and :meth:`add_penalty_grad`.
    """

    def __init__(self, layers: Iterable[Layer], seed: int = 0, dtype: DTypeLike = np.float32) -> None:
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("a model needs at least one layer")
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, not {self.dtype}")
        name_layers(self.layers)
        for layer in self.layers:
            layer.unlink()
        fuse_relu_pooling(self.layers)
        fuse_dense_relu(self.layers)  # after: a ReLU before a pooling stays the pooling's
        self.metadata: dict[str, Any] = {}
        self._first_with_params = next((i for i, layer in enumerate(self.layers) if layer.param_shapes()), 0)
        self._allocate()
        init_rng = np.random.default_rng(self.seed)
        self.noise_rng = np.random.default_rng([self.seed, 3])  # apart from the weights' stream
        for layer in self.layers:
            layer.initialise(init_rng, self.noise_rng)

    # -- parameters -------------------------------------------------------------------
    def _allocate(self) -> None:
        entries = [
            (layer, local, shape, local in layer.decayed)
            for layer in self.layers
            for local, shape in layer.param_shapes().items()
        ]
        ordered = [e for e in entries if e[3]] + [e for e in entries if not e[3]]
        total = sum(math.prod(e[2]) for e in entries)
        self.flat_params = np.zeros(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        self.n_decayed = sum(math.prod(e[2]) for e in entries if e[3])
        views, offset = {}, 0
        for layer, local, shape, _ in ordered:
            size = math.prod(shape)
            views[(layer.name, local)] = (
                self.flat_params[offset : offset + size].reshape(shape),
                self.flat_grads[offset : offset + size].reshape(shape),
            )
            offset += size
        self.params = {f"{layer.name}.{local}": views[(layer.name, local)][0] for layer, local, _, _ in entries}
        self.grads = {f"{layer.name}.{local}": views[(layer.name, local)][1] for layer, local, _, _ in entries}
        for layer in self.layers:
            mine = [local for owner, local, _, _ in entries if owner is layer]
            layer.bind(
                {local: views[(layer.name, local)][0] for local in mine},
                {local: views[(layer.name, local)][1] for local in mine},
            )

    @property
    def eval_batch_size(self) -> int:
        """Rows per evaluation chunk: :func:`eval_batch_size` of the layers."""
        return eval_batch_size(self.layers)

    @property
    def n_params(self) -> int:
        return self.flat_params.size

    def decayed_names(self) -> list[str]:
        """Qualified names of the decayed parameters (the weight matrices), input side first."""
        return [f"{layer.name}.{local}" for layer in self.layers for local in layer.decayed]

    def state(self) -> dict[str, np.ndarray]:
        """Every layer's state arrays (batch norm's running statistics), by qualified name."""
        return {f"{layer.name}.{key}": array for layer in self.layers for key, array in layer.state().items()}

    def set_state(self, arrays: dict[str, np.ndarray]) -> None:
        for layer in self.layers:
            prefix = f"{layer.name}."
            mine = {key[len(prefix) :]: arrays[key] for key in arrays if key.startswith(prefix)}
            if layer.state():
                layer.set_state(mine)

    @property
    def config(self) -> dict[str, Any]:
        return {
            "layers": [{"kind": layer.kind, "name": layer.name, **layer.config()} for layer in self.layers],
            "seed": self.seed,
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, architecture: dict[str, Any]) -> Sequential:
        """The model :attr:`config` describes (its layers, seed and dtype; no weights)."""
        return cls(_layers_of(architecture), seed=architecture["seed"], dtype=np.dtype(architecture["dtype"]))

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], params={self.n_params}, dtype={self.dtype.name})"

    # -- shapes -----------------------------------------------------------------------
    def layer_shapes(self, input_shape: int | Iterable[int]) -> list[tuple[Layer, Shape, int]]:
        """``(layer, output shape, patch values)`` per layer for one example of ``input_shape``
        (see :func:`nn.summary.layer_shapes`)."""
        return _summary.layer_shapes(self.layers, input_shape)

    def output_shape(self, input_shape: int | Iterable[int]) -> Shape:
        """The shape of one example's outputs (no batch axis) for an input of ``input_shape``."""
        shape = _summary.as_shape(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def summary(self, input_shape: int | Iterable[int]) -> str:
        """A Keras-style table: index, layer, output shape and parameters of each layer, and the
        total, for inputs of ``input_shape`` without the batch axis (``(784,)`` for the flat
        vectors of the data sets, even for a CNN: its first layer reshapes them)."""
        return _summary.summary(self.layers, input_shape, title=f"Sequential ({self.dtype.name})")

    # -- computation ------------------------------------------------------------------
    def as_input(self, x: ArrayLike) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=self.dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Outputs for a batch. The result is a reused buffer: copy it to keep it."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dL/d(output)``, overwriting :attr:`grads`; returns ``dL/dx``
        (``None`` with ``need_input_grad=False``, which skips the first layer's input gradient)."""
        d: np.ndarray | None = dy
        last = len(self.layers) - 1
        # Without the input gradient, layers up to the first one with parameters need none either.
        first = 0 if need_input_grad else self._first_with_params
        for position in range(last, first - 1, -1):
            if d is None:  # only the first layer may skip its input gradient
                raise RuntimeError(f"layer {self.layers[position + 1].name} returned no input gradient")
            d = self.layers[position].backward(d, need_input_grad=need_input_grad or position > first)
        return d

    def penalty(self, weight_decay: float = 0.0, l1: float = 0.0) -> float:
        """``(lambda / 2) * sum ||W||^2 + mu * sum |W|`` over the decayed parameters."""
        decayed = self.flat_params[: self.n_decayed]
        total = 0.0
        if weight_decay:
            total += 0.5 * float(weight_decay) * float(np.dot(decayed, decayed))
        if l1:
            total += float(l1) * float(np.sum(np.abs(decayed), dtype=np.float64))
        return total

    def add_penalty_grad(self, weight_decay: float = 0.0, l1: float = 0.0) -> float:
        """Add the penalty's gradient to :attr:`flat_grads`; return the penalty."""
        if not (weight_decay or l1):
            return 0.0
        penalty = self.penalty(weight_decay, l1)
        decayed, grads = self.flat_params[: self.n_decayed], self.flat_grads[: self.n_decayed]
        if weight_decay:
            grads += float(weight_decay) * decayed
        if l1:
            grads += float(l1) * np.sign(decayed)
        return penalty

    def predict(self, x: ArrayLike, batch_size: int | None = None) -> np.ndarray:
        """Raw outputs (logits of a softmax loss, values of a linear one) in evaluation mode, in chunks
        of ``batch_size`` rows (default :attr:`eval_batch_size`)."""
        x = self.as_input(x)
        batch_size = batch_size or self.eval_batch_size
        chunks = [self.forward(x[i : i + batch_size]).copy() for i in range(0, x.shape[0], batch_size)]
        return np.concatenate(chunks) if chunks else np.empty((0,), self.dtype)

    # -- persistence (no pickle) ------------------------------------------------------
    def save(self, path: str | PathLike[str], metadata: dict[str, Any] | None = None) -> Path:
        """Write parameters, layer state and configuration to one ``.npz``.

        The configuration (layers, seed, dtype, format version and the caller's
        ``metadata``: task, classes, preprocessing, ...) is a JSON string in the
        archive, so loading needs no pickle.
        """
        path = Path(path)
        header = {"format": FORMAT_VERSION, "model": self.config, "metadata": metadata or self.metadata}
        arrays = {
            "__config__": np.array(json.dumps(header)),
            **self.params,
            **{f"state/{key}": array for key, array in self.state().items()},
        }
        path = path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")
        with atomic_path(path) as temporary:
            np.savez(temporary, allow_pickle=False, **arrays)
        return path

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Sequential:
        """Rebuild a saved model; :class:`ModelFileError` naming the file if it is not one. Nothing is
        allocated before the declared parameters are checked against the stored arrays' headers (shapes)
        and the memory they need; a member that is not one of the model's arrays is refused unread."""
        try:
            with np.load(path, allow_pickle=False) as archive:
                header = json.loads(str(archive["__config__"]))
                if header.get("format") != FORMAT_VERSION:
                    raise ModelFileError(
                        f"{path}: model file format {header.get('format')!r}, this version reads {FORMAT_VERSION}"
                    )
                architecture = header["model"]
                layers, dtype = _layers_of(architecture), np.dtype(architecture["dtype"])
                _check_parameters(path, archive, layers, dtype)
                model = cls(layers, seed=architecture["seed"], dtype=dtype)
                _check_members(path, archive, model)
                for name, array in model.params.items():
                    array[...] = _finite(path, name, archive[name])
                model.set_state({key: _finite(path, key, archive[f"state/{key}"]) for key in model.state()})
        except ModelFileError:
            raise
        except _UNREADABLE as error:
            raise ModelFileError(f"{path}: not a readable model file ({npz_problem(error)})") from None
        model.metadata = header.get("metadata") or {}
        return model


def _layers_of(architecture: dict[str, Any]) -> list[Layer]:
    """The layers a saved configuration lists, named, without parameters (nothing allocated)."""
    layers = []
    for entry in architecture["layers"]:
        arguments = {key: value for key, value in entry.items() if key not in ("kind", "name")}
        layer = LAYERS[entry["kind"]](**arguments)
        layer.name = entry["name"]
        layers.append(layer)
    name_layers(layers)
    return layers


def _stored_shape(archive: Any, name: str) -> tuple[int, ...]:
    """The shape of the archive's array ``name``, read from its ``.npy`` header (the array is not read)."""
    with archive.zip.open(f"{name}.npy") as handle:
        version = np.lib.format.read_magic(handle)
        read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in read:
            raise ValueError(f"{name}: .npy format version {version}")
        return tuple(read[version](handle)[0])


def _check_parameters(path: Any, archive: Any, layers: list[Layer], dtype: np.dtype) -> None:
    """Every parameter the layers declare is stored, with the declared shape, and the model fits in memory."""
    names = set(archive.files)
    total = 0
    for layer in layers:
        for local, shape in layer.param_shapes().items():
            name = f"{layer.name}.{local}"
            if name not in names:
                raise ModelFileError(f"{path}: {name} is missing; the file does not hold the model it declares")
            stored = _stored_shape(archive, name)
            if stored != tuple(shape):
                raise ModelFileError(f"{path}: {name} has shape {stored}, the model needs {tuple(shape)}")
            total += math.prod(shape)
    needed, available = 2 * total * dtype.itemsize, available_memory()  # the parameters and their gradients
    if needed > available:
        raise ModelFileError(
            f"{path}: the model has {total:,} parameters, {needed / 2**30:.1f} GiB with their gradients, "
            f"more than the {available / 2**30:.1f} GiB available"
        )


def _check_members(path: Any, archive: Any, model: Sequential) -> None:
    """The archive holds the header, the parameters and the layer state, nothing else (an unknown member,
    such as a pickled object, is refused without being read); the state has the shapes the layers keep."""
    known = {"__config__", *model.params, *(f"state/{key}" for key in model.state())}
    unknown = sorted(set(archive.zip.namelist()) - {f"{name}.npy" for name in known})
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise ModelFileError(f"{path}: holds {shown}, which is not part of a model; such a file is refused")
    for key, array in model.state().items():
        if f"state/{key}" not in archive.files:
            raise ModelFileError(f"{path}: state/{key} is missing; the file does not hold the model it declares")
        stored = _stored_shape(archive, f"state/{key}")
        if stored != array.shape:
            raise ModelFileError(f"{path}: state/{key} has shape {stored}, the model keeps {array.shape}")


def _finite(path: Any, name: str, stored: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(stored)):
        raise ModelFileError(f"{path}: {name} holds non-finite values (nan or inf)")
    return stored
