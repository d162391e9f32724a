"""What every figure shares: the resolution (:data:`DPI`), the colours of labels, matplotlib's font
for Pillow, colour maps, and the matplotlib basics of a figure with axes: a ``Figure`` on its own Agg
canvas, never ``pyplot`` (no global state, no backend switching), laid out once, fixed or from one
measurement of its labels (:func:`fit_to_contents`), instead of ``tight_layout``'s repeated measuring.
Nothing here imports matplotlib before a function needs it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
BLACK, RED, GREY = (0, 0, 0), (214, 39, 40), (80, 80, 80)  # RED: matplotlib's "tab:red"


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


def colormap(name: str):
    """The matplotlib colour map ``name``."""
    import matplotlib

    return matplotlib.colormaps[name]


@functools.cache
def text_font(pixels: float, bold: bool = False):
    """DejaVu Sans (matplotlib's own font, found without importing matplotlib) at ``pixels`` size."""
    import importlib.util

    from PIL import ImageFont

    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
        if path.is_file():
            return ImageFont.truetype(str(path), pixels)
    return ImageFont.load_default(pixels)
