"""The figures (tracking/plots.py, tracking/tiles.py, the sweep report's parallel coordinates): every drawing function
writes a PNG of a plausible size from data shaped like Fashion-MNIST's, the learning curves' epoch
ticks are whole numbers, the mistakes' labels tell near-certain probabilities apart, and the
parallel-coordinates colours never fade into the white background. No training: all data is made up."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT

from tracking import plots, tiles

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SHAPE = (28, 28)


def png_size(path):
    """(width, height) of a valid PNG file."""
    from PIL import Image

    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.size


def plausible(path, min_width=300, min_height=150):
    width, height = png_size(path)
    assert min_width <= width <= 4000 and min_height <= height <= 4000, (path.name, width, height)
    return width, height


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def mistake_rows(rng, n):
    rows = []
    for k in range(n):
        p = rng.dirichlet(np.full(10, 0.1))
        true, predicted = k % 10, (k + 3) % 10
        p[predicted] += 20
        p /= p.sum()
        rows.append(
            {"index": k, "true": NAMES[true], "predicted": NAMES[predicted]}
            | {f"p({name})": float(p[c]) for c, name in enumerate(NAMES)}
        )
    return rows


def test_sample_grid(tmp_path, rng):
    x, y = rng.random((50, 784), dtype=np.float32), np.arange(50) % 10
    path = tiles.sample_grid(x, y, SHAPE, NAMES, tmp_path / "samples.png")
    assert path == tmp_path / "samples.png"
    width, _ = plausible(path)
    long = [f"class number {k} with a long name" for k in range(10)]
    wide, _ = plausible(tiles.sample_grid(x, y, SHAPE, long, tmp_path / "long.png"))
    assert wide > width  # the columns make room for their labels rather than overlap them


@pytest.mark.parametrize("names", [NAMES, [str(k) for k in range(10)], ["a very long class name indeed", "b", "c"]])
def test_confusion_figure(tmp_path, rng, names):
    n = len(names)
    counts = rng.integers(0, 40, (n, n))
    np.fill_diagonal(counts, 900)
    width, height = plausible(plots.confusion_figure(counts, names, tmp_path / "confusion.png", title="test set"))
    assert width >= 600 and height >= 300


def test_confusion_figure_without_mistakes(tmp_path):
    plausible(plots.confusion_figure(np.diag([5, 7, 9]), ["a", "b", "c"], tmp_path / "c.png"))


def history(epochs, metric="accuracy"):
    return [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.1 / e,
            f"train_{metric}": 1 - 0.2 / e,
            f"val_{metric}": 1 - 0.3 / e,
        }
        for e in range(1, epochs + 1)
    ]


def test_curves_figure(tmp_path):
    plausible(plots.curves_figure(history(3), tmp_path / "curves.png", title="run"))
    plausible(plots.curves_figure(history(5, "rmse"), tmp_path / "rmse.png", metric="rmse"))


@pytest.mark.parametrize("epochs", [1, 2, 3, 7, 30])
def test_curves_have_whole_epoch_ticks(epochs):
    fig = plots.draw_curves(history(epochs), title="run")
    for ax in fig.axes:
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks, f"no epoch tick in view for {epochs} epochs"
        assert all(float(t).is_integer() for t in ticks), ticks
        assert all(
            float(label.get_text().replace("−", "-")).is_integer() for label in ax.get_xticklabels() if label.get_text()
        )


def test_probability_labels_tell_near_certain_mistakes_apart():
    assert tiles.probability_label(0.9991) != tiles.probability_label(0.9999)
    assert tiles.probability_label(0.9991) == "0.9991"
    assert tiles.probability_label(0.9999) == "0.9999"
    assert tiles.probability_label(0.99987) == "0.99987"
    assert tiles.probability_label(0.87) == "0.87"
    assert tiles.probability_label(0.5) == "0.50"
    assert tiles.probability_label(0.955) == "0.955"
    assert tiles.probability_label(1.0) == "1"
    assert tiles.probability_label(1 - 3.2e-9) == "1 − 3.2e-9"
    for p in (0.3, 0.91, 0.9991, 0.99987, 0.999987):
        assert abs(float(tiles.probability_label(p)) - p) <= (1 - p) / 10 + 1e-12  # 1 - p to two digits


def test_mistake_label_reads_true_predicted_and_probabilities():
    row = {"index": 3, "true": "Shirt", "predicted": "T-shirt/top", "p(Shirt)": 1.2e-4, "p(T-shirt/top)": 0.99987}
    lines = [text for text, _ in tiles.mistake_label(row)]
    assert lines == ["Shirt", "→ T-shirt/top", "p = 0.99987", "p(true) = 1.2e-4"]


def test_mistakes_figure(tmp_path, rng):
    images = rng.random((16, 784), dtype=np.float32)
    width, height = plausible(tiles.mistakes_figure(images, mistake_rows(rng, 16), SHAPE, tmp_path / "m.png"))
    assert width > height  # two rows of eight


def test_mistakes_figure_with_no_mistake(tmp_path):
    plausible(tiles.mistakes_figure(np.zeros((0, 784)), [], SHAPE, tmp_path / "none.png"), min_height=20)


def test_first_layer_and_weight_histograms(tmp_path, rng):
    plausible(tiles.first_layer_figure(rng.normal(size=(784, 40)), SHAPE, tmp_path / "w.png", title="run"))
    model = SimpleNamespace(
        params={"dense_0.W": rng.normal(size=(784, 32)), "dense_1.W": rng.normal(size=(32, 10))},
        decayed_names=lambda: ["dense_0.W", "dense_1.W"],
    )
    plausible(plots.weight_histograms(model, tmp_path / "hist.png"))


def test_adversarial_and_saliency(tmp_path, rng):
    pixels = rng.random((10, 784))
    adversarial = np.clip(pixels + 0.1 * np.sign(rng.normal(size=pixels.shape)), 0, 1)
    labels, predictions = np.arange(10), (np.arange(10) + 1) % 10
    plausible(
        tiles.adversarial_figure(
            pixels, adversarial, labels, labels, predictions, SHAPE, NAMES, 0.1, tmp_path / "fgsm.png"
        )
    )
    plausible(
        tiles.saliency_figure(pixels, np.abs(rng.normal(size=pixels.shape)), labels, SHAPE, NAMES, tmp_path / "s.png")
    )


def test_convolution_figures(tmp_path, rng):
    plausible(
        tiles.filters_figure(rng.normal(size=(3, 3, 1, 8)), tmp_path / "filters.png", title="cnn"), min_height=100
    )
    plausible(tiles.filters_figure(rng.normal(size=(5, 5, 3, 1)), tmp_path / "one.png"), min_height=100)
    maps = rng.random((10, 26, 26, 8))
    plausible(
        tiles.activation_maps_figure(rng.random((10, 784)), maps, np.arange(10), SHAPE, NAMES, tmp_path / "a.png")
    )


def test_tiles_show_each_image_pixel_for_pixel(tmp_path):
    """An image's pixel comes out as a square of whole, unblurred pixels (scaled up by a whole factor)."""
    from PIL import Image

    image = np.zeros(SHAPE)
    image[3, 5] = 1.0  # one black pixel (gray_r), the rest white
    tile = tiles._rgba(image, "gray_r")
    path = tiles._tiles_figure([tile], [[]], columns=1, title="", path=tmp_path / "one.png", cell=112)
    with Image.open(path) as picture:
        grey = np.asarray(picture.convert("L"))
    black = grey == 0
    rows, columns = np.flatnonzero(black.any(axis=1)), np.flatnonzero(black.any(axis=0))
    assert len(rows) == len(columns) == 112 // 28  # 4 x 4 screen pixels
    assert black[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1].all()
    assert set(np.unique(grey)) <= {0, 204, 255}  # black, the grey frame, white: nothing blurred


@pytest.mark.parametrize("one_dimensional", [True, False])
def test_the_regression_fit_figure_draws_both_kinds(one_dimensional, tmp_path):
    x = np.linspace(-3, 3, 50)
    y = np.sin(x)
    curve = (x, x, np.sin(x) * 0.9, np.sin(x)) if one_dimensional else None
    path = plots.fit_figure(tmp_path / "fit.png", "sine test set: RMSE 0.1", y, y * 0.9, curve)
    width, height = png_size(path)
    assert 700 <= width <= 900 and height == 450  # widened for the legend beside the plot


def test_image_grids_load_no_matplotlib():
    """The sample grid and the mistakes are drawn with NumPy and Pillow alone: a run pays matplotlib's
    import only for the figures with axes."""
    code = (
        "import sys, tempfile, pathlib, numpy as np\n"
        "from tracking import tiles\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "tiles.sample_grid(np.random.rand(20, 784), np.arange(20) % 10, (28, 28), [str(k) for k in range(10)], d / 's.png')\n"
        "row = {'index': 0, 'true': 'a', 'predicted': 'b', 'p(a)': 0.1, 'p(b)': 0.9}\n"
        "tiles.mistakes_figure(np.random.rand(1, 784), [row], (28, 28), d / 'm.png')\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def luminance(rgba):
    r, g, b = rgba[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("reverse", [False, True])
def test_parallel_coordinates_colours_are_visible_on_white(reverse):
    from sweeping.report import parallel_colormap

    cmap = parallel_colormap(reverse)
    weakest = cmap(1.0 if reverse else 0.0)
    assert luminance(weakest) < 0.8, weakest  # not near-white
    assert max(luminance(cmap(v)) for v in np.linspace(0, 1, 33)) < 0.8
    best = cmap(0.0 if reverse else 1.0)
    assert luminance(best) < luminance(weakest) - 0.3  # the best runs are the darkest


@pytest.mark.filterwarnings("ignore:.*is experimental")
def test_parallel_coordinates_figure_uses_the_visible_colours(tmp_path):
    optuna = pytest.importorskip("optuna")
    from matplotlib.collections import LineCollection

    from sweeping.report import _parallel_coordinates

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    distribution = optuna.distributions.FloatDistribution(0.0, 0.9)
    for dropout, value in [(0.0, 0.80), (0.2, 0.85), (0.5, 0.83), (0.9, 0.40)]:
        study.add_trial(
            optuna.trial.create_trial(params={"dropout": dropout}, distributions={"dropout": distribution}, value=value)
        )
    fig = _parallel_coordinates(study, ["dropout"], "val_accuracy", tmp_path / "pc.png")
    plausible(tmp_path / "pc.png")
    (lines,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    values = lines.get_array()
    assert values is not None
    colours = lines.to_rgba(values)
    assert max(luminance(c) for c in colours) < 0.8  # the weakest run (0.40) is visible
    assert list(values) == sorted(values)  # the best drawn last, on top
