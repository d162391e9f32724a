"""The feed-forward network: a stack of layers over one contiguous parameter buffer."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from . import activations, initializers, losses
from .layers import ActivationLayer, BatchNorm, Dense, Dropout, Layer, LayerNorm
from .naming import canonical_name

DEFAULT_EVAL_BATCH = 4096
NORMS = {"none": None, "batch": BatchNorm, "layer": LayerNorm}


class FeedForward:
    """Fully connected network ``x -> [Dense -> norm -> activation -> dropout] * H -> Dense -> softmax``.

    ``norm`` (``none``, ``batch``, ``layer``) sits between each hidden linear map
    and its activation; ``dropout`` is the rate of the inverted dropout after each
    hidden activation (0: none). Both act differently in training and evaluation.

    ``layer_sizes = [n_inputs, hidden_1, ..., hidden_H, n_classes]``, e.g.
    ``[784, 128, 128, 10]``: any depth and widths, nothing hard-wired. The
    softmax sits inside the loss (:mod:`nn.losses`), so ``forward`` returns
    logits and :meth:`predict_proba` applies the softmax.

    Parameters are named ``"<block>.<name>"`` (``"0.W"``, ``"0.b"``, ``"1.W"``,
    ...), block ``i`` being the i-th Dense layer and whatever follows it up to
    the next one. They are views into one buffer, :attr:`flat_params`, with
    every decayed parameter (the weights) first; gradients likewise live in
    :attr:`flat_grads`. ``params`` and ``grads`` keep those names.

    Weight decay is L2 regularisation coupled to the gradient, as PyTorch's
    ``weight_decay`` in SGD and Adam: the objective is
    ``L + (lambda / 2) * sum ||W||^2`` and its gradient adds ``lambda * W``.
    ``l1`` adds ``mu * sum |W|`` and ``mu * sign(W)`` (the subgradient 0 at 0).
    Biases are not regularised.

    ``seed`` fixes the initial weights; the dtype (float32 by default) is kept
    by parameters, gradients and activations.
    """

    def __init__(self, layer_sizes, activation="sigmoid", weight_init="random", seed=0,
                 dtype=np.float32, norm="none", dropout=0.0):
        sizes = [int(n) for n in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer_sizes needs at least an input and an output size, all >= 1; got {layer_sizes}")
        self.layer_sizes = sizes
        self.activation = activations.get(activation).name
        self.weight_init = canonical_name(weight_init, initializers.INITIALIZERS)
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, not {self.dtype}")
        self.norm = canonical_name(norm, NORMS)
        self.dropout = float(dropout)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dropout_rng = np.random.default_rng([self.seed, 3])  # masks: apart from the weights' stream
        self.blocks: list[list[Layer]] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            block: list[Layer] = [Dense(n_in, n_out)]
            if i < len(sizes) - 2:
                if NORMS[self.norm] is not None:
                    block.append(NORMS[self.norm](n_out))
                block.append(ActivationLayer(self.activation))
                if self.dropout > 0.0:
                    block.append(Dropout(self.dropout, self.dropout_rng))
            self.blocks.append(block)
        self.layers = [layer for block in self.blocks for layer in block]
        self._allocate()
        self._initialise()

    # -- parameters -------------------------------------------------------------------
    def _allocate(self) -> None:
        entries = []  # (qualified name, layer, local name, shape, decayed)
        for index, block in enumerate(self.blocks):
            for layer in block:
                for local, shape in layer.param_shapes().items():
                    entries.append((f"{index}.{local}", layer, local, shape, local in layer.decayed))
        ordered = [e for e in entries if e[4]] + [e for e in entries if not e[4]]
        total = sum(math.prod(e[3]) for e in entries)
        self.flat_params = np.zeros(total, dtype=self.dtype)
        self.flat_grads = np.zeros(total, dtype=self.dtype)
        self.n_decayed = sum(math.prod(e[3]) for e in entries if e[4])
        views, offset = {}, 0
        for name, _, _, shape, _ in ordered:
            size = math.prod(shape)
            views[name] = (self.flat_params[offset:offset + size].reshape(shape),
                           self.flat_grads[offset:offset + size].reshape(shape))
            offset += size
        self.params = {e[0]: views[e[0]][0] for e in entries}
        self.grads = {e[0]: views[e[0]][1] for e in entries}
        for layer in self.layers:
            mine = [e for e in entries if e[1] is layer]
            layer.bind({e[2]: views[e[0]][0] for e in mine}, {e[2]: views[e[0]][1] for e in mine})

    def _initialise(self) -> None:
        rng = np.random.default_rng(self.seed)
        init = initializers.get(self.weight_init)
        for index, block in enumerate(self.blocks):
            dense = block[0]
            self.params[f"{index}.W"][...] = init(rng, dense.n_in, dense.n_out, self.dtype)
            for layer in block[1:]:
                if hasattr(layer, "init_params"):
                    layer.init_params()

    @property
    def n_params(self) -> int:
        return self.flat_params.size

    @property
    def config(self) -> dict:
        return {"layer_sizes": self.layer_sizes, "activation": self.activation,
                "weight_init": self.weight_init, "seed": self.seed, "dtype": self.dtype.name,
                "norm": self.norm, "dropout": self.dropout}

    def layer_state(self) -> dict:
        """Arrays that are not parameters but define the model (batch norm's running statistics)."""
        return {f"{index}.{key}": array for index, block in enumerate(self.blocks) for layer in block
                if hasattr(layer, "state") for key, array in layer.state().items()}

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"FeedForward([{inner}], params={self.n_params}, dtype={self.dtype.name})"

    # -- computation ------------------------------------------------------------------
    def _as_input(self, x) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=self.dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Logits for a batch. The result is a reused buffer: copy it to keep it."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        """Backpropagate ``dL/dlogits``, overwriting :attr:`grads` (no input gradient)."""
        d = dlogits
        last = len(self.layers) - 1
        for position in range(last, -1, -1):
            d = self.layers[position].backward(d, need_input_grad=position > 0)

    def penalty(self, weight_decay: float, l1: float = 0.0) -> float:
        """``(lambda / 2) * sum ||W||^2 + mu * sum |W|`` over the regularised parameters."""
        decayed = self.flat_params[:self.n_decayed]
        total = 0.0
        if weight_decay:
            total += 0.5 * float(weight_decay) * float(np.dot(decayed, decayed))
        if l1:
            total += float(l1) * float(np.sum(np.abs(decayed), dtype=np.float64))
        return total

    def train_step_grads(self, x, y, loss="cross_entropy", weight_decay=0.0, loss_fn=None, l1=0.0):
        """Forward and backward on one batch, leaving the gradient in :attr:`flat_grads`.

        Returns ``(data_loss, penalty, n_correct)``; the objective is their sum.
        The hot path of :func:`nn.training.fit`; ``x`` must already have the
        model's dtype.
        """
        logits = self.forward(x, training=True)
        n_correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
        data_loss, dlogits = (loss_fn or losses.get(loss).value_and_grad)(logits, y)
        self.backward(dlogits)
        penalty = 0.0
        if weight_decay or l1:
            penalty = self.penalty(weight_decay, l1)
            decayed, grads = self.flat_params[:self.n_decayed], self.flat_grads[:self.n_decayed]
            if weight_decay:
                grads += float(weight_decay) * decayed
            if l1:
                grads += float(l1) * np.sign(decayed)
        return data_loss, penalty, n_correct

    def loss_and_grads(self, x, y, loss="cross_entropy", weight_decay=0.0, l1=0.0):
        """Objective (data loss + L2 and L1 penalties) on a batch and its gradient.

        ``y`` holds integer class ids. Returns ``(loss, grads)``, ``grads`` a
        dict keyed like :attr:`params` holding copies.
        """
        data_loss, penalty, _ = self.train_step_grads(self._as_input(x), np.asarray(y), loss, weight_decay, l1=l1)
        return data_loss + penalty, {name: g.copy() for name, g in self.grads.items()}

    def predict_proba(self, x, batch_size: int = DEFAULT_EVAL_BATCH) -> np.ndarray:
        """Class probabilities, one row per sample (each row sums to 1)."""
        x = self._as_input(x)
        chunks = [losses.softmax(self.forward(x[i:i + batch_size]))
                  for i in range(0, x.shape[0], batch_size)]
        return np.concatenate(chunks) if chunks else np.empty((0, self.layer_sizes[-1]), self.dtype)

    def predict(self, x, batch_size: int = DEFAULT_EVAL_BATCH) -> np.ndarray:
        """Predicted class ids."""
        x = self._as_input(x)
        return np.concatenate([self.forward(x[i:i + batch_size]).argmax(axis=1)
                               for i in range(0, x.shape[0], batch_size)])

    def evaluate(self, x, y, loss="cross_entropy", batch_size: int = DEFAULT_EVAL_BATCH):
        """Mean data loss (no penalty) and accuracy over a data set, in large batches."""
        x, y = self._as_input(x), np.asarray(y)
        value_and_grad = losses.get(loss).value_and_grad
        total_loss, correct = 0.0, 0
        for i in range(0, x.shape[0], batch_size):
            logits, labels = self.forward(x[i:i + batch_size]), y[i:i + batch_size]
            batch_loss, _ = value_and_grad(logits, labels, need_grad=False)
            total_loss += batch_loss * labels.size
            correct += int(np.count_nonzero(logits.argmax(axis=1) == labels))
        n = max(x.shape[0], 1)
        return total_loss / n, correct / n

    # -- persistence (no pickle) ------------------------------------------------------
    def save(self, path) -> Path:
        """Write parameters and configuration to one ``.npz`` (config as a JSON string)."""
        path = Path(path)
        np.savez(path, __config__=np.array(json.dumps(self.config)), **self.params, **self.layer_state())
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path) -> "FeedForward":
        with np.load(path, allow_pickle=False) as archive:
            config = json.loads(str(archive["__config__"]))
            model = cls(config["layer_sizes"], config["activation"], config["weight_init"],
                        config["seed"], np.dtype(config["dtype"]), config.get("norm", "none"),
                        config.get("dropout", 0.0))
            for name, array in model.params.items():
                array[...] = archive[name]
            for index, block in enumerate(model.blocks):
                for layer in block:
                    if isinstance(layer, BatchNorm) and f"{index}.running_mean" in archive:
                        layer.running_mean = np.array(archive[f"{index}.running_mean"])
                        layer.running_var = np.array(archive[f"{index}.running_var"])
        return model
