"""Grids of images written as PNG (and handed to W&B): the sample grid, the most confident mistakes,
first-layer weights and filters, activation maps, adversarial examples, saliency maps, activation
maximisation.

Each grid is one picture: NumPy tiles each image, scaled up by a whole factor and through its own
colour scale, and Pillow writes the labels in matplotlib's own font (DejaVu Sans); no Axes and no
resampling, and grey images without importing matplotlib (another colour map loads
``matplotlib.colormaps``). Every file is written through :func:`tracking.files.save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .figure import BLACK, DPI, GREY, RED, colormap, text_font
from .files import save_figure

TITLE_SIZE = 11.0
LABEL_SIZE = 8.5
FRAME = (204, 204, 204, 255)  # the thin grey line around each tile (RGBA bytes)
Lines = Sequence[tuple[str, tuple[int, int, int]]]  # a tile's label: lines of (text, RGB), top to bottom


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
    return np.asarray(colormap(cmap)(scaled, bytes=True))


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

    font, title_font = text_font(fontsize * DPI / 72), text_font(title_size * DPI / 72)
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
