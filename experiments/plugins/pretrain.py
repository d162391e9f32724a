"""Autoencoder pretraining of the hidden layers, then fine-tuning on the labels (``--pretrain``).

Both modes minimise the mean squared reconstruction error ``(1/(N d)) sum ||x_hat - x||^2`` over the
``d`` values of each input (:func:`reconstruction_error`: averaged over the values too, so 784 outputs
do not make the gradient 784 times larger than the run's learning rate expects) with ``nn.fit``, the
run's optimizer rule, learning rate and batch size, no weight decay, for ``--pretrain_epochs`` epochs.
``g`` below is ``--pretrain_activation`` (``same``, the default: the network's own ``-a``; ``identity``
gives linear autoencoders); every reconstruction layer is linear. The encoders start from the network's
initial weights, each decoder from ``--weight_init`` with its own seed; decoders are thrown away.

``--pretrain autoencoder``: greedy and layer-wise, stacked autoencoders. Hidden layer ``i`` is the
encoder of a one-hidden-layer autoencoder on the codes ``a`` of layer ``i - 1`` (the inputs for
``i = 0``): ``h = g(a W_i + b_i)``, ``a_hat = h V + c``, the decoder ``V, c`` **untied** from ``W_i``.
Then the codes ``g(a W_i + b_i)`` feed layer ``i + 1``. Logged: ``pretrain/reconstruction_loss/<i>``.

``--pretrain deep_autoencoder``: one symmetric autoencoder trained end to end, as the course's second
report trains 36-28-20-28-36: its encoder is the ``L`` hidden layers as configured (``-nhl``/``-sz``),
``h_l = g(h_{l-1} W_l + b_l)`` with ``h_0 = x``; its decoder mirrors them, ``u_j = g(u_{j-1} V_j +
c_j)`` for ``j = 1 .. L - 1`` (widths ``n_{L-1} .. n_1``, ``u_0 = h_L``), then ``x_hat = u_{L-1} V_L +
c_L`` (width ``d``). Logged: ``pretrain/reconstruction_loss/deep``. A linear one (``identity``) with a
code narrower than ``d`` can do no better than PCA with as many components (Eckart-Young: its
reconstruction is a rank-``n_L`` affine map), and at its optimum the encoder spans PCA's subspace.

After either, the encoders' ``W, b`` are copied into the network's hidden layers and the whole network
is fine-tuned on the labels as usual. The weights are copied whatever the activations: when ``g`` is
not the network's activation ``f``, the network's code at the start of fine-tuning is ``f(x W + b)``,
not the autoencoder's ``g(x W + b)`` (a ReLU network keeps the positive half of a linear code), so
pretraining is then an initialisation of the weights rather than a pretrained representation. Each
reconstruction loss is logged per pretraining epoch (step axis ``pretrain_epoch``, ``pretraining.csv``)
and its last value kept in the summary.

``--pretrain_data FILE`` pretrains on the file's rows instead of the training split (either mode),
made into inputs as the training data's are (:func:`pretraining_inputs`): a CSV with the training
table's feature columns (any order; the target column, if there, ignored) is encoded with the training
split's fitted :class:`datasets.TableEncoding`; otherwise a CSV of numbers or an NPZ array ``x`` holds
``N x features`` (or images ``N x H x W``, ``N x H x W x 1``) in the training data's raw units (0..255
pixels for the built-in image sets); then the training split's fitted preprocessing scales them.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
import numpy as np

import datasets
import nn
import optimizers
from nn.layers import ActivationLayer, Dense
from nn.tasks import Task

from ..errors import ConfigError
from ..options import Choice, option
from ..plugin import Changes, Plugin

MODES = ("none", "autoencoder", "deep_autoencoder")
SAME = "same"  # --pretrain_activation: the network's own activation
DEEP_SEED = 997  # the deep autoencoder's decoder and batch order: seeds apart from the run's


@dataclass(frozen=True)
class PretrainConfig:
    title = "Autoencoder pretraining"
    pretrain: str = option(
        "none",
        "--pretrain",
        type=Choice(MODES),
        help="Pretrain the hidden layers on reconstruction, then fine-tune the whole network on the labels. "
        "autoencoder: greedily, each as the code of a one-hidden-layer autoencoder on the codes below it; "
        "deep_autoencoder: all at once, as the encoder of a symmetric autoencoder (inputs, hidden sizes, the "
        "same reversed, inputs) trained end to end.",
    )
    pretrain_epochs: int = option(
        2,
        "--pretrain_epochs",
        "--pretrain-epochs",
        type=click.IntRange(min=1),
        help="Epochs of autoencoder training: per hidden layer (autoencoder) or of the whole autoencoder "
        "(deep_autoencoder).",
    )
    pretrain_activation: str = option(
        SAME,
        "--pretrain_activation",
        "--pretrain-activation",
        type=Choice((SAME, *nn.ACTIVATIONS.names())),
        help="Activation of the autoencoders' hidden layers (the reconstruction layer is linear); same: the "
        "network's -a; identity: linear autoencoders. The encoder's weights go into the network either way.",
    )
    pretrain_data: str | None = option(
        None,
        "--pretrain_data",
        "--pretrain-data",
        type=click.STRING,
        help="Pretrain on this file's rows instead of the training split: a .csv with the training data's "
        "feature columns (a target column is ignored) or a .npz with an array x (N x features, or images "
        "N x H x W in raw pixel units 0..255 for the built-in image sets), scaled as the training data.",
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
    """Pretrain the hidden layers of ``model`` as ``config`` (a :class:`RunConfig`) says: the mode, on the
    training split or ``--pretrain_data``; return the summary entries."""
    section = config.get(PretrainConfig)
    inputs = data.x_train
    if section.pretrain_data:
        inputs = pretraining_inputs(section.pretrain_data, data, config.data.target)
        say(f"pretraining on the {len(inputs):,} rows of {section.pretrain_data}, not the training split")
    if section.pretrain == "deep_autoencoder":
        return deep_pretrain(model, inputs, config, reporters, say)[0]
    return greedy_pretrain(model, inputs, config, reporters, say)


def greedy_pretrain(model, inputs, config, reporters, say) -> dict:
    """``--pretrain autoencoder`` on ``inputs``: every hidden layer in turn; the summary entries."""
    seed, codes, summary = config.data.seed, inputs, {}
    for index, (dense, activation) in enumerate(hidden_blocks(model)):
        encoder = Dense(dense.n_in, dense.n_out, dense.weight_init)
        decoder = Dense(dense.n_out, dense.n_in, dense.weight_init)
        autoencoder = nn.Sequential(
            [encoder, ActivationLayer(autoencoder_activation(config, activation)), decoder],
            seed=seed + 101 * (index + 1),
            dtype=model.dtype,
        )
        encoder.params["W"][...], encoder.params["b"][...] = dense.params["W"], dense.params["b"]
        logger = _Logger(str(index), reporters)
        _fit(autoencoder, codes, config, logger, seed + index)
        dense.params["W"][...], dense.params["b"][...] = encoder.params["W"], encoder.params["b"]
        summary[logger.key] = logger.losses[-1]
        say(
            f"pretrained hidden layer {index} as an autoencoder: reconstruction loss "
            f"{logger.losses[0]:.4f} -> {logger.losses[-1]:.4f} in {len(logger.losses)} epochs"
        )
        codes = _codes(dense, autoencoder.layers[1], codes)
    return summary


def deep_autoencoder(model, activation: str, seed: int) -> nn.Sequential:
    """The symmetric autoencoder whose encoder is ``model``'s hidden layers (their current weights, copied):
    widths ``d, n_1 .. n_L, n_{L-1} .. n_1, d``, ``activation`` after every layer but the last."""
    blocks = hidden_blocks(model)
    autoencoder = nn.mlp(
        mirrored_widths(blocks),
        activation=activation,
        weight_init=blocks[0][0].weight_init,
        seed=seed,
        dtype=model.dtype,
    )
    for (dense, _), copy in zip(blocks, autoencoder.layers[::2]):
        copy.params["W"][...], copy.params["b"][...] = dense.params["W"], dense.params["b"]
    return autoencoder


def mirrored_widths(blocks) -> list[int]:
    """``d, n_1 .. n_L, n_{L-1} .. n_1, d``: the inputs, the hidden layers' widths, the same reversed, the inputs."""
    sizes = [blocks[0][0].n_in] + [dense.n_out for dense, _ in blocks]
    return sizes + sizes[-2::-1]


def deep_pretrain(model, inputs, config, reporters, say) -> tuple[dict, nn.Sequential]:
    """``--pretrain deep_autoencoder`` on ``inputs``: the summary entry and the trained autoencoder, whose
    encoder's weights are now the network's hidden layers'."""
    blocks = hidden_blocks(model)
    activation = autoencoder_activation(config, blocks[0][1])
    autoencoder = deep_autoencoder(model, activation, config.data.seed + DEEP_SEED)
    logger = _Logger("deep", reporters)
    _fit(autoencoder, inputs, config, logger, config.data.seed + DEEP_SEED)
    for (dense, _), trained in zip(blocks, autoencoder.layers[::2]):
        dense.params["W"][...], dense.params["b"][...] = trained.params["W"], trained.params["b"]
    widths = mirrored_widths(blocks)
    say(
        f"pretrained the hidden layers as a deep autoencoder {'-'.join(map(str, widths))} ({activation}): "
        f"reconstruction loss {logger.losses[0]:.4f} -> {logger.losses[-1]:.4f} in {len(logger.losses)} epochs"
    )
    return {logger.key: logger.losses[-1]}, autoencoder


def autoencoder_activation(config, activation: ActivationLayer) -> str:
    """``--pretrain_activation``, or the network's own (``activation``'s) for ``same``."""
    chosen = config.get(PretrainConfig).pretrain_activation
    return activation.function.name if chosen == SAME else chosen


def _fit(autoencoder, inputs, config, logger, seed: int) -> None:
    nn.fit(
        autoencoder,
        RECONSTRUCTION,
        optimizers.make(config.training.optimizer, **config.hyperparameters),
        nn.Batches(inputs, inputs, config.training.batch_size, seed=seed),
        epochs=config.get(PretrainConfig).pretrain_epochs,
        callbacks=[logger],
    )


def _codes(dense, activation, inputs, chunk: int = 4096) -> np.ndarray:
    out = np.empty((len(inputs), dense.n_out), dtype=inputs.dtype)
    for i in range(0, len(inputs), chunk):
        out[i : i + chunk] = activation.forward(dense.forward(inputs[i : i + chunk]))
    return out


class _Logger(nn.Callback):
    def __init__(self, name: str, reporters):
        self.key, self.reporters = f"pretrain/reconstruction_loss/{name}", reporters
        self.losses: list[float] = []

    def on_epoch_end(self, epoch, metrics):
        self.losses.append(metrics["train_loss"])
        for reporter in self.reporters:
            reporter.log_scalars(
                "pretraining", {"pretrain_epoch": epoch, self.key: metrics["train_loss"]}, step="pretrain_epoch"
            )


# --pretrain_data ---------------------------------------------------------------------------------


def pretraining_inputs(path: str, data, target: str | None = None) -> np.ndarray:
    """The rows of the file ``path`` as the network of ``data`` (a :class:`datasets.Dataset`) takes its
    inputs: encoded (a table) and scaled with the training split's fitted preprocessing. ``target``, the
    training table's target column, is dropped if the file has it. A :class:`datasets.DataFileError`
    naming the file for rows that do not have the training data's features."""
    columns, rows = datasets.files.read_rows(path)
    encoding = data.preprocessing.encoding
    if encoding is not None:
        features = _table_features(path, columns, rows, encoding, target)
    else:
        features = _array_features(path, columns, rows, data)
    inputs = data.preprocessing.apply(features)
    if not np.all(np.isfinite(inputs)):
        raise datasets.DataFileError(f"{path}: holds values beyond float32's range once scaled as the training data")
    return inputs


def _table_features(path, columns, rows, encoding, target) -> np.ndarray:
    """A CSV's cells (its feature columns in any order) encoded as the training table's."""
    if columns is None:
        raise datasets.DataFileError(
            f"{path}: holds an array x; the training data is a table: give a CSV with its feature columns "
            f"({', '.join(encoding.columns)})"
        )
    if target in columns:
        keep = [j for j, name in enumerate(columns) if name != target]
        columns, rows = tuple(columns[j] for j in keep), rows[:, keep]
    lacking = [name for name in encoding.columns if name not in columns]
    extra = [name for name in columns if name not in encoding.columns]
    if lacking or extra:
        parts = [f"{what} {', '.join(names)}" for what, names in (("missing", lacking), ("unknown", extra)) if names]
        raise datasets.DataFileError(f"{path}: its columns differ from the training data's ({'; '.join(parts)})")
    cells = encoding.reorder(columns, rows, path)
    if cells.dtype.kind == "f" and not all(encoding.numeric):  # a categorical column's cells as a CSV's text
        cells = np.vectorize(_as_text, otypes=[str])(cells)
    _check_numbers(path, cells, encoding)
    return encoding.transform(cells)


def _check_numbers(path, cells, encoding) -> None:
    """Each of the training table's numeric columns holds numbers (or missing cells) within float32's range."""
    for j, (name, numeric) in enumerate(zip(encoding.columns, encoding.numeric)):
        values = datasets.files.numbers(cells[:, j]) if numeric else None
        if numeric and values is None:
            line, cell = datasets.files.first_cell(path, name, _is_text)
            raise datasets.DataFileError(
                f"{path}: column {name!r} holds {cell!r} (line {line}); the training data has numbers there"
            )
        if values is not None and np.any(np.abs(values) > datasets.files.FLOAT32_MAX):  # NaN: missing, imputed
            line, cell = datasets.files.first_cell(path, name, _too_large)
            raise datasets.DataFileError(f"{path}: column {name!r} holds {cell} (line {line}), beyond float32's range")


def _array_features(path, columns, rows, data) -> np.ndarray:
    """An NPZ's ``x`` or a CSV of numbers, one row per example, as ``data``'s raw features (float32)."""
    if columns is not None:
        parsed = [datasets.files.numbers(rows[:, j]) for j in range(rows.shape[1])]
        text = [name for name, column in zip(columns, parsed) if column is None]
        if text:
            raise datasets.DataFileError(
                f"{path}: column {text[0]!r} holds text; the training data's features are numbers"
            )
        rows = np.column_stack([column for column in parsed if column is not None])
        if np.isnan(rows).any():
            raise datasets.DataFileError(
                f"{path}: has missing cells ({int(np.isnan(rows).sum()):,}); pretraining rows need every feature"
            )
    if np.any(np.abs(rows) > datasets.files.FLOAT32_MAX):
        raise datasets.DataFileError(f"{path}: holds values beyond float32's range (±{datasets.files.FLOAT32_MAX:.1e})")
    image = data.image_shape
    shapes = [(data.n_features,)] + ([image, (*image, 1)] if image is not None else [])
    if rows.shape[1:] not in shapes:
        images = f" ({' x '.join(map(str, image))} images)" if image is not None else ""
        raise datasets.DataFileError(
            f"{path}: rows of shape {rows.shape[1:]}; the training data's rows hold {data.n_features} values{images}"
        )
    return rows.reshape(len(rows), -1).astype(np.float32)


def _as_text(value: float) -> str:
    """A number as a CSV cell holding it would read: ``3`` (not ``3.0``), ``0.5``; NaN as an empty cell."""
    if np.isnan(value):
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _is_text(cell: str) -> bool:
    return cell not in datasets.files.MISSING and datasets.files.numbers(np.array([cell])) is None


def _too_large(cell: str) -> bool:
    value = None if _is_text(cell) or cell in datasets.files.MISSING else float(cell)
    return value is not None and abs(value) > datasets.files.FLOAT32_MAX


class Pretrain(Plugin[dict]):
    name = "pretrain"
    example = {"pretrain": "autoencoder", "pretrain_epochs": 1}
    changes = Changes(summary=("pretrain/reconstruction_loss/*",), files=("pretraining.csv",), trajectory=True)
    section = PretrainConfig
    name_slot = "data"

    def enabled(self, config):
        section = config.get(PretrainConfig)
        return section.pretrain != "none" or section.pretrain_data is not None  # the latter to refuse it alone

    def new_state(self) -> dict:
        return {}  # the pretraining's summary entries

    def check(self, config, data):
        model, reg, section = config.model, config.regularisation, config.get(PretrainConfig)
        if section.pretrain == "none":
            raise ConfigError(
                "--pretrain_data needs --pretrain autoencoder or deep_autoencoder (it is what they train on)"
            )
        if model.norm != "none" or reg.dropout or not model.num_layers or model.arch != "mlp":
            raise ConfigError(
                f"--pretrain {section.pretrain} takes an mlp of Dense + activation hidden layers (no --norm, "
                "no --dropout, -nhl >= 1)"
            )
        if section.pretrain_data:  # read now (cached): a file that does not fit ends the run before it starts
            pretraining_inputs(section.pretrain_data, data, config.data.target)

    def before_training(self, run):
        run.state_of(self).update(pretrain(run.model, run.data, run.config, run.reporters, run.say))

    def logged_metrics(self, config):
        return ["pretrain/reconstruction_loss/*"]

    def summarize(self, run):
        return dict(run.state_of(self))

    def name_part(self, config):
        section = config.get(PretrainConfig)
        kind = "_ae" if section.pretrain == "autoencoder" else "_deepae"
        return kind + ("" if section.pretrain_activation == SAME else f"-{section.pretrain_activation}")
