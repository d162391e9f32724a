"""The figures of one run with axes, written as PNG (and handed to W&B): confusion matrix, learning
curves, a regression's fit, weight histograms, and the looking-inside figures (latent projections,
per-layer lines and spreads).

Cheap to draw, as every run draws them: matplotlib figures from :func:`tracking.figure.new_figure`,
laid out once, fixed or from one measurement of their labels. The confusion matrix's hundred cell
numbers are written into its cells' picture with Pillow in matplotlib's own font, placed pixel for
pixel under the axes. The grids of images are :mod:`tracking.tiles`. Every file is written through
:func:`tracking.files.save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .figure import BLACK, DPI, colormap, fit_to_contents, new_figure, plain_log_labels, text_font
from .files import save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def most_confused(counts: np.ndarray, k: int = 3) -> list[tuple[int, int, int]]:
    """The k largest off-diagonal cells as (true class, predicted class, count)."""
    off = counts.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:k]
    return [(int(i), int(j), int(off[i, j])) for i, j in zip(*np.unravel_index(order, off.shape)) if off[i, j]]


def _overhang(fig: Figure, ax: Axes) -> tuple[float, float, float, float]:
    """How far (inches) the axes' tick labels, axis labels and title reach beyond its box, on the
    left, right, bottom and top: one measurement, for a layout that just fits them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # new_figure() gives every figure an Agg canvas
    renderer = canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    tight = ax.get_tightbbox(renderer, bbox_extra_artists=[])
    if tight is None:
        return 0.0, 0.0, 0.0, 0.0
    dpi = fig.dpi
    return (
        max(box.x0 - tight.x0, 0) / dpi,
        max(tight.x1 - box.x1, 0) / dpi,
        max(box.y0 - tight.y0, 0) / dpi,
        max(tight.y1 - box.y1, 0) / dpi,
    )


def times(count: int) -> str:
    """``1 time``, ``2 times``."""
    return f"{count} time" if count == 1 else f"{count} times"


def confusion_figure(counts: np.ndarray, class_names, path, title="Test set") -> Path:
    """Row-normalised confusion matrix: each row is a true class and sums to 100 %.

    The diagonal (per-class accuracy) is in green, errors in red; the three
    most confused pairs are boxed and listed under the plot.
    """
    save_figure(draw_confusion(counts, class_names, title), path, dpi=DPI)
    return Path(path)


def draw_confusion(counts: np.ndarray, class_names, title="Test set") -> Figure:
    """The confusion-matrix figure of :func:`confusion_figure`, not yet saved: the matrix in the middle
    of the figure, the title (wrapped to the figure's width) centred over it, the notes under it."""
    import textwrap

    from matplotlib.patches import Rectangle

    n = len(class_names)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    cell = round(min(max(0.7 * n, 3.0), 12.0) * DPI / n)  # pixels per cell
    side = cell * n
    fig = new_figure(10, 10)
    ax = fig.add_axes((0.25, 0.25, 0.6, 0.6))
    ax.set(xlim=(-0.5, n - 0.5), ylim=(n - 0.5, -0.5))
    pairs = most_confused(counts)
    for i, j, _ in pairs:
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.5))
    ax.set_xticks(range(n), [str(name) for name in class_names], rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), [f"{name} ({100 * rates[k, k]:.1f} %)" for k, name in enumerate(class_names)])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (per-class accuracy)")
    lines = ["Most confused (boxed):"] + [
        f"{class_names[i]} taken for {class_names[j]}: {times(c)} ({100 * rates[i, j]:.1f} % of {class_names[i]})"
        for i, j, c in pairs
    ]
    if not pairs:
        lines = []
    # a measured fixed layout in whole pixels: the square matrix in the middle, its labels around it,
    # the title over it and the list under them
    left, right, bottom, top = (math.ceil(inches * DPI) for inches in _overhang(fig, ax))
    pad, note_line = 20, math.ceil(9 * 1.35 * DPI / 72)
    title_size, title_line = 12.0, math.ceil(12 * 1.3 * DPI / 72)
    heading = textwrap.wrap(str(title), 70)  # the accuracy on a line of its own: no orphaned word
    heading.append(f"accuracy {100 * accuracy:.2f} % on {counts.sum()} images")
    heading.append("cells: % of the true class (rows sum to 100)")
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    probe = fig.text(0, 0, "\n".join(heading), fontsize=title_size)
    heading_width = math.ceil(probe.get_window_extent(renderer).width)
    probe.set_text("\n".join(lines))
    probe.set_fontsize(9)
    notes_width = math.ceil(probe.get_window_extent(renderer).width) if lines else 0
    probe.remove()
    half = max(left, right) + side // 2  # the matrix's centre is the figure's
    width = max(2 * (pad + half), heading_width + 2 * pad, notes_width + 2 * pad, 600)
    note = len(lines) * note_line + (pad if lines else 0)
    heading_height = len(heading) * title_line + pad // 2
    height = pad + note + bottom + side + top + heading_height + pad
    x, y = (width - side) // 2, pad + note + bottom
    fig.set_size_inches(width / DPI, height / DPI)
    ax.set_position((x / width, y / height, side / width, side / height))
    fig.text(0.5, 1 - pad / height, "\n".join(heading), fontsize=title_size, ha="center", va="top", linespacing=1.3)
    # the cells and their numbers: one picture put on the figure pixel for pixel, under the axes
    ax.patch.set_visible(False)
    fig.figimage(_matrix_picture(counts, rates, cell), xo=x, yo=y, origin="upper", zorder=-1)
    for k, text in enumerate(lines):
        fig.text(pad / width, (pad + (len(lines) - 1 - k) * note_line) / height, text, fontsize=9, va="bottom")
    return fig


def _matrix_picture(counts: np.ndarray, rates: np.ndarray, cell: int) -> np.ndarray:
    """The confusion matrix's cells (``cell`` pixels square) as RGBA bytes: the diagonal in green
    (0 to 100 %), the errors in red (0 to the largest error rate, at least 5 %), each cell's
    percentage written in it (the diagonal's in bold, one decimal), white on the dark cells."""
    from PIL import Image, ImageDraw

    n = len(counts)
    diagonal = np.eye(n, dtype=bool)
    error_scale = max(float(np.where(diagonal, 0, rates).max()), 0.05)
    reds = colormap("Reds")(np.clip(rates / error_scale, 0, 1), bytes=True)
    greens = colormap("Greens")(0.25 + 0.6 * np.clip(rates, 0, 1), bytes=True)
    colours = np.where(diagonal[:, :, None], greens, reds).astype(np.uint8)
    picture = Image.fromarray(np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1))
    draw = ImageDraw.Draw(picture)
    size = 9 if n <= 12 else 7
    plain, bold = text_font((size - 1) * DPI / 72), text_font(size * DPI / 72, bold=True)
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                dark = rates[i, j] / (1.0 if i == j else error_scale) > 0.6
                draw.text(
                    ((j + 0.5) * cell, (i + 0.5) * cell),
                    f"{100 * rates[i, j]:.1f}" if i == j else f"{100 * rates[i, j]:.0f}",
                    fill=(255, 255, 255) if dark else BLACK,
                    font=bold if i == j else plain,
                    anchor="mm",
                )
    return np.asarray(picture)


def draw_curves(history: list[dict], title: str = "", metric: str = "accuracy") -> Figure:
    """The learning-curves figure (see :func:`curves_figure`), not yet saved. An accuracy that passes
    0.95 is drawn on a logit scale (0.9, 0.99, 0.999 equally spaced), so the top, where the runs
    differ, is not squeezed against the first epochs."""
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    fig = new_figure(11, 4)
    left, right = fig.subplots(1, 2)
    values: list[float] = []
    for key, style in (("train", "-o"), ("val", "-s")):
        if f"{key}_loss" in history[0]:
            left.plot(epochs, [h[f"{key}_loss"] for h in history], style, label=key, markersize=4)
            shown = [h[f"{key}_{metric}"] for h in history]
            values += [float(v) for v in shown if v is not None and np.isfinite(v)]
            right.plot(epochs, shown, style, label=key, markersize=4)
    logit = metric == "accuracy" and bool(values) and max(values) > 0.95 and min(values) > 0 and max(values) < 1
    left.set(xlabel="epoch", ylabel="loss")
    right.set(xlabel="epoch", ylabel=f"{metric} (logit scale)" if logit else metric)
    left.set_title("loss", y=1.0)  # an explicit y: matplotlib need not measure the axis for the title's place
    right.set_title(metric, y=1.0)
    if logit:
        from matplotlib.ticker import FixedLocator, NullFormatter

        right.set_yscale("logit", nonpositive="mask")
        ticks = [0.1, 0.2, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998, 0.9999]
        right.yaxis.set_major_locator(FixedLocator(ticks))
        right.yaxis.set_major_formatter(lambda value, _: f"{value:g}")  # 0.99, not 1 − 10⁻²
        right.yaxis.set_minor_formatter(NullFormatter())
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs, even for one
        ax.grid(alpha=0.3, which="both" if ax is right and logit else "major")
    right.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)  # beside the plots: no point hidden
    fig.suptitle(title, fontsize=12)
    fig.subplots_adjust(left=0.075, right=0.9, bottom=0.13, top=0.83 if title else 0.9, wspace=0.22)
    return fit_to_contents(fig)


def curves_figure(history: list[dict], path, title="", metric: str = "accuracy") -> Path:
    """Loss (left) and ``metric`` (right) per epoch, training and validation."""
    save_figure(draw_curves(history, title, metric), path, dpi=DPI)
    return Path(path)


def fit_figure(path, title: str, y_true: np.ndarray, predicted: np.ndarray, curve=None) -> Path:
    """A regression's fit. With ``curve = (x, x_grid, prediction on the grid, truth on the grid or
    None)`` (a one-dimensional input): the test data, the true function when known and the network's
    curve; otherwise predicted against true values, with the diagonal of a perfect fit."""
    fig = new_figure(7, 4.5)
    ax = fig.subplots()
    if curve is not None:
        x, grid, fitted, truth = curve
        ax.scatter(x, y_true, s=6, alpha=0.35, color="tab:gray", label="test data")
        if truth is not None:
            ax.plot(grid, truth, color="tab:green", lw=2, label="truth")
        ax.plot(grid, fitted, color="tab:red", lw=2, label="network")
        ax.set(xlabel="x", ylabel="y")
    else:
        ax.scatter(y_true, predicted, s=10, alpha=0.6)
        low, high = float(np.min(y_true)), float(np.max(y_true))
        ax.plot([low, high], [low, high], color="tab:green", lw=1.5, label="perfect")
        ax.set(xlabel="true value", ylabel="predicted value")
    ax.set_title(title, y=1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)  # beside the plot: no point hidden
    fig.subplots_adjust(left=0.1, right=0.8, bottom=0.12, top=0.91)
    save_figure(fit_to_contents(fig), path, dpi=DPI)
    return Path(path)


def weight_histograms(model, path) -> Path:
    names = model.decayed_names()
    fig = new_figure(3.2 * len(names), 2.8)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        values = model.params[name].ravel()
        ax.hist(values, bins=60, color="tab:blue")
        ax.set_title(f"{name}  std {values.std():.3g}", fontsize=9, y=1.0)
        ax.tick_params(labelsize=8)
    fig.suptitle("weight distributions per layer", fontsize=11)
    fig.subplots_adjust(left=0.9 / (3.2 * len(names)), right=0.98, bottom=0.12, top=0.78, wspace=0.35)
    save_figure(fit_to_contents(fig), path, dpi=90)
    return Path(path)


# -- looking inside the network (--latent, --dynamics) ------------------------------------------------------


def _class_colours(n: int) -> np.ndarray:
    """``n`` distinct RGBA colours: tab10 / tab20 as far as they go, then evenly along turbo."""
    if n <= 20:
        return np.asarray(colormap("tab10" if n <= 10 else "tab20")(np.arange(n)))
    return np.asarray(colormap("turbo")(np.linspace(0.0, 1.0, n)))


def latent_figure(panels, targets, class_names, path, title: str = "", columns: int | None = None) -> Path:
    """One scatter plot per ``(panel title, N x 2 points)`` of ``panels``, the points of every panel
    the same N examples: coloured by class with one legend of ``class_names`` (classification), or by
    the first column of ``targets`` through viridis with one colour bar (regression). The axes of a
    projection have no units: no ticks. ``columns`` panels per row (default: up to 3)."""
    n = len(panels)
    columns = columns or max(1, min(n, 3))
    rows = max(1, -(-n // columns))
    width, height = 3.5 * columns + 1.7, 3.4 * rows + 0.9
    fig = new_figure(width, height)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    colours = _class_colours(len(class_names)) if class_names else None
    labels = np.asarray(targets)
    values = labels.astype(np.float64).reshape(len(labels), -1)[:, 0] if colours is None else None
    mappable = None
    for ax, (name, points) in zip(axes, panels):
        if colours is not None:
            for c, class_name in enumerate(class_names):
                chosen = labels == c
                if chosen.any():
                    ax.scatter(*points[chosen].T, s=5, color=colours[c], label=str(class_name), linewidths=0)
        else:
            mappable = ax.scatter(*points.T, s=5, c=values, cmap="viridis", linewidths=0)
        ax.set_title(name, fontsize=9, y=1.0)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    right = 1 - 1.6 / width
    if colours is not None and n:
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(
            handles,
            names,
            loc="center left",
            bbox_to_anchor=(right + 0.01, 0.5),
            fontsize=8,
            markerscale=2.5,
            frameon=False,
        )
    elif mappable is not None:
        bar = fig.add_axes((right + 0.03, 0.2, 0.12 / width, 0.6))
        fig.colorbar(mappable, cax=bar, label="target")
    fig.suptitle(title, fontsize=11)
    fig.subplots_adjust(
        left=0.2 / width, right=right, bottom=0.2 / height, top=1 - 0.85 / height, wspace=0.08, hspace=0.18
    )
    save_figure(fit_to_contents(fig), path, dpi=DPI)
    return Path(path)


def layer_lines_figure(
    epochs,
    series: dict,
    path,
    title: str = "",
    ylabel: str = "",
    log: bool = False,
    limits: tuple[float, float] | None = None,
) -> Path:
    """One line per layer, ``series = {label: value per epoch}``, against the epochs (whole numbers);
    ``log``: a logarithmic y axis; ``limits``: fixed y limits."""
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(8.5, 4.5)
    ax = fig.subplots()
    colours = _class_colours(len(series))  # one colour per layer, none repeated
    for colour, (label, values) in zip(colours, series.items()):
        ax.plot(epochs, values, "-o", markersize=3, label=label, color=colour)
    if log:
        ax.set_yscale("log")
    if limits is not None:
        ax.set_ylim(*limits)
    if log:
        plain_log_labels(ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set(xlabel="epoch", ylabel=ylabel)
    ax.grid(alpha=0.3, which="both" if log else "major")
    if series:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.subplots_adjust(left=0.1, right=0.78, bottom=0.12, top=0.84)
    save_figure(fit_to_contents(fig), path, dpi=DPI)
    return Path(path)


def _spread_label(key: str) -> str:
    """``weights/dense_0.W`` -> ``dense_0.W``; ``activations/activation_1`` -> ``activation_1``."""
    return key.split("/", 1)[1]


def spread_figure(rows: list[dict], percentiles: Sequence[float], path, title: str = "", columns: int = 5) -> Path:
    """The spread of each layer's values against the epoch: ``rows`` hold, per epoch, ``"epoch"`` and
    ``"weights/<name>"`` / ``"activations/<name>"``: the five ``percentiles`` (e.g. 5, 25, 50, 75, 95)
    of those values. The weights' panels first, then the activations', each group in rows of at most
    ``columns`` panels under its own heading; the outer pair of percentiles is the light band, the
    inner pair the dark one, the middle one the line."""
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in rows]
    named = (("weights/", "weights"), ("activations/", "activation outputs (probe inputs)"))
    groups = [([key for key in rows[0] if key.startswith(prefix)], name) for prefix, name in named]
    groups = [(keys, name) for keys, name in groups if keys]
    columns = max(1, min(columns, max(len(keys) for keys, _ in groups)))
    panel_w, panel_h, heading = 2.7, 2.0, 0.45  # inches
    group_rows = [-(-len(keys) // columns) for keys, _ in groups]
    top_margin, bottom_margin, left_margin = 0.75, 0.35, 0.6
    width = left_margin + columns * panel_w + 0.2
    height = top_margin + sum(heading + r * panel_h for r in group_rows) + bottom_margin
    fig = new_figure(width, height)
    y = height - top_margin  # inches from the bottom: the top of the next group
    for (keys, name), n_rows in zip(groups, group_rows):
        fig.text(left_margin / width, (y - 0.1) / height, name, fontsize=10, weight="bold", va="top")
        y -= heading
        for k, key in enumerate(keys):
            row, column = divmod(k, columns)
            box = (
                (left_margin + column * panel_w + 0.15) / width,
                (y - (row + 1) * panel_h + 0.45) / height,
                (panel_w - 0.55) / width,
                (panel_h - 0.75) / height,
            )
            ax = fig.add_axes(box)
            q = np.array([r[key] for r in rows], dtype=np.float64)
            ax.fill_between(epochs, q[:, 0], q[:, 4], color="tab:blue", alpha=0.2, linewidth=0)
            ax.fill_between(epochs, q[:, 1], q[:, 3], color="tab:blue", alpha=0.45, linewidth=0)
            ax.plot(epochs, q[:, 2], color="tab:blue", lw=1.5, marker="o", markersize=2.5)
            ax.set_title(_spread_label(key), fontsize=8.5, y=1.0)
            ax.tick_params(labelsize=7.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            ax.grid(alpha=0.3)
            if row == n_rows - 1 or k + columns >= len(keys):
                ax.set_xlabel("epoch", fontsize=8)
        y -= n_rows * panel_h
    p = [f"{v:g}" for v in percentiles]
    fig.suptitle(
        f"{title}\nper-layer spread: median (line), {p[1]}–{p[3]}th (dark band) and {p[0]}–{p[4]}th percentiles "
        "(light band)",
        fontsize=10,
    )
    save_figure(fit_to_contents(fig), path, dpi=DPI)
    return Path(path)
