"""Looking inside the network (``--latent``, ``--dynamics``, ``--maximize``, the maps of every convolution):
tiny runs on scikit-learn's digits write their figures; the latent projection is scikit-learn's PCA of
activations recomputed here by hand; gradient ascent raises a unit's activation (and, for a first hidden
layer, reaches its closed form); the weight and activation percentiles are recorded for every epoch and
handed to W&B as histograms; ``--maximize`` refuses tabular data in one line."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from test_figures import plausible, png_size

import nn
from experiments import build, presets
from experiments.errors import ConfigError
from experiments.plugins import PLUGINS, named
from experiments.plugins.conv_figures import convolution_maps
from experiments.plugins.dynamics import MAX_VALUES, PERCENTILES, Spread
from experiments.plugins.inside import dense_hidden_layers
from experiments.plugins.latent import LIMIT, project, sample_indices
from experiments.plugins.maximize import PENALTY, maximize, starting_points, top_units, unit_values
from experiments.plugins.pretrain import pretrain
from experiments.run import run
from tracking import plots, tiles

TINY = {"dataset": "digits", "epochs": 2, "batch_size": 64, "wandb_mode": "disabled"}
PLUGIN = {plugin.name: plugin for plugin in PLUGINS}


def train(folder, **options):
    """A tiny run; returns its result and, per plugin of this study, ``(run context, figures)``."""
    seen = {}

    def capture(name, figures):
        def wrapper(context):
            drawn = figures(context)
            seen[name] = (context, drawn)
            return drawn

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        for name in ("latent", "dynamics", "maximize", "conv_figures"):
            patch.setattr(PLUGIN[name], "figures", capture(name, PLUGIN[name].figures))
        config = presets.resolve({**TINY, "output_dir": str(folder), **options})
        result = run(config, say=lambda line: None, progress=False)
    assert result.status == "finished", result.message
    return result, seen


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    return train(
        tmp_path_factory.mktemp("mlp"),
        num_layers=2,
        hidden_size=(24, 12),
        latent="pca",
        dynamics=True,
        maximize=3,
    )


def test_each_figure_is_a_png_in_the_run_folder_and_goes_to_the_reporters(mlp):
    result, seen = mlp
    expected = {
        "latent": ["latent"],
        "dynamics": ["gradient_norms", "dead_relu", "weight_spread"],
        "maximize": ["maximize"],
    }
    for plugin, names in expected.items():
        _, figures = seen[plugin]
        assert sorted(figures) == sorted(names)
        for name in names:
            assert figures[name] == result.folder / f"{name}.png"
            plausible(figures[name])


def test_the_untrained_row_is_the_network_as_initialised(mlp):
    """The first row of latent.png is the network before training: the same weights a fresh build with the
    run's seed draws, not the trained ones."""
    from experiments import build

    result, seen = mlp
    context, _ = seen["latent"]
    untrained = context.state_of(named("latent")).untrained
    fresh = build.model_for(context.config, context.data.n_features, context.data.n_outputs)
    for name, value in fresh.params.items():
        np.testing.assert_array_equal(untrained.params[name], value)
        assert not np.array_equal(result.model.params[name], value)


def test_the_latent_projection_is_pca_of_the_hidden_activations(mlp):
    """Each panel is scikit-learn's PCA of one hidden layer's activations on the same test samples,
    the activations recomputed here from the weights: h_1 = relu(x W_0 + b_0), h_2 = relu(h_1 W_1 + b_1)."""
    from sklearn.decomposition import PCA

    result, seen = mlp
    context, _ = seen["latent"]
    state, data, params = context.state_of(named("latent")), context.data, result.model.params
    index = state.indices
    assert len(index) == min(LIMIT, len(data.x_test)) == 360
    np.testing.assert_array_equal(index, sample_indices(len(data.x_test), seed=0))
    h = data.x_test[index].astype(np.float64)
    titles = [title for title, _ in state.panels]
    assert titles == ["dense_0 + ReLU (24 units)", "dense_1 + ReLU (12 units)"]
    for k, (_, points) in enumerate(state.panels):
        h = np.maximum(h @ params[f"dense_{k}.W"] + params[f"dense_{k}.b"], 0.0)
        expected = PCA(n_components=2).fit_transform(h)
        assert points.shape == (360, 2)
        for axis in range(2):  # a principal direction's sign is a convention
            sign = np.sign(np.dot(points[:, axis], expected[:, axis]))
            np.testing.assert_allclose(sign * points[:, axis], expected[:, axis], rtol=1e-3, atol=1e-4)


def test_the_test_sample_is_a_fixed_seeded_subset():
    assert list(sample_indices(5, seed=0)) == [0, 1, 2, 3, 4]
    a, b = sample_indices(10_000, seed=3), sample_indices(10_000, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(a) == LIMIT and len(set(a)) == LIMIT and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, sample_indices(10_000, seed=4))


def test_a_representation_without_variance_projects_to_the_origin():
    assert np.array_equal(project(np.zeros((20, 5)), "tsne", 0), np.zeros((20, 2)))
    line = project(np.arange(6.0).reshape(6, 1), "pca", 0)  # one unit: its centred values, 0 beside them
    np.testing.assert_allclose(line, np.c_[np.arange(6.0) - 2.5, np.zeros(6)])


def test_dynamics_records_the_percentiles_of_every_layer_for_every_epoch(mlp):
    result, seen = mlp
    context, _ = seen["dynamics"]
    rows = context.state_of(named("dynamics"))[0].rows
    assert [row["epoch"] for row in rows] == [0, 1, 2]  # the starting weights, then each epoch
    keys = {"weights/dense_0.W", "weights/dense_1.W", "weights/dense_2.W"}
    keys |= {"activations/activation_0", "activations/activation_1"}
    for row in rows:
        assert set(row) - {"epoch"} == keys
        for key in keys:
            assert len(row[key]) == len(PERCENTILES) and row[key] == sorted(row[key])
    final = rows[-1]
    for name in ("dense_0.W", "dense_1.W", "dense_2.W"):  # small enough to be taken whole
        np.testing.assert_allclose(final[f"weights/{name}"], np.percentile(result.model.params[name], PERCENTILES))
    assert rows[0]["weights/dense_0.W"] != final["weights/dense_0.W"]  # training moved them
    assert all(row["activations/activation_0"][0] >= 0.0 for row in rows)  # ReLU outputs
    history = json.loads((result.folder / "history.json").read_text())
    assert all(f"grad_norm/{k}" in row and f"dead_relu/{k}" in row for row in history for k in (0, 1))


def test_the_histograms_go_to_each_reporter_after_each_epoch():
    model = nn.mlp([6, 5, 3], activation="tanh", weight_init="Xavier", seed=1)
    x = np.random.default_rng(0).normal(size=(40, 6))
    calls = []

    class Recorder:
        def log_histograms(self, values, step, at):
            assert step == "epoch"
            calls.append((at, {key: value.copy() for key, value in values.items()}))

    spread = Spread(model, x, [Recorder()])
    spread.on_train_begin({"initial_epoch": 0})
    model.params["dense_0.W"] += 1.0
    spread.on_epoch_end(1, {})
    assert [row["epoch"] for row in spread.rows] == [0, 1]
    assert [epoch for epoch, _ in calls] == [1]  # epoch 0 has no W&B row to join
    values = calls[0][1]
    assert set(values) == {"weights/dense_0.W", "weights/dense_1.W", "activations/activation_0"}
    np.testing.assert_array_equal(values["weights/dense_0.W"], model.params["dense_0.W"].ravel())
    np.testing.assert_allclose(values["activations/activation_0"], np.tanh(x @ model.params["dense_0.W"]).ravel(), 1e-5)
    resumed = Spread(model, x)
    resumed.on_train_begin({"initial_epoch": 3})
    assert resumed.rows == []  # a resumed run has no epoch 0


def test_a_large_layer_is_sampled_the_same_way_every_epoch():
    model = nn.mlp([600, 300, 2], activation="ReLU", weight_init="He", seed=0)
    spread = Spread(model, np.zeros((2, 600)))
    first, second = spread.values()["weights/dense_0.W"], spread.values()["weights/dense_0.W"]
    assert first.size == MAX_VALUES < model.params["dense_0.W"].size
    np.testing.assert_array_equal(first, second)


def test_wandb_receives_histograms_joined_to_the_epoch():
    wandb = pytest.importorskip("wandb")
    from tracking.local import LocalRun
    from tracking.wandb_run import WandbRun

    logged = []

    class FakeRun:
        def log(self, row, commit=True):
            logged.append((row, commit))

    reporter = WandbRun.__new__(WandbRun)  # no W&B run: only the method under test
    reporter.wandb, reporter.run = wandb, FakeRun()
    reporter.log_histograms({"weights/dense_0.W": np.arange(100.0)}, step="epoch", at=2)
    ((row, commit),) = logged
    assert commit is False and row["epoch"] == 2
    assert isinstance(row["weights/dense_0.W"], wandb.Histogram)
    assert sum(row["weights/dense_0.W"].histogram) == 100
    LocalRun.log_histograms(object.__new__(LocalRun), {}, step="epoch", at=2)  # the base class's: nothing to do


def test_gradient_ascent_raises_each_unit_and_finds_a_first_layer_units_weights():
    rng = np.random.default_rng(0)
    model = nn.mlp([20, 8, 6, 3], activation="ReLU", weight_init="He", seed=2)
    for name, param in model.params.items():
        if name.endswith(".b"):
            param[...] = rng.normal(scale=0.5, size=param.shape)
    x0 = starting_points(rng.random((50, 20)), 4, seed=0)
    for dense, position in ((model.layers[0], 1), (model.layers[2], 3)):
        units = top_units(dense, 4)
        norms = np.linalg.norm(dense.params["W"], axis=0)
        assert list(norms[units]) == sorted(norms, reverse=True)[:4]
        x = maximize(model, position, units, x0)
        assert x.shape == (4, 20) and x.dtype == np.float32
        z_start, a_start = unit_values(model, position, units, x0)
        z_end, a_end = unit_values(model, position, units, x)
        assert np.all(z_end > z_start) and np.all(a_end > a_start) and np.all(a_end > 0)
        objective = z_end - PENALTY * np.sum(x.astype(np.float64) ** 2, axis=1)
        assert np.all(objective > z_start - PENALTY * np.sum(x0**2, axis=1))
        if position == 1:  # z = x . w + b: the ascent converges to x* = w / (2 lam)
            np.testing.assert_allclose(x, dense.params["W"][:, units].T / (2 * PENALTY), rtol=1e-4, atol=1e-5)
    assert top_units(model.layers[2], 50).tolist() == top_units(model.layers[2], 6).tolist()  # N capped


def test_gradient_ascent_goes_through_convolutions():
    model = nn.convnet((8, 8), 10, filters=[3, 4], hidden=[6, 5], activation="ReLU", weight_init="He", seed=0)
    x0 = starting_points(np.random.default_rng(1).random((30, 64)), 2, seed=1)
    assert len(dense_hidden_layers(model)) == 2  # the dense layers after the convolutions
    for dense, position in dense_hidden_layers(model):
        units = top_units(dense, 2)
        x = maximize(model, position, units, x0, steps=60)
        assert x.shape == (2, 64)
        assert np.all(unit_values(model, position, units, x)[0] > unit_values(model, position, units, x0)[0])


def test_the_maximize_figure_holds_both_layers(mlp):
    _, seen = mlp
    context, figures = seen["maximize"]
    rows = context.state_of(named("maximize"))
    assert [label for label, *_ in rows] == ["first hidden layer (dense_0)", "last hidden layer (dense_1)"]
    for _, images, units, activations in rows:
        assert images.shape == (3, 64) and len(units) == 3 and np.all(activations > 0)
    _, height = png_size(figures["maximize"])
    assert height > 2 * 112  # two rows of images


@pytest.mark.parametrize(
    "args",
    [["-d", "breast_cancer", "--maximize", "2"], ["-d", "digits", "-nhl", "0", "--maximize", "1"]],
    ids=["tabular", "no-hidden-layer"],
)
def test_maximize_refuses_what_it_cannot_draw_in_one_line(args, tmp_path):
    import train

    result = CliRunner().invoke(train.cli, [*args, "--wandb_mode", "disabled", "--output_dir", str(tmp_path)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: --maximize")
    assert not list(tmp_path.iterdir())  # refused before anything started


def test_maximize_check_names_the_tabular_data_set():
    import datasets

    config = presets.resolve({"dataset": "breast_cancer", "maximize": 2})
    with pytest.raises(ConfigError, match="image data set, not breast_cancer"):
        PLUGIN["maximize"].check(config, datasets.load("breast_cancer"))


@pytest.mark.parametrize("arch", ["cnn", "localnet"])
def test_the_maps_of_every_convolution_are_drawn(arch, tmp_path):
    result, seen = train(tmp_path, arch=arch, filters=(4, 6), num_layers=1, hidden_size=8, epochs=1, latent="pca")
    context, figures = seen["conv_figures"]
    assert sorted(figures) == ["activation_maps", "activation_maps_1", "filters"]
    assert figures["activation_maps_1"] == result.folder / "activation_maps_1.png"
    for path in figures.values():
        plausible(path, min_height=100)
    x = result.model.as_input(context.data.x_test[:3])
    (first, first_layer), (second, second_layer) = convolution_maps(result.model, x)
    assert first.shape == (3, 8, 8, 4) and second.shape == (3, 4, 4, 6)  # 8x8, pooled to 4x4
    assert first_layer.name.endswith("_0") and second_layer.name.endswith("_1")
    assert first.min() >= 0 and second.min() >= 0 and second.max() > 0
    titles = [title for title, _ in seen["latent"][0].state_of(named("latent")).panels]
    kind = "conv2d" if arch == "cnn" else "locally_connected2d"
    assert titles == [
        f"{kind}_0 + ReLU + pool (4 maps)",
        f"{kind}_1 + ReLU + pool (6 maps)",
        "dense_0 + ReLU (8 units)",
    ]


def test_the_autoencoder_code_is_the_pretrained_stack_before_fine_tuning(tmp_path):
    import datasets

    options = {"num_layers": 2, "hidden_size": 16, "epochs": 1, "pretrain": "autoencoder", "pretrain_epochs": 1}
    result, seen = train(tmp_path, latent="pca", **options)
    state = seen["latent"][0].state_of(named("latent"))
    assert [title for title, _ in state.panels][-1] == "autoencoder code before fine-tuning (top of 2, 16 units)"
    config = presets.resolve({**TINY, **options})
    data = datasets.load("digits")
    again = build.model_for(config, data.n_features, data.n_outputs, data.image_shape)
    pretrain(again, data, config, [], say=lambda line: None)  # the same seeded pretraining, repeated
    encoder = state.encoder
    for k in (0, 1):
        np.testing.assert_array_equal(encoder.params[f"dense_{k}.W"], again.params[f"dense_{k}.W"])
        assert not np.array_equal(encoder.params[f"dense_{k}.W"], result.model.params[f"dense_{k}.W"])


def test_the_new_figures_draw_their_other_cases(tmp_path):
    rng = np.random.default_rng(0)
    panels = [(f"layer {k}", rng.normal(size=(50, 2))) for k in range(4)]
    plausible(plots.latent_figure(panels, rng.normal(size=(50, 1)), [], tmp_path / "regression.png", "t"))
    plausible(plots.latent_figure(panels[:1], np.arange(50) % 25, [str(k) for k in range(25)], tmp_path / "c.png"))
    rows = [(f"layer {k}", rng.random((n, 784)), np.arange(n), rng.random(n)) for k, n in ((0, 4), (1, 2))]
    plausible(tiles.maximize_figure(rows, (28, 28), tmp_path / "m.png", "ragged rows"))
    history = {"a": [1.0, 0.1, 0.01], "b": [2.0, np.nan, 0.5]}
    plausible(plots.layer_lines_figure([1, 2, 3], history, tmp_path / "lines.png", "t", "norm", log=True))
    spread = [{"epoch": e, "weights/w": [-2, -1, 0, 1, 2]} for e in range(3)]
    plausible(plots.spread_figure(spread, PERCENTILES, tmp_path / "spread.png"))


def test_latent_knn_scores_each_layer_of_the_trained_and_untrained_network(mlp):
    """latent_knn/<k>: scikit-learn's 5-NN accuracy (5-fold) on each hidden layer's activations of the
    same test samples, recomputed here from the weights; trained layers separate digits better."""
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    result, seen = mlp
    context, _ = seen["latent"]
    data, params, summary = context.data, result.model.params, result.summary
    index = sample_indices(len(data.x_test), seed=0)
    h = data.x_test[index].astype(np.float32)
    for k in range(2):
        h = np.maximum(h @ params[f"dense_{k}.W"] + params[f"dense_{k}.b"], 0.0)
        expected = cross_val_score(KNeighborsClassifier(5), h, data.y_test[index], cv=5).mean()
        assert summary[f"latent_knn/{k}"] == pytest.approx(expected, abs=0.01)
        assert 0.0 <= summary[f"latent_knn_untrained/{k}"] <= 1.0
    assert summary["latent_knn/1"] > summary["latent_knn_untrained/1"]
