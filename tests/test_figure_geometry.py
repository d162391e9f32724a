"""Every figure fits its picture and no legend hides data, checked on the figure as drawn.

Each figure function of ``tracking/plots.py``, ``tracking/tiles.py``, ``sweeping/report.py`` (and the panel
of ``sweeping/panels.py``, drawn by ``sweeping.figures.metric_vs_created_figure``) and
``scripts/study_figures.py`` is driven with small made-up data (no training). The figure each one saves
is caught on its way to ``save_figure`` and drawn with its own Agg renderer; then

1. every text the renderer drew (titles, tick and axis labels, legends, notes) lies inside the
   figure's extent, to one pixel: nothing is clipped at the picture's edge;
2. no legend's extent overlaps the data area (the window extent) of any axes of the figure (colour
   bars included): a legend beside, above or below the plots, never over them.

The tile pictures drawn with Pillow (sample grid, mistakes, filters, activation maps, maximisation)
have no renderer to ask: their texts' boxes (``ImageDraw.textbbox`` of each ``text`` call) must lie
inside the picture. Each check also asserts that it found the texts and legends the figure has, so it
cannot pass on an empty figure.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import click
import numpy as np
import pytest
from conftest import ROOT

from sweeping import figures as sweep_figures
from sweeping import study_figures as study_figures_library
from tracking import plots, tiles

NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SHAPE = (28, 28)
TOLERANCE = 1.0  # pixels


@pytest.fixture
def saved(monkeypatch):
    """The matplotlib figures (and Pillow pictures) passed to ``save_figure``, in order; each is still
    written, as the function would write it."""
    import tracking.files

    real = tracking.files.save_figure
    caught: list = []

    def catch(fig, path, dpi=100):
        caught.append(fig)
        return real(fig, path, dpi=dpi)

    monkeypatch.setattr(tracking.files, "save_figure", catch)
    for module in (plots, tiles, sweep_figures, study_figures_library):
        monkeypatch.setattr(module, "save_figure", catch)
    return caught


@pytest.fixture
def pil_texts(monkeypatch):
    """The box and picture size of every text Pillow writes: ``(text, (x0, y0, x1, y1), (width, height))``."""
    from PIL import ImageDraw

    real = ImageDraw.ImageDraw.text
    written: list = []

    def text(self, xy, text, fill=None, font=None, anchor=None, *args, **kwargs):
        box = self.textbbox(xy, text, font=font, anchor=anchor)
        written.append((text, box, self.im.size))
        return real(self, xy, text, fill, font, anchor, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    return written


def drawn_texts(fig) -> list:
    """The texts the figure's renderer actually draws (a tick label outside the view is not drawn)."""
    from matplotlib.backends.backend_agg import RendererAgg

    drawn: dict[int, object] = {}
    real = RendererAgg.draw_text

    def record(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and s.strip():
            drawn[id(mtext)] = mtext
        return real(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    RendererAgg.draw_text = record
    try:
        fig.canvas.draw()
    finally:
        RendererAgg.draw_text = real
    return list(drawn.values())


def check_figure(fig, min_texts: int, legends: int | None = 0) -> None:
    """Texts inside the figure, legends off every axes' data area; at least ``min_texts`` texts drawn
    and exactly ``legends`` visible legends (``None``: any number)."""
    from matplotlib.legend import Legend

    texts = drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    assert len(texts) >= min_texts, f"only {len(texts)} texts drawn: {[t.get_text() for t in texts]}"
    for text in texts:
        box = text.get_window_extent(renderer)
        inside = (
            box.x0 >= -TOLERANCE
            and box.y0 >= -TOLERANCE
            and box.x1 <= width + TOLERANCE
            and box.y1 <= height + TOLERANCE
        )
        assert inside, f"{text.get_text()!r} at {box.bounds} is cut by the figure's edge ({width:.0f} x {height:.0f})"
    found = [legend for legend in dict.fromkeys(fig.findobj(Legend)) if legend.get_visible()]
    if legends is not None:
        assert len(found) == legends, f"{len(found)} legends, expected {legends}"
    for legend in found:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            area = ax.get_window_extent(renderer)
            overlap_x = min(box.x1, area.x1) - max(box.x0, area.x0)
            overlap_y = min(box.y1, area.y1) - max(box.y0, area.y0)
            labels = [t.get_text() for t in legend.get_texts()][:3]
            assert overlap_x <= TOLERANCE or overlap_y <= TOLERANCE, (
                f"legend {labels} overlaps the data area of axes {ax.get_title()!r} by "
                f"{overlap_x:.0f} x {overlap_y:.0f} px"
            )


def check_picture(written, min_texts: int) -> None:
    assert len(written) >= min_texts, f"only {len(written)} texts written"
    for text, (x0, y0, x1, y1), (width, height) in written:
        assert x0 >= -TOLERANCE and y0 >= -TOLERANCE, (text, (x0, y0))
        assert x1 <= width + TOLERANCE and y1 <= height + TOLERANCE, (text, (x1, y1), (width, height))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def history(epochs, metric="accuracy", top=0.25):
    return [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.1 / e,
            f"train_{metric}": 1 - top * 0.8 / e**1.5,
            f"val_{metric}": 1 - top / e**1.4,
        }
        for e in range(1, epochs + 1)
    ]


# -- tracking/plots.py ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    ["test set", "fashion_mnist test set, ensemble of 3 models: outputs/models/a/quite/long/path/to/model.npz"],
)
def test_confusion_matrix(tmp_path, rng, saved, title):
    counts = rng.integers(0, 40, (10, 10))
    np.fill_diagonal(counts, 900)
    counts[3, 4] = 1
    plots.confusion_figure(counts, NAMES, tmp_path / "c.png", title=title)
    (fig,) = saved
    check_figure(fig, min_texts=2 * 10 + 4)
    notes = [t.get_text() for t in fig.texts]
    assert not any(" 1 times" in note for note in notes)
    ax = fig.axes[0].get_window_extent(fig.canvas.get_renderer())
    assert abs((ax.x0 + ax.x1) / 2 - fig.bbox.width / 2) <= 2  # the matrix in the middle


def test_confusion_matrix_says_one_time():
    assert plots.times(1) == "1 time" and plots.times(2) == "2 times"


@pytest.mark.parametrize(("metric", "top"), [("accuracy", 0.25), ("accuracy", 0.6), ("rmse", 0.5)])
def test_learning_curves(tmp_path, saved, metric, top):
    plots.curves_figure(history(30, metric, top), tmp_path / "c.png", "MNIST, 2 × 1024 ReLU, AdamW 0.001", metric)
    (fig,) = saved
    check_figure(fig, min_texts=8, legends=1)


def test_the_accuracy_near_one_is_not_squeezed(saved, tmp_path):
    """An accuracy that reaches 0.99 is drawn on a logit scale: 0.99 is as far from 0.9 as 0.9 from 0.5."""
    fig = plots.draw_curves(history(30, top=0.25), "t")
    assert fig.axes[1].get_yscale() == "logit"
    _, high = fig.axes[1].get_ylim()
    assert high > 0.99


@pytest.mark.parametrize("one_dimensional", [True, False])
def test_regression_fit(tmp_path, saved, one_dimensional):
    x = np.linspace(-3, 3, 50)
    curve = (x, x, np.sin(x) * 0.9, np.sin(x)) if one_dimensional else None
    plots.fit_figure(tmp_path / "f.png", "sine test set: RMSE 0.1", np.sin(x), np.sin(x) * 0.9, curve)
    (fig,) = saved
    check_figure(fig, min_texts=6, legends=1)


def test_weight_histograms(tmp_path, rng, saved):
    model = SimpleNamespace(
        params={f"dense_{k}.W": rng.normal(size=(64, 32)) for k in range(4)},
        decayed_names=lambda: [f"dense_{k}.W" for k in range(4)],
    )
    plots.weight_histograms(model, tmp_path / "h.png")
    (fig,) = saved
    check_figure(fig, min_texts=5)


@pytest.mark.parametrize("classes", [NAMES, None])
def test_latent(tmp_path, rng, saved, classes):
    panels = [(f"layer {k}", rng.normal(size=(100, 2))) for k in range(4)]
    targets = np.arange(100) % 10 if classes else rng.normal(size=100)
    plots.latent_figure(panels, targets, classes, tmp_path / "l.png", title="hidden layers, PCA")
    (fig,) = saved
    check_figure(fig, min_texts=5, legends=1 if classes else 0)


@pytest.mark.parametrize(("layers", "low", "high"), [(3, 1e-4, 1.0), (9, 0.0018, 0.0045), (14, 0.01, 2.0)])
def test_layer_lines(tmp_path, rng, saved, layers, low, high):
    """Within one decade the log axis labels its minor ticks (2×10⁻³ ...): wide labels, the y label further out."""
    series = {f"dense_{k}.W": list(rng.uniform(low, high, size=5)) for k in range(layers)}
    plots.layer_lines_figure(
        [1, 2, 3, 4, 5],
        series,
        tmp_path / "g.png",
        title="Fashion-MNIST, 8 × 128 sigmoid\nmean gradient norm",
        ylabel="mean ||dL/dW|| (log scale)",
        log=True,
    )
    (fig,) = saved
    check_figure(fig, min_texts=layers + 4, legends=1)
    colours = [tuple(line.get_color()) for line in fig.axes[0].get_lines()]
    assert len(set(colours)) == layers  # one colour per layer, none repeated


def test_weight_spread_wraps_into_a_grid(tmp_path, rng, saved):
    keys = [f"weights/dense_{k}.W" for k in range(9)] + [f"activations/activation_{k}" for k in range(8)]
    rows = [{"epoch": e, **{key: sorted(rng.normal(size=5)) for key in keys}} for e in range(6)]
    plots.spread_figure(rows, (5, 25, 50, 75, 95), tmp_path / "s.png", title="Fashion-MNIST, 8 × 128 ReLU")
    (fig,) = saved
    check_figure(fig, min_texts=17 + 2)
    width, height = fig.get_size_inches()
    assert width <= 15 and width / height < 2.5  # readable at page width: a grid, not one long row


# -- tracking/tiles.py ---------------------------------------------------------------------------------------


def test_tile_pictures(tmp_path, rng, pil_texts):
    x, y = rng.random((50, 784)), np.arange(50) % 10
    tiles.sample_grid(x, y, SHAPE, NAMES, tmp_path / "s.png")
    rows = [
        {"index": k, "true": NAMES[k], "predicted": NAMES[(k + 1) % 10]}
        | {f"p({n})": 0.9 if n == NAMES[(k + 1) % 10] else 0.01 for n in NAMES}
        for k in range(10)
    ]
    tiles.mistakes_figure(rng.random((10, 784)), rows, SHAPE, tmp_path / "m.png")
    tiles.first_layer_figure(rng.normal(size=(784, 40)), SHAPE, tmp_path / "w.png", title="MNIST, 3 × 128 ReLU")
    tiles.filters_figure(rng.normal(size=(3, 3, 1, 8)), tmp_path / "f.png", title="Fashion-MNIST, cnn")
    tiles.activation_maps_figure(
        rng.random((10, 784)),
        rng.random((10, 12, 12, 8)),
        np.arange(10),
        SHAPE,
        NAMES,
        tmp_path / "a.png",
        layer="convolution 2 of 2 (conv2d_3)",
    )
    pixels = rng.random((5, 784))
    labels = np.arange(5)
    tiles.adversarial_figure(pixels, pixels, labels, labels, labels, SHAPE, NAMES, 0.1, tmp_path / "x.png")
    tiles.saliency_figure(pixels, pixels, labels, SHAPE, NAMES, tmp_path / "y.png")
    maximize_rows = [(f"layer {k}", rng.normal(size=(8, 784)), np.arange(8), np.ones(8)) for k in range(2)]
    tiles.maximize_figure(maximize_rows, SHAPE, tmp_path / "z.png", title="inputs that maximise single units")
    check_picture(pil_texts, min_texts=150)


def test_the_activation_maps_name_the_layer_in_words(tmp_path, rng, pil_texts):
    tiles.activation_maps_figure(
        rng.random((2, 784)),
        rng.random((2, 12, 12, 4)),
        np.arange(2),
        SHAPE,
        NAMES,
        tmp_path / "a.png",
        layer="convolution 2 of 2 (conv2d_3)",
    )
    assert "convolution 2 of 2" in " ".join(text for text, _, _ in pil_texts)


def test_maximize_caption_matches_its_colours(tmp_path, rng, pil_texts):
    rows = [("first hidden layer (dense_0)", rng.normal(size=(3, 784)), np.arange(3), np.ones(3))]
    tiles.maximize_figure(rows, SHAPE, tmp_path / "z.png", title="t")
    written = " ".join(text for text, _, _ in pil_texts)
    assert "Red: more ink" in written and "dark = high" not in written


# -- sweeping/figures.py -------------------------------------------------------------------------------------


@pytest.mark.parametrize("states", [["complete", "pruned", "fail", "complete"], ["complete", "fail", "fail", "pruned"]])
def test_metric_vs_created(tmp_path, saved, states):
    values = [0.8, 0.6, None, 0.85]
    best = [0.8, 0.8, 0.8, 0.85] if states[3] == "complete" else [0.8, 0.8, 0.8, 0.8]
    sweep_figures.metric_vs_created_figure(
        [0, 30, 60, 90], values, states, best, "val_accuracy", tmp_path / "m.png", title="t", start="2026-12-05"
    )
    (fig,) = saved
    check_figure(fig, min_texts=6, legends=1)


# -- sweeping/report.py --------------------------------------------------------------------------------------


def trial(number, params, folder=None):
    return SimpleNamespace(number=number, params=params, user_attrs={"folder": str(folder)} if folder else {})


def sweep_histories(params_list, rng):
    histories = []
    for k, params in enumerate(params_list):
        scale = 1.0 if params.get("loss") != "mean_squared_error" else 0.05
        h = [
            {"epoch": e, "train_loss": scale * (1 + rng.random()) / e, "val_accuracy": 0.6 + 0.3 * (1 - 1 / e)}
            for e in range(1, 6)
        ]
        histories.append((trial(k, params), h))
    return histories


def test_sweep_curves_one_colour_per_optimizer_one_style_per_rate(rng):
    from sweeping.report import draw_curves

    optimizers = ["adagrad", "adam", "adamw", "eve", "momentum", "nadam", "nag", "rmsprop", "sgd"]
    params = [{"optimizer": o, "learning_rate": r} for o in optimizers for r in (0.01, 0.001)]
    fig = draw_curves(sweep_histories(params, rng), ["optimizer", "learning_rate"], "val_accuracy", "optimizers")
    check_figure(fig, min_texts=9 + 2 + 6, legends=2)
    lines = fig.axes[-1].get_lines()
    pairs = {(str(line.get_color()), line.get_linestyle()) for line in lines}
    assert len(pairs) == 18  # every trial told apart
    assert len({str(line.get_color()) for line in lines}) == 9  # one colour per optimizer


def test_sweep_curves_give_each_loss_its_own_axes(rng):
    from sweeping.report import draw_curves

    params = [{"preset": p, "loss": loss} for p in ("a", "b", "c") for loss in ("cross_entropy", "mean_squared_error")]
    fig = draw_curves(sweep_histories(params, rng), ["preset", "loss"], "val_accuracy", "ce_vs_mse")
    check_figure(fig, min_texts=10, legends=2)
    assert len(fig.axes) == 3  # a training-loss panel per loss, and the accuracy


@pytest.mark.parametrize("n", [6, 40])
def test_sweep_curves_of_many_parameters(rng, n):
    from sweeping.report import draw_curves

    params = [
        {"learning_rate": float(10 ** rng.uniform(-4, -2)), "hidden_size": int(rng.choice([32, 64])), "act": "ReLU"}
        | {"optimizer": str(rng.choice(["sgd", "adam", "nadam"])), "batch_size": 16 * (k % 3 + 1)}
        for k in range(n)
    ]
    varying = ["learning_rate", "hidden_size", "optimizer", "batch_size"]
    fig = draw_curves(sweep_histories(params, rng), varying, "val_accuracy", "sweep")
    check_figure(fig, min_texts=8, legends=1 if n <= 10 else 0)


def test_batch_loss_figure(tmp_path, saved):
    from sweeping.report import _batch_loss_figure

    trials = []
    for k in range(3):
        run = tmp_path / "runs" / f"run{k}"
        run.mkdir(parents=True)
        (run / "batch_loss.csv").write_text("batch,batch_loss\n" + "".join(f"{b},{1 / b}\n" for b in range(1, 50)))
        trials.append(trial(k, {"batch_order": ["shuffled", "sorted", "fixed"][k]}, run))
    _batch_loss_figure(trials, ["batch_order"], tmp_path)
    (fig,) = saved
    check_figure(fig, min_texts=6, legends=1)


@pytest.mark.filterwarnings("ignore:.*is experimental")
def test_parallel_coordinates(tmp_path, saved):
    optuna = pytest.importorskip("optuna")
    from sweeping.report import _parallel_coordinates

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    dropout = optuna.distributions.FloatDistribution(0.0, 0.9)
    optimizer = optuna.distributions.CategoricalDistribution(["sgd", "adam", "nadam"])
    for k, value in enumerate([0.80, 0.85, 0.83, 0.40, 0.7]):
        params = {"dropout": 0.2 * k, "optimizer": ["sgd", "adam", "nadam"][k % 3]}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions={"dropout": dropout, "optimizer": optimizer}, value=value
            )
        )
    _parallel_coordinates(study, ["dropout", "optimizer"], "val_accuracy", tmp_path / "pc.png")
    (fig,) = saved
    check_figure(fig, min_texts=8)
    renderer = fig.canvas.get_renderer()
    title = fig.texts[-1].get_window_extent(renderer)
    for ax in fig.axes:  # the title over every axis' top tick label
        for label in ax.get_yticklabels():
            if label.get_visible() and label.get_text():
                assert label.get_window_extent(renderer).y1 <= title.y0 + TOLERANCE, label.get_text()


@pytest.mark.filterwarnings("ignore:.*is experimental")
def test_parameter_importances():
    optuna = pytest.importorskip("optuna")
    from sweeping.report import importance_figure

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    rate = optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    size = optuna.distributions.IntDistribution(16, 256)
    rng = np.random.default_rng(0)
    for _ in range(12):
        params = {"learning_rate": float(10 ** rng.uniform(-4, -1)), "hidden_size": int(rng.integers(16, 256))}
        value = 0.9 - abs(np.log10(params["learning_rate"]) + 3) / 10 + params["hidden_size"] / 1e4
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions={"learning_rate": rate, "hidden_size": size}, value=value
            )
        )
    fig = importance_figure(study, ["learning_rate", "hidden_size"], "val_accuracy")
    check_figure(fig, min_texts=6)  # no legend: the metric is in the title


# -- scripts/study_figures.py --------------------------------------------------------------------------------


@pytest.fixture
def study_figures(saved, monkeypatch):
    spec = importlib.util.spec_from_file_location("study_figures_under_test", ROOT / "scripts" / "study_figures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import tracking.files

    monkeypatch.setattr(module, "save_figure", tracking.files.save_figure)  # the catching one

    def run(*args):
        module.cli.main([str(a) for a in args], standalone_mode=False)
        return saved[-1]

    return run


def write_runs(folder: Path, runs) -> Path:
    for k, (config, summary, hist) in enumerate(runs):
        run = folder / "runs" / f"run{k:02d}"
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps(config))
        (run / "summary.json").write_text(json.dumps(summary))
        (run / "history.json").write_text(json.dumps(hist))
    return folder


def test_learning_rates(tmp_path, study_figures):
    runs = []
    for optimizer in ("sgd", "momentum", "adam"):
        for rate in (1e-4, 1e-3, 1e-2, 0.1):
            diverged = optimizer == "adam" and rate == 0.1
            hist = [{"epoch": e, "train_loss": 2 / (e * rate * 100 + 1)} for e in range(1, 3 if diverged else 6)]
            summary = {"status": "diverged" if diverged else "complete"}
            runs.append(({"optimizer": optimizer, "learning_rate": rate}, summary, hist))
    fig = study_figures("learning_rates", write_runs(tmp_path / "lr", runs), tmp_path / "lr.png")
    check_figure(fig, min_texts=10, legends=1)
    crosses = [line for ax in fig.axes for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and not crosses[0].get_clip_on()  # the x the label promises is drawn whole


def test_architecture(tmp_path, study_figures):
    runs = [
        (
            {"num_layers": d, "hidden_size": w},
            {"best_val_accuracy": 0.8 + d / 100, "n_params": 1e4 * w, "seconds_per_epoch": 1.0},
            [],
        )
        for d in (1, 2, 3)
        for w in (16, 64, 256)
    ]
    fig = study_figures("architecture", write_runs(tmp_path / "arch", runs), tmp_path / "a.png")
    check_figure(fig, min_texts=9 + 6 + 3)


def test_search(tmp_path, study_figures):
    for method in ("grid", "random", "bayes", "hyperband"):
        for seed in (0, 1):
            folder = tmp_path / f"search_{method}_s{seed}"
            folder.mkdir()
            values = [0.5, 0.7, 0.6, 0.86, 0.8]
            (folder / "trials.csv").write_text(
                "number,state,value\n" + "".join(f"{k},complete,{v}\n" for k, v in enumerate(values))
            )
    fig = study_figures("search", tmp_path, tmp_path / "s.png")
    check_figure(fig, min_texts=10, legends=1)
    low, _ = fig.axes[0].get_ylim()
    assert low <= 0.5  # every value in view


def test_ablation(tmp_path, study_figures):
    runs = [
        ({"preset": p, "seed": s}, {"test_accuracy": 0.88 + 0.01 * k + 0.001 * s}, [])
        for k, p in enumerate(["ablation_baseline", "ablation_dropout", "ablation_l2"])
        for s in (0, 1, 2)
    ]
    fig = study_figures("ablation", write_runs(tmp_path / "abl", runs), tmp_path / "a.png")
    check_figure(fig, min_texts=5)


def test_vanishing(tmp_path, study_figures):
    runs = [
        (
            {"activation": a},
            {"test_accuracy": 0.8},
            [{"epoch": e, **{f"grad_norm/{k}": 10.0 ** (-k) / e for k in range(9)}} for e in range(1, 6)],
        )
        for a in ("sigmoid", "ReLU")
    ]
    fig = study_figures("vanishing", write_runs(tmp_path / "van", runs), tmp_path / "v.png")
    check_figure(fig, min_texts=12, legends=1)


def test_stopping(tmp_path, study_figures):
    rules = ["stop_fixed", "stop_patience_3", "stop_delta_0.01", "stop_delta_0.003", "stop_delta_0.001"]
    runs = [
        (
            {"preset": p, "seed": 0},
            {},
            [{"epoch": e, "train_loss": 1 / e, "val_accuracy": 0.85 + 0.001 * e} for e in range(1, 8 + 4 * k)],
        )
        for k, p in enumerate(rules)
    ]
    fig = study_figures("stopping", write_runs(tmp_path / "stop", runs), tmp_path / "s.png")
    check_figure(fig, min_texts=10, legends=1)
    (legend,) = [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legend.get_texts()) == 5  # every rule named, none hidden


def write_batches(folder: Path, losses) -> None:
    for k, values in enumerate(losses):
        rows = "".join(f"{10 * (i + 1)},1,{v}\n" for i, v in enumerate(values))
        (folder / "runs" / f"run{k:02d}" / "batch_loss.csv").write_text("batch,epoch,batch_loss\n" + rows)


def test_study_curves_per_epoch_and_per_batch(tmp_path, study_figures):
    runs = [
        (
            {"scaling": s, "optimizer": o},
            {"status": "diverged" if s == "none" and o == "sgd" else "complete"},
            [{"epoch": e, "train_loss": 1 / e, "val_accuracy": 0.8 + e / 100} for e in range(1, 6)],
        )
        for s in ("none", "minmax", "standard")
        for o in ("sgd", "adam")
    ]
    folder = write_runs(tmp_path / "scaling", runs)
    write_batches(folder, [np.geomspace(50, 0.3, 40) for _ in runs])
    fig = study_figures(
        "curves", folder, tmp_path / "c.png", "--by", "scaling", "--by", "optimizer",
        "--metric", "batch_loss", "--metric", "val_accuracy", "--log", "batch_loss", "--title", "Scaling",
    )  # fmt: skip
    check_figure(fig, min_texts=12, legends=1)
    (legend,) = fig.legends
    assert legend.get_texts()[0].get_text() == "scaling=none, optimizer=sgd"
    crosses = [line for ax in fig.axes for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 2  # the diverged run, in both panels


def test_study_scatter(tmp_path, study_figures):
    runs = [
        ({"learning_rate": lr, "dropout": d}, {"best_val_accuracy": 0.8 + d / 10 + lr}, [])
        for lr in (1e-4, 1e-3, 1e-2)
        for d in (0.2, 0.5)
    ]
    fig = study_figures(
        "scatter", write_runs(tmp_path / "sc", runs), tmp_path / "s.png",
        "--x", "learning_rate", "--y", "best_val_accuracy", "--hue", "dropout", "--log_x",
    )  # fmt: skip
    check_figure(fig, min_texts=6, legends=1)
    assert len(fig.axes[0].get_lines()) == 2  # one line per dropout rate


def test_study_weights_count_the_near_zero_weights(tmp_path, study_figures):
    import nn
    from sweeping import study_figures as library

    folder = write_runs(tmp_path / "w", [({"preset": p}, {}, []) for p in ("reg_none", "reg_l1")])
    expected = []
    for k, zeros in enumerate((0, 300)):
        model = nn.mlp([20, 30, 3], activation="ReLU", weight_init="Xavier", seed=k)
        weights = model.params["dense_0.W"]
        weights[...] = np.where(np.arange(weights.size).reshape(weights.shape) < zeros, 1e-5, 0.5)
        model.save(folder / "runs" / f"run{k:02d}" / "model.npz")
        expected.append(zeros / weights.size)
    found = library.load_runs(folder)
    assert [library.near_zero_share(library.first_weights(r)) for r in found] == expected  # 0 and 300/600
    fig = study_figures("weights", folder, tmp_path / "w.png", "--by", "preset")
    check_figure(fig, min_texts=5, legends=1)
    assert "50.0%" in fig.axes[0].get_legend().get_texts()[1].get_text()


def test_study_confusions(tmp_path, study_figures, rng):
    folder = write_runs(tmp_path / "cm", [({"pretrain": p}, {}, []) for p in ("none", "autoencoder")])
    for k in range(2):
        counts = rng.integers(0, 50, size=(10, 10)) + np.eye(10, dtype=int) * 900
        np.savetxt(folder / "runs" / f"run{k:02d}" / "confusion_matrix.csv", counts, delimiter=",", fmt="%d")
    fig = study_figures("confusions", folder, tmp_path / "cm.png", "--by", "pretrain")
    check_figure(fig, min_texts=20)
    assert fig.axes[0].get_title().startswith("none\ntest accuracy 0.")


def test_study_stopping_points_keep_both_markers_of_one_epoch(tmp_path, study_figures):
    runs = [
        ({"norm": n, "min_delta": d}, {}, [{"epoch": e, "train_loss": 1 / e} for e in range(1, stop + 1)])
        for n, stops in (("none", (9, 22)), ("layer", (10, 10)))
        for d, stop in zip((0.01, 0.003), stops)
    ]
    fig = study_figures(
        "stops", write_runs(tmp_path / "ns", runs), tmp_path / "ns.png",
        "--line", "norm", "--stop", "min_delta", "--metric", "train_loss", "--log", "train_loss",
    )  # fmt: skip
    check_figure(fig, min_texts=6, legends=1)
    markers = [line for line in fig.axes[0].get_lines() if line.get_marker() in ("o", "s")]
    layer = [m for m in markers if list(m.get_xdata()) == [10]]
    assert len(markers) == 4 and len({m.get_markersize() for m in layer}) == 2  # one inside the other


def test_study_ensemble_bars(tmp_path, study_figures):
    members = [{"accuracy": a} for a in (0.879, 0.8835, 0.881)]
    paths = []
    for k in (1, 2, 3):  # evaluate.py on one model reports no "ensemble": the ensemble of one is the member
        report = {"members": members[:k], **({"ensemble": {"accuracy": 0.88 + k / 1000}} if k > 1 else {})}
        path = tmp_path / f"e{k}.txt"
        path.write_text("some text output\n" + json.dumps(report) + "\n")
        paths.append(path)
    fig = study_figures("ensemble", *paths, "--out", tmp_path / "e.png", "--title", "Members and ensembles")
    check_figure(fig, min_texts=9)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-3:] == ["ensemble of 1", "ensemble of 2", "ensemble of 3"]
    assert [t.get_text() for t in fig.axes[0].texts][3] == "0.8790"  # the ensemble of one: member 1
    (tmp_path / "not.txt").write_text("accuracy 0.9\n")
    with pytest.raises(click.BadParameter, match="not an `evaluate.py --json` report"):
        study_figures("ensemble", tmp_path / "not.txt", "--out", tmp_path / "n.png")
