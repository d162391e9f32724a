"""``--latent pca|tsne``: the hidden representations of the trained network, projected to 2-D.

After training, each hidden representation (:func:`.inside.representations`: the output of each hidden
block's activation, what the next weighted layer sees; for a cnn / localnet the pooled output of each
convolutional block, flattened, then the dense hidden layers) is computed on a fixed sample of up to
:data:`LIMIT` test examples, a uniform sample without replacement drawn with the run's ``--seed`` (the
whole test set when it is smaller), and projected to 2-D with scikit-learn: ``PCA(n_components=2)``
(the two directions of largest variance of the centred activations) or ``TSNE(init="pca")`` with the
same ``random_state``. Every layer is one panel of ``latent.png``, the points coloured by class (by the
first target for regression).

After training, the summary gets one number per representation, for the trained and the untrained
network: the cross-validated accuracy of a 5-nearest-neighbour classifier on it (``latent_knn/<k>``,
``latent_knn_untrained/<k>``): how well the layer separates the classes.

The first row shows the same representations of the untrained network (its initial weights, copied
before training; not for a resumed run), so that the figure compares untrained and trained layers.

With ``--pretrain autoencoder`` (or ``deep_autoencoder``) one more panel shows the autoencoder's code: pretraining
(:mod:`.pretrain`) keeps no encoder of its own, it writes the encoders' weights into the network's
hidden layers, which fine-tuning on the labels then changes. So this plugin copies those layers right
after pretraining (its ``before_training`` runs after the pretraining's) and projects the code of the
top one, computed through the pretrained stack, next to the fine-tuned network's (with the network's
activation: under another ``--pretrain_activation``, the code fine-tuning starts from).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field

import numpy as np

import nn
from nn.layers import ActivationLayer, Dense

from ..errors import ConfigError
from ..plugin import Changes, Plugin, Priority
from .inside import InsideConfig, inside, layer_outputs, representations
from .pretrain import PretrainConfig, hidden_blocks

LIMIT = 2000


def sample_indices(n: int, seed: int, limit: int = LIMIT) -> np.ndarray:
    """Up to ``limit`` of ``range(n)``: a seeded uniform sample without replacement, in increasing order."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 2000]).choice(n, size=limit, replace=False))


def project(values: np.ndarray, method: str, seed: int) -> np.ndarray:
    """``N x 2`` points from ``values`` (``N x ...``, flattened per example) by ``method`` (``pca``/``tsne``).
    A representation without variance (every unit dead) projects to the origin, a single unit to its
    centred values on the x axis."""
    features = values.reshape(len(values), -1).astype(np.float64)
    if not np.ptp(features, axis=0).any():
        return np.zeros((len(features), 2))
    if features.shape[1] == 1:  # one unit: its centred values, on a line
        return np.c_[features - features.mean(), np.zeros(len(features))]
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(features)
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(features) - 1) / 3)  # t-SNE needs fewer neighbours than points
    return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(features)


def pretrained_encoder(model) -> nn.Sequential:
    """A copy of the hidden layers (Dense + activation blocks) of ``model`` as they are now."""
    blocks = hidden_blocks(model)
    layers: list = []
    for dense, activation in blocks:
        layers += [Dense(dense.n_in, dense.n_out, dense.weight_init), ActivationLayer(activation.function.name)]
    encoder = nn.Sequential(layers, dtype=model.dtype)
    for (dense, _), copy in zip(blocks, encoder.layers[::2]):
        copy.params["W"][...] = dense.params["W"]
        copy.params["b"][...] = dense.params["b"]
    return encoder


def panels(model, x: np.ndarray, method: str, seed: int, encoder=None) -> list[tuple[str, np.ndarray]]:
    """``(title, N x 2 points)`` per hidden representation of ``model`` on inputs ``x`` (then the
    pretrained ``encoder``'s code, if given)."""
    found = representations(model)
    values = layer_outputs(model, x, [r.position for r in found])
    drawn = [(r.title, project(values[r.position], method, seed)) for r in found]
    if encoder is not None:
        code = encoder.predict(x)
        title = f"autoencoder code before fine-tuning (top of {len(encoder.layers) // 2}, {code.shape[1]} units)"
        drawn.append((title, project(code, method, seed)))
    return drawn


@dataclass
class LatentState:
    """What the latent plugin keeps between its hooks."""

    untrained: nn.Sequential | None = None  # the initial weights (not for a resumed run)
    encoder: nn.Sequential | None = None  # the pretrained stack, before fine-tuning
    indices: np.ndarray | None = None  # the test samples projected
    panels: list = field(default_factory=list)  # (title, 2-D points) of each trained representation


class Latent(Plugin[LatentState]):
    name = "latent"
    example = {"latent": "pca"}
    changes = Changes(summary=("latent_knn/*", "latent_knn_untrained/*"), files=("latent.png",))
    section = InsideConfig
    priority = Priority.REPORT

    def new_state(self) -> LatentState:
        return LatentState()

    def enabled(self, config):
        return inside(config).latent != "none"

    def check(self, config, data):
        if config.model.arch == "mlp" and not config.model.num_layers:
            raise ConfigError("--latent projects the hidden layers: it needs -nhl >= 1 (or --arch cnn|localnet)")

    def prepare(self, run):
        if not run.resuming:  # the initial weights: the "untrained" row
            run.state_of(self).untrained = deepcopy(run.model)

    def before_training(self, run):
        if run.config.get(PretrainConfig).pretrain != "none":  # either mode leaves its encoder in the network
            run.state_of(self).encoder = pretrained_encoder(run.model)

    def after_training(self, run):
        """How well each hidden representation separates the classes, as one number per layer: the 5-fold
        cross-validated accuracy of a 5-nearest-neighbour classifier on the representation of the same test
        samples (an analysis of the network, chosen by nothing), for the trained and the untrained network:
        ``latent_knn/<k>`` and ``latent_knn_untrained/<k>``, k counting the hidden representations."""
        if not run.data.task.classifies:
            return {}
        from sklearn.model_selection import cross_val_score
        from sklearn.neighbors import KNeighborsClassifier

        data, seed = run.data, run.config.data.seed
        index = sample_indices(len(data.x_test), seed)
        x, y = data.x_test[index], data.y_test[index]
        if np.bincount(y).min() < 5:
            return {}
        scores = {}
        models = [("latent_knn", run.model), ("latent_knn_untrained", run.state_of(self).untrained)]
        for key, model in models:
            if model is None:
                continue
            found = representations(model)
            values = layer_outputs(model, x, [r.position for r in found])
            for k, r in enumerate(found):
                features = values[r.position].reshape(len(x), -1)
                knn = KNeighborsClassifier(n_neighbors=5)
                scores[f"{key}/{k}"] = float(cross_val_score(knn, features, y, cv=5).mean())
        return scores

    def figures(self, run):
        if "test" not in run.evaluations:
            return {}
        from tracking import plots

        data, method, seed = run.data, inside(run.config).latent, run.config.data.seed
        state = run.state_of(self)
        index = sample_indices(len(data.x_test), seed)
        state.indices = index
        state.panels = panels(run.model, data.x_test[index], method, seed, state.encoder)
        drawn, columns = state.panels, None
        untrained = state.untrained
        if untrained is not None:
            before = [
                (f"untrained: {name}", points) for name, points in panels(untrained, data.x_test[index], method, seed)
            ]
            columns = len(before)  # one row untrained, one trained (the autoencoder's code, if any, below)
            drawn = before + [(f"trained: {name}", points) for name, points in state.panels]
        from .titles import run_title

        title = f"{'PCA' if method == 'pca' else 't-SNE'} of the hidden layers on {len(index)} test samples"
        path = plots.latent_figure(
            drawn,
            data.y_test[index],
            data.class_names,
            run.folder / "latent.png",
            f"{run_title(run.config, epochs=len(run.history))}\n{title}",
            columns=columns,
        )
        return {"latent": path}
