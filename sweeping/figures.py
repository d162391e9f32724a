"""The sweep's own figure: W&B's "metric vs. created" panel, each run's metric against the time it
started (see :mod:`sweeping.panels`), drawn with the basics of :mod:`tracking.figure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tracking.figure import DPI, fit_to_contents, new_figure
from tracking.files import save_figure

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
