"""``--pretrain deep_autoencoder``, ``--pretrain_activation`` and ``--pretrain_data``."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

import datasets
import nn
from experiments import presets
from experiments.plugins.pretrain import (
    DEEP_SEED,
    RECONSTRUCTION,
    deep_autoencoder,
    deep_pretrain,
    greedy_pretrain,
    pretrain,
    pretraining_inputs,
)


def config_of(**options):
    return presets.resolve({"dataset": "digits", "wandb_mode": "disabled", **options})


def numpy_reconstruction(autoencoder, x, activation):
    """``x_hat`` of a Dense/activation stack, written out in NumPy: ``activation`` after every Dense but the last."""
    denses = [layer for layer in autoencoder.layers if isinstance(layer, nn.layers.Dense)]
    h = np.asarray(x, dtype=np.float64)
    for k, dense in enumerate(denses):
        h = h @ dense.params["W"] + dense.params["b"]
        if k < len(denses) - 1:
            h = activation(h)
    return h


def sigmoid(h):
    return 1 / (1 + np.exp(-h))


def digits_pixels():
    """digits' training split (the default seed and validation fraction) in raw pixel units 0..255, and the run's data."""
    return datasets.load("digits", scaling="none").x_train, datasets.load("digits")


# -- the autoencoder ----------------------------------------------------------------------------


def test_the_deep_autoencoder_mirrors_the_hidden_layers_and_starts_from_their_weights():
    model = nn.mlp([10, 7, 4, 3], activation="ReLU", weight_init="Xavier", seed=1)
    autoencoder = deep_autoencoder(model, "tanh", seed=5)
    denses = autoencoder.layers[::2]
    assert [(d.n_in, d.n_out) for d in denses] == [(10, 7), (7, 4), (4, 7), (7, 10)]  # 10-7-4-7-10
    assert [layer.function.name for layer in autoencoder.layers[1::2]] == ["tanh"] * 3  # the last Dense: linear
    assert len(autoencoder.layers) == 7
    for k in (0, 1):
        np.testing.assert_array_equal(denses[k].params["W"], model.params[f"dense_{k}.W"])
        np.testing.assert_array_equal(denses[k].params["b"], model.params[f"dense_{k}.b"])
    assert not np.allclose(denses[2].params["W"], denses[1].params["W"].T)  # the decoder is its own, untied


def test_the_deep_autoencoders_gradient_matches_finite_differences():
    """dL/dθ by backpropagation against central differences of the loss written out in NumPy:
    ``L = (1/(N d)) sum (x_hat - x)^2`` for the 5-4-3-4-5 tanh autoencoder."""
    rng = np.random.default_rng(0)
    model = nn.mlp([5, 4, 3, 2], activation="tanh", weight_init="Xavier", seed=0, dtype=np.float64)
    autoencoder = deep_autoencoder(model, "tanh", seed=3)
    x = rng.normal(size=(7, 5))
    value, grads = nn.objective_and_grads(autoencoder, RECONSTRUCTION, x, x)

    def loss():
        return np.mean((numpy_reconstruction(autoencoder, x, np.tanh) - x) ** 2)

    assert value == pytest.approx(loss(), rel=1e-12)
    eps = 1e-6
    for name, param in autoencoder.params.items():
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            kept = param[index]
            param[index] = kept + eps
            up = loss()
            param[index] = kept - eps
            down = loss()
            param[index] = kept
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


# -- linear autoencoders and PCA ----------------------------------------------------------------


def low_rank_data():
    """128 points in R^6 with standard deviations 3, 2, 1.5 | 0.3, 0.2, 0.1 along random orthogonal axes, off
    the origin: PCA with 3 components keeps the first three."""
    rng = np.random.default_rng(0)
    axes, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    return (rng.normal(size=(128, 6)) * [3.0, 2.0, 1.5, 0.3, 0.2, 0.1]) @ axes + [1.0, -2.0, 0.5, 0.0, 3.0, -1.0]


@pytest.mark.parametrize(
    ("mode", "sizes"), [("deep_autoencoder", (3,)), ("deep_autoencoder", (4, 3)), ("autoencoder", (3,))]
)
def test_a_linear_autoencoder_reaches_pcas_reconstruction_error(mode, sizes):
    """A linear autoencoder with a 3-unit code reconstructs through a rank-3 affine map, so its mean squared
    error is at least PCA's with 3 components (Eckart-Young, scikit-learn's PCA: the optimum), and, trained
    long enough (full batch, Adam 0.03, 3000 epochs), within 0.5% of it; the encoder then spans PCA's
    subspace. The network's own activation is ReLU: the weights are copied all the same."""
    x = low_rank_data()
    pca = PCA(n_components=3).fit(x)
    pca_mse = np.mean((x - pca.inverse_transform(pca.transform(x))) ** 2)
    two = PCA(n_components=2).fit(x)
    assert np.mean((x - two.inverse_transform(two.transform(x))) ** 2) > 10 * pca_mse  # a 2-D code is far off
    config = config_of(
        num_layers=len(sizes),
        hidden_size=list(sizes),
        pretrain=mode,
        pretrain_activation="identity",
        pretrain_epochs=3000,
        batch_size=len(x),
        optimizer="adam",
        learning_rate=0.03,
    )
    model = nn.mlp([6, *sizes, 2], activation="ReLU", weight_init="Xavier", seed=0, dtype=np.float64)
    if mode == "deep_autoencoder":
        summary, autoencoder = deep_pretrain(model, x, config, [], say=lambda line: None)
        final = np.mean((numpy_reconstruction(autoencoder, x, lambda h: h) - x) ** 2)  # at the trained weights
        assert pca_mse * (1 - 1e-9) <= final <= pca_mse * 1.005
        code_map = autoencoder.layers[0].params["W"]
        for dense in autoencoder.layers[2 : 2 * len(sizes) : 2]:
            code_map = code_map @ dense.params["W"]  # x -> code: 6 x 3
    else:
        summary = greedy_pretrain(model, x, config, [], say=lambda line: None)
        code_map = model.params["dense_0.W"]
    (loss,) = summary.values()  # the last epoch's, measured before its (one) update
    assert pca_mse * (1 - 1e-9) <= loss <= pca_mse * 1.005
    assert np.degrees(subspace_angles(code_map, pca.components_.T)).max() < 5.0
    if len(sizes) == 2:  # the 4-unit first layer holds PCA's 3-D subspace
        assert np.degrees(subspace_angles(model.params["dense_0.W"], pca.components_.T)).max() < 5.0


def test_the_encoders_weights_land_in_the_network_and_the_output_layer_is_untouched():
    x = low_rank_data()
    config = config_of(num_layers=2, hidden_size=[5, 3], pretrain="deep_autoencoder", pretrain_epochs=3, batch_size=32)
    model = nn.mlp([6, 5, 3, 2], activation="sigmoid", weight_init="Xavier", seed=0, dtype=np.float64)
    before = {name: value.copy() for name, value in model.params.items()}
    summary, autoencoder = deep_pretrain(model, x, config, [], say=lambda line: None)
    assert list(summary) == ["pretrain/reconstruction_loss/deep"]
    for k in (0, 1):
        for p in ("W", "b"):
            trained = autoencoder.layers[2 * k].params[p]
            np.testing.assert_array_equal(model.params[f"dense_{k}.{p}"], trained)
            assert not np.allclose(trained, before[f"dense_{k}.{p}"])
    for p in ("W", "b"):
        np.testing.assert_array_equal(model.params[f"dense_2.{p}"], before[f"dense_2.{p}"])


# -- --pretrain_data ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["images", "flat", "channel", "csv"])
def test_a_pretraining_file_is_scaled_as_the_training_pixels(shape, tmp_path):
    """digits' training pixels written to a file (as 8 x 8 images, 64 values, 8 x 8 x 1, a CSV of 64 columns)
    come back as the run's training inputs: the raw pixels / 255 (the training split's min-max)."""
    pixels, data = digits_pixels()
    assert pixels.min() == 0 and pixels.max() == 255
    if shape == "csv":
        path = tmp_path / "rows.csv"
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([f"p{j}" for j in range(64)])
            writer.writerows(pixels.astype(int).tolist())
    else:
        path = tmp_path / "rows.npz"
        reshape = {"images": (-1, 8, 8), "flat": (-1, 64), "channel": (-1, 8, 8, 1)}[shape]
        np.savez(path, x=pixels.astype(np.uint8).reshape(reshape))
    inputs = pretraining_inputs(str(path), data)
    np.testing.assert_allclose(inputs, pixels / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(inputs, data.x_train)


def test_pretraining_on_a_file_uses_its_rows(tmp_path):
    """The training split as a file pretrains exactly as the training split; 40 other rows give another
    encoder, and the first epoch's loss (one batch, before its update) is the initial autoencoder's
    reconstruction error over those 40 rows."""
    pixels, data = digits_pixels()
    options = {"num_layers": 1, "hidden_size": 8, "activation": "sigmoid", "pretrain": "deep_autoencoder"}
    same, other = tmp_path / "same.npz", tmp_path / "other.npz"
    np.savez(same, x=pixels.reshape(-1, 8, 8).astype(np.uint8))
    rows = np.random.default_rng(1).integers(0, 256, size=(40, 64))
    np.savez(other, x=rows)

    def pretrained(**more):
        config = config_of(**{**options, "pretrain_epochs": 2, "batch_size": 64, **more})
        model = nn.mlp([64, 8, 10], activation="sigmoid", weight_init="Xavier", seed=0)
        logged, said = [], []

        class Collect:
            def log_scalars(self, series, row, step):
                logged.append(row)

        summary = pretrain(model, data, config, [Collect()], say=said.append)
        return model, summary, logged, said

    plain, plain_summary, _, _ = pretrained()
    from_file, file_summary, _, said = pretrained(pretrain_data=str(same))
    assert said[0] == f"pretraining on the {len(pixels):,} rows of {same}, not the training split"
    np.testing.assert_array_equal(from_file.params["dense_0.W"], plain.params["dense_0.W"])
    assert file_summary == plain_summary

    config = config_of(**options, pretrain_epochs=1, batch_size=64, pretrain_data=str(other))
    initial = nn.mlp([64, 8, 10], activation="sigmoid", weight_init="Xavier", seed=0)
    start = deep_autoencoder(initial, "sigmoid", seed=config.data.seed + DEEP_SEED)
    expected = np.mean((numpy_reconstruction(start, rows / 255.0, sigmoid) - rows / 255.0) ** 2)
    model, summary, logged, said = pretrained(pretrain_data=str(other), pretrain_epochs=1)
    assert said[0].startswith("pretraining on the 40 rows of")
    assert logged == [
        {"pretrain_epoch": 1, "pretrain/reconstruction_loss/deep": summary["pretrain/reconstruction_loss/deep"]}
    ]
    assert summary["pretrain/reconstruction_loss/deep"] == pytest.approx(expected, rel=1e-5)
    assert not np.allclose(model.params["dense_0.W"], plain.params["dense_0.W"], atol=1e-3)


def test_the_greedy_mode_takes_a_file_and_an_activation_too(tmp_path):
    """``--pretrain autoencoder --pretrain_activation identity`` on a file: each layer's first epoch is one batch
    of the file's rows through a linear autoencoder; layer 1 sees layer 0's linear codes."""
    _, data = digits_pixels()
    rows = np.random.default_rng(2).integers(0, 256, size=(30, 64))
    path = tmp_path / "rows.npz"
    np.savez(path, x=rows)
    config = config_of(
        num_layers=2,
        hidden_size=[8, 4],
        activation="ReLU",
        pretrain="autoencoder",
        pretrain_activation="identity",
        pretrain_epochs=1,
        batch_size=64,
        pretrain_data=str(path),
    )
    model = nn.mlp([64, 8, 4, 10], activation="ReLU", weight_init="Xavier", seed=0)
    initial = {name: value.copy() for name, value in model.params.items()}
    summary = pretrain(model, data, config, [], say=lambda line: None)
    x = rows / 255.0
    # layer 0's autoencoder: the network's initial W0, b0 and the decoder seeded seed + 101 (its linear code)
    decoder = nn.Sequential([nn.layers.Dense(64, 8, "Xavier"), nn.layers.Dense(8, 64, "Xavier")], seed=101)
    code = x @ initial["dense_0.W"] + initial["dense_0.b"]
    expected = np.mean((code @ decoder.params["dense_1.W"] + decoder.params["dense_1.b"] - x) ** 2)
    assert summary["pretrain/reconstruction_loss/0"] == pytest.approx(expected, rel=1e-5)
    assert set(summary) == {"pretrain/reconstruction_loss/0", "pretrain/reconstruction_loss/1"}


def write_table(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def table_data(tmp_path):
    rng = np.random.default_rng(0)
    colours = ["red", "green", "blue"]
    rows = [[f"{rng.normal():.3f}", colours[k % 3], f"{rng.normal() * 10:.2f}", k % 2] for k in range(60)]
    path = write_table(tmp_path / "table.csv", ["a", "colour", "b", "y"], rows)
    return rows, path


@pytest.mark.parametrize("with_target", [True, False])
def test_a_pretraining_table_is_encoded_as_the_training_table(with_target, tmp_path):
    """A CSV with the training table's feature columns in another order (the target column kept or left out)
    gives one input per row; each training row is among them, encoded and scaled as the run's."""
    rows, path = table_data(tmp_path)
    data = datasets.load(path, target="y")
    header = ["b", "y", "colour", "a"] if with_target else ["colour", "b", "a"]
    reordered = [[row[{"a": 0, "colour": 1, "b": 2, "y": 3}[name]] for name in header] for row in rows]
    inputs = pretraining_inputs(write_table(tmp_path / "rows.csv", header, reordered), data, "y")
    assert inputs.shape == (60, data.n_features) == (60, 5)  # a, colour=blue/green/red, b
    for row in data.x_train:
        assert np.isclose(inputs, row, rtol=0, atol=1e-6).all(axis=1).any()
    # the one-hot block, by hand: colour sorted blue, green, red
    colours = np.array([[row[1] == c for c in ("blue", "green", "red")] for row in rows], dtype=np.float64)
    scale, offset = data.preprocessing.scale, data.preprocessing.offset
    np.testing.assert_allclose((inputs[:, 1:4] / scale[1:4]) + offset[1:4], colours, atol=1e-6)


BAD = {
    "missing": (lambda tmp: str(tmp / "nope.npz"), "nope.npz: no such file"),
    "suffix": (lambda tmp: write_table(tmp / "rows.txt", ["a"], [[1]]), "not a .csv or .npz file"),
    "no x": (lambda tmp: _npz(tmp, y=np.zeros(3)), "holds no array x"),
    "text x": (lambda tmp: _npz(tmp, x=np.array([["a"] * 64])), "holds x of <U1 values"),
    "width": (lambda tmp: _npz(tmp, x=np.zeros((3, 10))), "rows of shape (10,); the training data's rows hold 64"),
    "nan": (lambda tmp: _npz(tmp, x=np.full((3, 64), np.nan)), "x holds NaN or infinite values"),
    "csv range": (
        lambda tmp: write_table(tmp / "r.csv", [f"p{j}" for j in range(64)], [["1e300"] * 64]),
        "holds values beyond float32's range",
    ),
    "csv text": (
        lambda tmp: write_table(tmp / "r.csv", [f"p{j}" for j in range(64)], [["x"] * 64]),
        "column 'p0' holds text",
    ),
    "csv gap": (
        lambda tmp: write_table(tmp / "r.csv", [f"p{j}" for j in range(64)], [[""] + ["1"] * 63]),
        "has missing cells (1)",
    ),
}


def _npz(tmp, **arrays):
    path = tmp / "rows.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_file_without_the_training_features_is_one_line_naming_it(case, tmp_path):
    make, message = BAD[case]
    path = make(tmp_path)
    with pytest.raises(datasets.DataFileError) as caught:
        pretraining_inputs(path, datasets.load("digits"))
    assert message in str(caught.value) and str(caught.value).startswith(path) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (["a", "colour"], [["1", "red"]], "its columns differ from the training data's (missing b)"),
        (["a", "colour", "b", "c"], [["1", "red", "2", "3"]], "(unknown c)"),
        (["a", "colour", "b"], [["1", "red", "2"], ["oops", "red", "2"]], "column 'a' holds 'oops' (line 3)"),
        (["a", "colour", "b"], [["1", "red", "2"], ["1", "red", "-1e300"]], "column 'b' holds -1e300 (line 3), beyond"),
    ],
)
def test_a_table_that_does_not_fit_is_one_line(header, rows, message, tmp_path):
    _, path = table_data(tmp_path)
    data = datasets.load(path, target="y")
    bad = write_table(tmp_path / "bad.csv", header, rows)
    with pytest.raises(datasets.DataFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pretraining_inputs(bad, data, "y")
    with pytest.raises(datasets.DataFileError, match="the training data is a table"):
        pretraining_inputs(_npz(tmp_path, x=np.zeros((2, 3))), data, "y")


def test_a_bad_pretraining_file_stops_the_run_before_it_starts_with_one_line_and_exit_2(tmp_path):
    import train

    bad = _npz(tmp_path, x=np.zeros((3, 10)))
    args = ["-d", "digits", "-nhl", "1", "--pretrain", "deep_autoencoder", "--pretrain_data", bad]
    result = CliRunner().invoke(train.cli, [*args, "--wandb_mode", "disabled", "--output_dir", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "rows of shape (10,)" in lines[0], result.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())  # no run folder


@pytest.mark.slow
def test_a_deep_pretrained_run_logs_its_reconstruction_loss(tmp_path):
    """A whole run: the summary's loss is the last row of pretraining.csv; the file's rows were used."""
    import train

    pixels, _ = digits_pixels()
    path = _npz(tmp_path, x=pixels[:100].reshape(-1, 8, 8).astype(np.uint8))
    args = ["-d", "digits", "-e", "1", "-nhl", "2", "-sz", "16", "8", "-a", "tanh", "--pretrain", "deep_autoencoder"]
    args += ["--pretrain_epochs", "3", "--pretrain_activation", "identity", "--pretrain_data", path]
    folder = tmp_path / "o"
    result = CliRunner().invoke(train.cli, [*args, "--wandb_mode", "disabled", "--output_dir", str(folder)])
    assert result.exit_code == 0, result.output
    (run,) = folder.iterdir()
    assert run.name.endswith("_deepae-identity")
    summary = json.loads((run / "summary.json").read_text())
    with open(run / "pretraining.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [row["pretrain_epoch"] for row in table] == ["1", "2", "3"]
    key = "pretrain/reconstruction_loss/deep"
    assert summary[key] == pytest.approx(float(table[-1][key]), rel=1e-6)
    assert f"pretraining on the 100 rows of {path}" in result.output
    assert "deep autoencoder 64-16-8-16-64 (identity)" in result.output
