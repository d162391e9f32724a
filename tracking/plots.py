"""Figures written as PNG (and handed to W&B): sample grid, confusion matrix, curves, mistakes ...

Cheap to draw, as every run draws them: plots with axes are matplotlib ``Figure`` objects on
an Agg canvas, never ``pyplot`` (no global state, no backend switching), laid out once, fixed or
from one measurement of their labels, instead of ``tight_layout``'s repeated measuring. Grids of
images (the sample grid, the mistakes, filters, activation maps ...) are one picture: NumPy tiles
each image, scaled up by a whole factor and through its own colour scale, and Pillow writes the
labels in matplotlib's own font (DejaVu Sans); no Axes, no matplotlib import, no resampling. The
confusion matrix's hundred cell numbers are written into its cells' picture the same way, placed
pixel for pixel under the axes. Every file is written through :func:`tracking.files.save_figure`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .files import save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 100
TITLE_SIZE = 11.0
LABEL_SIZE = 8.5
FRAME = (204, 204, 204, 255)  # the thin grey line around each tile (RGBA bytes)


def new_figure(width: float, height: float, dpi: float = DPI) -> Figure:
    """A figure on its own Agg canvas (inches)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def fit_to_contents(fig: Figure, pad: float = 6.0) -> Figure:
    """Grow ``fig`` so that everything drawn on it fits inside, ``pad`` pixels from the edge: one
    measurement of every artist's extent; a side that something reaches beyond gets that much more
    room. Nothing moves relative to anything else: axes keep their size, and texts, legends and
    images placed in figure coordinates keep their distance to the axes. A figure that already fits
    is left as it is."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.legend import Legend
    from matplotlib.transforms import Bbox

    if not isinstance(fig.canvas, FigureCanvasAgg):  # e.g. a pyplot figure once closed
        FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.bbox.width, fig.bbox.height
    tight = fig.get_tightbbox(renderer)
    if tight is None:
        return fig
    # a legend added to an axes with add_artist counts as clipped to it, though it is drawn whole
    box = Bbox.union(
        [tight.transformed(fig.dpi_scale_trans)]  # inches -> pixels
        + [legend.get_window_extent(renderer) for legend in fig.findobj(Legend) if legend.get_visible()]
    )
    left, bottom = max(pad - box.x0, 0.0) if box.x0 < 0 else 0.0, max(pad - box.y0, 0.0) if box.y0 < 0 else 0.0
    right = max(box.x1 - width + pad, 0.0) if box.x1 > width else 0.0
    top = max(box.y1 - height + pad, 0.0) if box.y1 > height else 0.0
    if not (left or right or bottom or top):
        return fig
    new_width, new_height = width + left + right, height + bottom + top

    def moved(x0: float, y0: float, x1: float, y1: float) -> Bbox:  # pixels of the old figure -> new fractions
        return Bbox(
            [
                [(x0 + left) / new_width, (y0 + bottom) / new_height],
                [(x1 + left) / new_width, (y1 + bottom) / new_height],
            ]
        )

    axes = [(ax, ax.get_position(original=True)) for ax in fig.axes]
    texts = [(text, text.get_position()) for text in fig.texts if text.get_transform() == fig.transFigure]
    anchors = [(legend, legend.get_bbox_to_anchor()) for legend in fig.legends]
    for ax, position in axes:
        ax.set_position(moved(position.x0 * width, position.y0 * height, position.x1 * width, position.y1 * height))
    for text, (x, y) in texts:
        text.set_position(((x * width + left) / new_width, (y * height + bottom) / new_height))
    for legend, anchor in anchors:
        legend.set_bbox_to_anchor(moved(anchor.x0, anchor.y0, anchor.x1, anchor.y1), transform=fig.transFigure)
    for image in fig.images:  # figimage: offsets in pixels from the bottom left corner
        offsets: Any = image
        offsets.ox += left
        offsets.oy += bottom
    fig.set_size_inches(new_width / fig.dpi, new_height / fig.dpi)
    return fig


def plain_log_labels(ax, axis: str = "y") -> None:
    """A logarithmic axis labelled in plain numbers (0.3, 1, 2e-05 as ``:g`` writes them), not 3 × 10⁻¹;
    within a span of less than 1.5 decades its 2s, 3s and 5s too, so it keeps a few labels."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    low, high = sorted(ax.get_ylim() if axis == "y" else ax.get_xlim())
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    target.set_major_formatter(plain)
    few = low > 0 and np.log10(high / low) < 1.5
    target.set_minor_formatter(
        FuncFormatter(lambda value, _: f"{value:g}" if f"{value:.0e}"[0] in "235" else "") if few else NullFormatter()
    )


def _colormap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def _rgba(
    image: np.ndarray, cmap: str, vmin: float | None = None, vmax: float | None = None, symmetric: bool = False
) -> np.ndarray:
    """``image`` (2-D) through ``cmap`` as ``imshow`` would draw it alone (its own min and max unless
    given; ``symmetric``: ±max|value|), as an h x w x 4 RGBA array of bytes. RGB(A) images in [0, 1]
    pass through. ``gray_r`` (the data sets' images) is computed here, without loading matplotlib."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        rgba = np.full((*image.shape[:2], 4), 255, dtype=np.uint8)
        rgba[:, :, : image.shape[2]] = np.round(255 * np.clip(image, 0, 1))
        return rgba
    finite = image[np.isfinite(image)]
    if symmetric:
        limit = float(np.abs(finite).max()) if finite.size else 0.0
        vmin, vmax = -(limit or 1.0), limit or 1.0
    low = vmin if vmin is not None else float(finite.min()) if finite.size else 0.0
    high = vmax if vmax is not None else float(finite.max()) if finite.size else 1.0
    scaled = np.clip((image - low) / (high - low) if high > low else np.zeros_like(image), 0.0, 1.0)
    if cmap == "gray_r":  # white (0) to black (1), matplotlib's 256 levels
        level = 255 - np.minimum((np.nan_to_num(scaled) * 256).astype(np.int64), 255)
        rgba = np.full((*image.shape, 4), 255, dtype=np.uint8)
        rgba[..., :3] = level[..., None]
        return rgba
    return np.asarray(_colormap(cmap)(scaled, bytes=True))


BLACK, RED, GREY = (0, 0, 0), (214, 39, 40), (80, 80, 80)  # RED: matplotlib's "tab:red"
Lines = Sequence[tuple[str, tuple[int, int, int]]]  # a tile's label: lines of (text, RGB), top to bottom


@functools.cache
def _font(pixels: float, bold: bool = False):
    """DejaVu Sans (matplotlib's own font, found without importing matplotlib) at ``pixels`` size."""
    import importlib.util

    from PIL import ImageFont

    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
        if path.is_file():
            return ImageFont.truetype(str(path), pixels)
    return ImageFont.load_default(pixels)


class _Bitmap:
    """A finished RGBA picture that :func:`tracking.files.save_figure` writes like a figure."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels

    def savefig(self, fname, dpi: float = DPI, format: str = "png", **_: Any) -> None:
        from PIL import Image

        Image.fromarray(self.pixels[:, :, :3]).save(fname, format=format, dpi=(dpi, dpi))


def _wrap(text: str, font, width: float) -> list[str]:
    """``text`` in lines no wider than ``width`` pixels (broken between words)."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def _tiles_figure(
    tiles: Sequence[np.ndarray | None],
    labels: Sequence[Lines],
    columns: int,
    title: str,
    path,
    cell: int = 112,
    fontsize: float = LABEL_SIZE,
    title_size: float = TITLE_SIZE,
    min_width: int = 420,
) -> Path:
    """Tiles (RGBA bytes, ``None``: an empty cell) in a grid of ``columns``, each scaled up by a whole
    factor to about ``cell`` pixels, under its label (sizes in points at :data:`DPI`): one picture drawn
    pixel for pixel, the text in matplotlib's font, without matplotlib's per-text cost."""
    from PIL import Image, ImageDraw

    font, title_font = _font(fontsize * DPI / 72), _font(title_size * DPI / 72)
    line = math.ceil(fontsize * 1.3 * DPI / 72)
    n_lines = max((len(label) for label in labels), default=0)
    band = n_lines * line + 3 if n_lines else 0
    present = [t for t in tiles if t is not None]
    scales = [max(1, cell // max(t.shape[:2])) if t is not None else 1 for t in tiles]
    cell_h = max((t.shape[0] * k for t, k in zip(tiles, scales) if t is not None), default=cell)
    cell_w = max((t.shape[1] * k for t, k in zip(tiles, scales) if t is not None), default=cell)
    gap = max(8, cell_w // 8)
    widest = max((font.getlength(text) for label in labels for text, _ in label), default=0)
    slot = max(cell_w, math.ceil(widest) + 4)  # a column: its tile, or its longest label if wider
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns) if present else 0
    content = columns * slot + (columns - 1) * gap
    width = max(content + 2 * gap, min_width)
    title_line = math.ceil(title_size * 1.35 * DPI / 72)
    title_lines = _wrap(title, title_font, width - 2 * gap)
    top = len(title_lines) * title_line + gap if title_lines else gap // 2
    height = top + rows * (band + cell_h + gap) + (0 if rows else 2 * title_line)
    mosaic = np.full((height, width, 4), 255, dtype=np.uint8)  # white
    x0 = (width - content) // 2
    texts = []
    for n, (tile, k) in enumerate(zip(tiles, scales)):
        row, column = divmod(n, columns)
        left = x0 + column * (slot + gap) + (slot - cell_w) // 2
        upper = top + row * (band + cell_h + gap) + band
        if tile is not None:
            image = np.repeat(np.repeat(tile, k, axis=0), k, axis=1)
            h, w = image.shape[:2]
            y, x = upper + (cell_h - h) // 2, left + (cell_w - w) // 2
            mosaic[y - 1 : y + h + 1, x - 1 : x + w + 1] = FRAME
            mosaic[y : y + h, x : x + w] = image
        for i, (text, colour) in enumerate(reversed(labels[n] if n < len(labels) else ())):
            texts.append(((left + cell_w / 2, upper - 3 - i * line), text, colour, font, "md"))
    if not rows:
        texts.append(((width / 2, top + title_line), "(none)", GREY, font, "mm"))
    for i, text in enumerate(title_lines):
        texts.append(((width / 2, gap / 2 + (i + 0.5) * title_line), text, BLACK, title_font, "mm"))
    picture = Image.fromarray(mosaic)
    draw = ImageDraw.Draw(picture)
    for xy, text, colour, face, anchor in texts:
        draw.text(xy, text, fill=colour, font=face, anchor=anchor)
    save_figure(_Bitmap(np.asarray(picture)), path, dpi=DPI)
    return Path(path)


def one_sample_per_class(x: np.ndarray, y: np.ndarray, n_classes: int) -> list[int]:
    """Index of the first sample of each class (the course's question 1)."""
    return [int(np.flatnonzero(y == c)[0]) for c in range(n_classes) if np.any(y == c)]


def sample_grid(x, y, image_shape, class_names, path) -> Path:
    indices = one_sample_per_class(x, y, len(class_names))
    return _tiles_figure(
        [_rgba(x[i].reshape(image_shape), "gray_r") for i in indices],
        [[(str(class_names[y[i]]), BLACK)] for i in indices],
        columns=5,
        title="One training image per class",
        path=path,
        cell=140,
        fontsize=10,
        title_size=12,
    )


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
    reds = _colormap("Reds")(np.clip(rates / error_scale, 0, 1), bytes=True)
    greens = _colormap("Greens")(0.25 + 0.6 * np.clip(rates, 0, 1), bytes=True)
    colours = np.where(diagonal[:, :, None], greens, reds).astype(np.uint8)
    picture = Image.fromarray(np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1))
    draw = ImageDraw.Draw(picture)
    size = 9 if n <= 12 else 7
    plain, bold = _font((size - 1) * DPI / 72), _font(size * DPI / 72, bold=True)
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


def first_layer_figure(weights: np.ndarray, image_shape, path, title="", units: int = 32) -> Path:
    """The first hidden layer's incoming weights, one image per unit (the pixels it looks at);
    each image has its own symmetric colour scale (red positive, blue negative)."""
    units = min(units, weights.shape[1])
    return _tiles_figure(
        [_rgba(weights[:, k].reshape(image_shape), "RdBu_r", symmetric=True) for k in range(units)],
        [[(f"unit {k}", GREY)] for k in range(units)],
        columns=8,
        title=f"First-layer weights of {units} units"
        + (f": {title}" if title else "")
        + " (each on its own scale: red positive, blue negative)",
        path=path,
        cell=112,
        fontsize=8,
    )


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


def adversarial_figure(
    pixels, adversarial, labels, clean_predictions, adversarial_predictions, image_shape, class_names, eps, path
) -> Path:
    """Rows: clean images (true / predicted class), the perturbation, the adversarial images (predicted)."""
    n = len(pixels)
    tiles: list[np.ndarray | None] = []
    texts: list[Lines] = []
    for k in range(n):
        tiles.append(_rgba(pixels[k].reshape(image_shape), "gray_r", 0, 1))
        texts.append([(str(class_names[labels[k]]), BLACK), (f"→ {class_names[clean_predictions[k]]}", BLACK)])
    for k in range(n):
        tiles.append(_rgba((adversarial[k] - pixels[k]).reshape(image_shape), "RdBu_r", -eps, eps))
        texts.append([("perturbation", GREY)] if k == 0 else [])
    for k in range(n):
        fooled = adversarial_predictions[k] != labels[k]
        tiles.append(_rgba(adversarial[k].reshape(image_shape), "gray_r", 0, 1))
        texts.append([(f"→ {class_names[adversarial_predictions[k]]}", RED if fooled else BLACK)])
    return _tiles_figure(
        tiles,
        texts,
        columns=n,
        title=f"FGSM, eps = {eps:g}: clean (true → predicted), perturbation, adversarial (predicted; red: fooled)",
        path=path,
        cell=112,
        fontsize=8,
    )


def saliency_figure(images, saliency, labels, image_shape, class_names, path) -> Path:
    """Each test image beside its saliency map |d logit_y / dx| (brighter: the logit moves more)."""
    n = len(images)
    tiles = [_rgba(images[k].reshape(image_shape), "gray_r") for k in range(n)]
    tiles += [_rgba(saliency[k].reshape(image_shape), "hot") for k in range(n)]
    texts: list[Lines] = [[(str(class_names[labels[k]]), BLACK)] for k in range(n)]
    texts += [[("saliency", GREY)] if k == 0 else [] for k in range(n)]
    return _tiles_figure(
        tiles,
        texts,
        columns=n,
        title="test images and their saliency |d logit_y / dx|",
        path=path,
        cell=112,
        fontsize=8,
    )


def _short(p: float) -> str:
    """A small probability in two significant digits: 0.042, 3.1e-5."""
    if p >= 0.01:
        return f"{p:.2f}"
    if p <= 0:
        return "0"
    mantissa, exponent = f"{p:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def probability_label(p: float) -> str:
    """``p`` with as many decimals as it takes to show ``1 - p`` to two significant digits (at least
    two): 0.87, 0.955, 0.9991, 0.99987; past six decimals as ``1 - 3.2e-9``, so that the most
    confident mistakes, all near 1, still read apart."""
    p = min(max(float(p), 0.0), 1.0)
    rest = 1.0 - p
    if rest <= 0.0:
        return "1"
    decimals = max(2, 1 - math.floor(math.log10(rest)))
    if decimals > 6:
        return f"1 − {_short(rest)}"
    text = f"{p:.{decimals}f}".rstrip("0")
    return text + "0" * max(0, 2 - len(text.split(".")[1]))


def mistake_label(row: dict) -> list[tuple[str, tuple[int, int, int]]]:
    """A mistake's label, top to bottom: the true class, the predicted one, its probability and the
    true class's (``row`` as ``classification.py`` writes it: true, predicted, p(<class>) ...)."""
    true, predicted = str(row["true"]), str(row["predicted"])
    return [
        (true, BLACK),
        (f"→ {predicted}", RED),
        (f"p = {probability_label(row[f'p({predicted})'])}", BLACK),
        (f"p(true) = {_short(row[f'p({true})'])}", GREY),
    ]


def mistakes_figure(images, rows, image_shape, path) -> Path:
    """The most confident mistakes: each image with its true class and the predicted one (probability)."""
    return _tiles_figure(
        [_rgba(image.reshape(image_shape), "gray_r") for image in images],
        [mistake_label(row) for row in rows],
        columns=8,
        title="most confident mistakes on the test set: true class → predicted class (red), "
        "p: the predicted probability, p(true): the true class's",
        path=path,
        cell=112,
        fontsize=8.5,
    )


def filters_figure(kernels: np.ndarray, path, title="", limit: int = 64) -> Path:
    """The first convolutional layer's filters, ``kernels: kh x kw x C x F``, one image per filter
    (the mean over input channels when there are several), each on its own symmetric colour scale."""
    filters = kernels.mean(axis=2)[:, :, :limit]
    n = filters.shape[2]
    return _tiles_figure(
        [_rgba(filters[:, :, k], "RdBu_r", symmetric=True) for k in range(n)],
        [[(str(k), GREY)] for k in range(n)],
        columns=min(n, 8),
        title="First-layer filters" + (f": {title}" if title else "") + " (red positive, blue negative)",
        path=path,
        cell=84,
        fontsize=8,
        title_size=10,
    )


def activation_maps_figure(
    images, maps, labels, image_shape, class_names, path, channels: int = 8, layer: str | None = None
) -> Path:
    """One row per test image: the image, then its first ``channels`` activation maps (``maps: n x H x W x F``)
    of the first layer, or of the convolutional ``layer`` named in the title."""
    n, channels = len(images), min(channels, maps.shape[3])
    tiles: list[np.ndarray | None] = []
    texts: list[Lines] = []
    for row in range(n):
        tiles.append(_rgba(images[row].reshape(image_shape), "gray_r"))
        texts.append([(str(class_names[labels[row]]), BLACK)])
        for k in range(channels):
            tiles.append(_rgba(maps[row, :, :, k], "viridis"))
            texts.append([(f"map {k}", GREY)] if row == 0 else [])
    return _tiles_figure(
        tiles,
        texts,
        columns=channels + 1,
        title=f"{'First-layer activation maps' if layer is None else f'Activation maps of {layer}'}, "
        "one test image per class (each map on its own scale)",
        path=path,
        cell=84,
        fontsize=8,
        title_size=10,
    )


RUN_STATE_STYLES = {  # state: (marker, colour, filled, legend label); a failed run's x reads as "crashed"
    "complete": ("o", "tab:blue", True, "complete"),
    "pruned": ("o", "tab:orange", False, "pruned (last value)"),
    "fail": ("x", "tab:red", True, "failed (last value)"),
}


def elapsed_axis(seconds: np.ndarray) -> tuple[np.ndarray, str]:
    """Elapsed ``seconds`` in the unit that suits their span: seconds under 2 minutes, minutes under
    3 hours, hours beyond."""
    span = float(seconds.max()) if seconds.size else 0.0
    if span < 120:
        return seconds, "seconds"
    if span < 3 * 3600:
        return seconds / 60, "minutes"
    return seconds / 3600, "hours"


def metric_vs_created_figure(
    seconds: Sequence[float],
    values: Sequence[float | None],
    states: Sequence[str],
    best: Sequence[float | None],
    metric: str,
    path,
    maximize: bool = True,
    title: str = "",
    start: str = "",
) -> Path:
    """W&B's "metric vs. created" panel: each run's ``metric`` (``values``) against the time it started,
    ``seconds`` after the first run (which started at ``start``, shown in the axis label), marked by its
    state (``states``: complete, pruned, fail; see :data:`RUN_STATE_STYLES`); a failed run without a value
    is a triangle on the bottom edge. ``best``, the running best at each run (``None`` before the first),
    is the step line. The legend stands beside the plot, where it hides no run."""
    x, unit = elapsed_axis(np.asarray(seconds, dtype=float))
    y = np.array([np.nan if v is None else v for v in values], dtype=float)
    kinds = np.asarray(states)
    fig = new_figure(11, 5)
    ax = fig.subplots()
    for state, (marker, colour, filled, label) in RUN_STATE_STYLES.items():
        style: dict[str, Any] = {"ls": "none", "marker": marker, "ms": 7, "color": colour}
        style["mfc"] = colour if filled else "none"
        valued, missing = (kinds == state) & np.isfinite(y), (kinds == state) & ~np.isfinite(y)
        if valued.any():
            ax.plot(x[valued], y[valued], label=label, **style)
        if missing.any():  # y in axes units: just above the bottom edge, whatever the metric's range
            ax.plot(
                x[missing],
                np.full(missing.sum(), 0.03),
                transform=ax.get_xaxis_transform(),
                label=f"{label.split(' (')[0]}, no value (bottom edge)",
                **{**style, "marker": "v"},
            )
    known = np.array([b is not None for b in best])
    if known.any():
        running = np.array([b for b in best if b is not None], dtype=float)
        best_label = f"running best ({'highest' if maximize else 'lowest'} complete run so far)"
        ax.step(x[known], running, where="post", color="black", lw=1.4, label=best_label, zorder=1)
    ax.set(xlabel=f"{unit} since the first run started" + (f" ({start})" if start else ""), ylabel=metric)
    ax.set_title(title, y=1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the plot: no point hidden
    fig.subplots_adjust(left=0.08, right=0.72, bottom=0.12, top=0.91)
    save_figure(fit_to_contents(fig), path, dpi=DPI)
    return Path(path)


# -- looking inside the network (--latent, --dynamics, --maximize; the deeper convolution maps) -------------


def _class_colours(n: int) -> np.ndarray:
    """``n`` distinct RGBA colours: tab10 / tab20 as far as they go, then evenly along turbo."""
    if n <= 20:
        return np.asarray(_colormap("tab10" if n <= 10 else "tab20")(np.arange(n)))
    return np.asarray(_colormap("turbo")(np.linspace(0.0, 1.0, n)))


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


def maximize_figure(rows, image_shape, path, title: str = "") -> Path:
    """Activation maximisation: one row per layer, ``rows`` of ``(layer label, images: n x D in pixel
    order and units, as differences from the mean training image, units, activations)``; each image on
    its own symmetric diverging scale, red where the unit wants more ink than the average image, blue
    where it wants less (white: as the average), its unit and activation under it."""
    columns = max(len(units) for _, _, units, _ in rows)
    tiles: list[np.ndarray | None] = []
    texts: list[Lines] = []
    for _, images, units, activations in rows:
        for k in range(columns):
            if k < len(units):
                tiles.append(_rgba(images[k].reshape(image_shape), "RdBu_r", symmetric=True))
                texts.append([(f"unit {units[k]}", BLACK), (f"a = {activations[k]:.3g}", GREY)])
            else:
                tiles.append(None)
                texts.append([])
    layers = "; ".join(f"{'Row' if k == 0 else 'row'} {k + 1}: {label}" for k, (label, _, _, _) in enumerate(rows))
    caption = "Red: more ink than the average training image, blue: less (each image on its own scale)"
    return _tiles_figure(
        tiles, texts, columns=columns, title=f"{title}. {caption}. {layers}", path=path, cell=112, fontsize=8
    )
