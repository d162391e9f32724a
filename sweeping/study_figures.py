"""Figures of a study's sweep folder (``OUTPUT_DIR/<study>/runs/<run>/``), drawn from what each run
wrote: ``config.json``, ``summary.json``, ``history.json``, ``batch_loss.csv``, ``confusion_matrix.csv``
and ``model.npz``. ``scripts/study_figures.py`` is the command line over these functions.

Conventions: one colour per run, the same in every panel of a figure, its legend outside the axes
on the right; a run labelled by the configuration keys that tell it apart (``label_keys``); a run
that diverged ends in an ``x`` at the top of its panel.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tracking.figure import fit_to_contents, new_figure, plain_log_labels
from tracking.files import save_figure

NEAR_ZERO = 1e-3  # |w| below this counts as a near-zero weight


def load_runs(folder: Path) -> list[dict]:
    """Every finished run of a sweep folder, in name order: ``{"config", "summary", "history",
    "folder"}`` (the history is ``[]`` for a run that wrote none)."""
    found = []
    for run in sorted((Path(folder) / "runs").iterdir()):
        if not (run / "config.json").is_file() or not (run / "summary.json").is_file():
            continue
        history_file = run / "history.json"
        history = json.loads(history_file.read_text()) if history_file.is_file() else []
        found.append(
            {
                "config": json.loads((run / "config.json").read_text()),
                "summary": json.loads((run / "summary.json").read_text()),
                "history": history,
                "folder": run,
            }
        )
    return found


def label(run: dict, keys: Sequence[str]) -> str:
    """What tells ``run`` apart: the values of ``keys`` in its configuration (``key=value`` for more
    than one key)."""
    values = [(key, run["config"].get(key, "")) for key in keys]
    if len(values) == 1:
        return str(values[0][1])
    return ", ".join(f"{key}={value}" for key, value in values)


def batch_losses(run: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(batch, loss)`` from the run's ``batch_loss.csv`` (``--log_every``)."""
    path = run["folder"] / "batch_loss.csv"
    if not path.is_file() and run["summary"].get("status") == "diverged":  # stopped before it wrote any
        return np.array([], dtype=int), np.array([])
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no batch losses (run the study with --log_every N)")
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    return np.array([int(r["batch"]) for r in rows]), np.array([float(r["batch_loss"]) for r in rows])


def series(run: dict, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one metric of a run: ``batch_loss`` per logged batch, any other key of its
    history per epoch (missing or non-finite values left out)."""
    if metric == "batch_loss":
        return batch_losses(run)
    rows = [row for row in run["history"] if isinstance(row.get(metric), (int, float))]
    x = np.array([row["epoch"] for row in rows], dtype=float)
    y = np.array([row[metric] for row in rows], dtype=float)
    keep = np.isfinite(y)
    return x[keep], y[keep]


def _colours(n: int) -> np.ndarray:
    import matplotlib

    name = "tab10" if n <= 10 else "tab20"
    return matplotlib.colormaps[name](np.arange(n) % (10 if n <= 10 else 20))


def _metric_panel(ax, metric: str, log: Sequence[str]) -> None:
    """One metric's panel: whole epochs (or batches) on x, the metric's name as title, a log scale if
    ``log`` names it."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("batch" if metric == "batch_loss" else "epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.set_title(metric.replace("_", " "), fontsize=10)
    if metric in log:
        ax.set_yscale("log")
        plain_log_labels(ax)
    ax.grid(alpha=0.3)


def _finish_panels(fig, handles, names, title: str, out: Path, legend_title: str | None = None) -> Path:
    """A row of panels finished: one legend right of them, the title above, saved to ``out``."""
    fig.legend(
        handles, names, title=legend_title, loc="upper left", bbox_to_anchor=(0.86, 0.9), fontsize=8, frameon=False
    )
    fig.subplots_adjust(left=0.08, right=0.84, bottom=0.16, top=0.8, wspace=0.28)
    fig.suptitle(title, fontsize=11)
    return save_figure(fit_to_contents(fig), out)


def curves(
    found: list[dict],
    metrics: Sequence[str],
    label_keys: Sequence[str],
    out: Path,
    title: str,
    log: Sequence[str] = (),
    legend_title: str = "",
    batch_limit: int | None = None,
) -> Path:
    """One panel per metric, one line per run (epochs on x; batches for ``batch_loss``, up to
    ``batch_limit`` if given); the metrics named in ``log`` on a log scale."""
    fig = new_figure(3.9 * len(metrics) + 1.8, 3.4)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    colours = _colours(len(found))
    for ax, metric in zip(axes, metrics):
        for colour, run in zip(colours, found):
            x, y = series(run, metric)
            if metric == "batch_loss" and batch_limit:
                x, y = x[x <= batch_limit], y[x <= batch_limit]
            ax.plot(
                x, y, "-" if metric == "batch_loss" else "-o", color=colour, markersize=3, label=label(run, label_keys)
            )
            if run["summary"].get("status") == "diverged":
                ax.plot(
                    [x[-1] + 1 if len(x) else 1],
                    [1.0],
                    "x",
                    color=colour,
                    markersize=8,
                    mew=2,
                    transform=ax.get_xaxis_transform(),
                    clip_on=False,
                )
        _metric_panel(ax, metric, log)
    handles, names = axes[-1].get_legend_handles_labels()
    return _finish_panels(fig, handles, names, title, out, legend_title or ", ".join(label_keys))


def scatter(
    found: list[dict],
    x_key: str,
    y_key: str,
    hue_key: str | None,
    out: Path,
    title: str,
    log_x: bool = False,
    note_key: str | None = None,
    style_key: str | None = None,
) -> Path:
    """``y_key`` of each run's summary against ``x_key`` of its configuration (or of its summary): one
    colour per value of ``hue_key``, one marker and line style per value of ``style_key``; a line
    through a series' points in x order where each x occurs once in it and no ``note_key`` labels the
    points (``note_key``: each point labelled with that configuration value)."""
    groups: dict[tuple[str, str], list[tuple[float, float, str]]] = {}
    for run in found:
        value = run["summary"].get(y_key)
        if isinstance(value, (int, float)) and np.isfinite(value):
            hue = str(run["config"].get(hue_key, "")) if hue_key else ""
            style = str(run["config"].get(style_key, "")) if style_key else ""
            x = run["config"].get(x_key, run["summary"].get(x_key))
            note = str(run["config"].get(note_key, "")) if note_key else ""
            groups.setdefault((hue, style), []).append((float(x), float(value), note))
    hues = sorted({hue for hue, _ in groups})
    styles = sorted({style for _, style in groups})
    colours = dict(zip(hues, _colours(len(hues))))
    shapes = dict(zip(styles, (("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."))))
    fig = new_figure(5.6, 3.6)
    ax = fig.add_axes((0.12, 0.15, 0.62, 0.72))
    for (hue, style), points in sorted(groups.items()):
        xs, ys, notes = zip(*sorted(points))
        marker, dash = shapes[style]
        line = hue_key and not note_key and len(set(xs)) == len(xs)  # a line only through one series
        label = ", ".join(part for part in (hue, f"{style_key} {style}" if style_key else "") if part)
        ax.plot(xs, ys, marker, linestyle=dash if line else "none", color=colours[hue], alpha=0.85, label=label)
        for x, y, note in zip(xs, ys, notes) if note_key else ():
            ax.annotate(note, (x, y), xytext=(5, -3), textcoords="offset points", fontsize=7, color=colours[hue])
    if log_x:
        ax.set_xscale("log")
        plain_log_labels(ax, "x")
    ax.set_xlabel(x_key.replace("_", " "))
    ax.set_ylabel(y_key.replace("_", " "))
    ax.grid(alpha=0.3)
    if hue_key:
        ax.legend(title=hue_key, loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10)
    return save_figure(fit_to_contents(fig), out)


def first_weights(run: dict) -> np.ndarray:
    """The first weight array (``W`` of the first weighted layer) of the run's saved ``model.npz``
    (``--save_model``), flattened."""
    import nn

    model = nn.Sequential.load(run["folder"] / "model.npz")
    first = next(name for name in model.params if name.endswith(".W"))
    return np.asarray(model.params[first], dtype=np.float64).ravel()


def near_zero_share(weights: np.ndarray, threshold: float = NEAR_ZERO) -> float:
    """The share of weights with ``|w| < threshold``."""
    return float(np.mean(np.abs(weights) < threshold))


def weights(found: list[dict], label_keys: Sequence[str], out: Path, title: str) -> Path:
    """Histograms of each run's first-layer weights (log count axis), the share of near-zero weights
    in the legend."""
    fig = new_figure(6.4, 3.6)
    ax = fig.add_axes((0.11, 0.15, 0.58, 0.72))
    all_weights = [first_weights(run) for run in found]
    edge = float(np.percentile(np.abs(np.concatenate(all_weights)), 99.9))
    bins = np.linspace(-edge, edge, 121)
    for colour, run, values in zip(_colours(len(found)), found, all_weights):
        share = near_zero_share(values)
        ax.hist(
            values,
            bins=bins,
            histtype="step",
            color=colour,
            linewidth=1.4,
            label=f"{label(run, label_keys)}: {share:.1%} with |w| < {NEAR_ZERO:g}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("first-layer weight")
    ax.set_ylabel("count (log scale)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0), fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10)
    return save_figure(fit_to_contents(fig), out)


def confusion_counts(run: dict) -> np.ndarray:
    """The run's test-set confusion counts (rows: true class, columns: predicted)."""
    return np.loadtxt(run["folder"] / "confusion_matrix.csv", delimiter=",", dtype=np.int64, ndmin=2)


def confusions(found: list[dict], label_keys: Sequence[str], class_names: Sequence[str], out: Path, title: str) -> Path:
    """The test confusion matrices of the runs side by side, each row as shares of its true class,
    the diagonal's accuracy in each panel's title."""
    fig = new_figure(4.4 * len(found) + 1.0, 5.4)
    axes = fig.subplots(1, len(found), squeeze=False)[0]
    for ax, run in zip(axes, found):
        counts = confusion_counts(run)
        rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        for i, j in zip(*np.nonzero(counts)):
            ax.text(
                j,
                i,
                f"{counts[i, j]}",
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if rates[i, j] > 0.5 else "black",
            )
        ticks = range(len(class_names))
        ax.set_xticks(ticks, class_names, rotation=90, fontsize=6)
        ax.set_yticks(ticks, class_names if ax is axes[0] else [], fontsize=6)
        ax.set_xlabel("predicted", fontsize=8)
        accuracy = np.trace(counts) / max(counts.sum(), 1)
        ax.set_title(f"{label(run, label_keys)}\ntest accuracy {accuracy:.4f}", fontsize=9)
    axes[0].set_ylabel("true class", fontsize=8)
    fig.subplots_adjust(left=0.1, right=0.99, bottom=0.2, top=0.86, wspace=0.04)
    fig.suptitle(title, fontsize=11)
    return save_figure(fit_to_contents(fig), out)


def stopping_points(
    found: list[dict],
    line_key: str,
    stop_key: str,
    metrics: Sequence[str],
    out: Path,
    title: str,
    log: Sequence[str] = (),
) -> Path:
    """Runs that differ only in where a stopping rule ended them: one curve per value of ``line_key``
    (its longest run: the shorter ones are its prefix), and one marker per run at the epoch it stopped,
    its shape given by its ``stop_key`` value; one panel per metric."""
    lines: dict[str, list[dict]] = {}
    for run in found:
        lines.setdefault(str(run["config"].get(line_key)), []).append(run)
    stops = sorted({run["config"].get(stop_key) for run in found})
    markers = dict(zip(stops, "osD^v"))
    fig = new_figure(3.9 * len(metrics) + 1.9, 3.4)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        for colour, (name, group) in zip(_colours(len(lines)), sorted(lines.items())):
            longest = max(group, key=lambda run: len(run["history"]))
            x, y = series(longest, metric)
            ax.plot(x, y, "-", color=colour, label=f"{line_key} {name}")
            for run in sorted(group, key=lambda run: stops.index(run["config"].get(stop_key))):
                rx, ry = series(run, metric)
                stop = run["config"].get(stop_key)
                size = 10 - 2.5 * stops.index(stop)  # two rules that stop at one epoch: both markers seen
                ax.plot(rx[-1:], ry[-1:], markers[stop], color=colour, markersize=size, mfc="white", mew=1.6)
        _metric_panel(ax, metric, log)
    from matplotlib.lines import Line2D

    handles, names = axes[-1].get_legend_handles_labels()
    handles += [Line2D([], [], linestyle="", marker=markers[s], color="black", mfc="white") for s in stops]
    names += [f"stopped by {stop_key} {s}" for s in stops]
    return _finish_panels(fig, handles, names, title, out)


def ensemble_bars(reports: Sequence[dict], out: Path, title: str) -> Path:
    """Test accuracy of each member and of the mean-probability ensemble of the first ``k`` members,
    from ``evaluate.py --json`` reports of growing ensembles (the largest one names every member)."""
    reports = sorted(reports, key=lambda report: len(report["members"]))
    members = reports[-1]["members"]
    names = [f"member {k + 1}" for k in range(len(members))] + [f"ensemble of {len(r['members'])}" for r in reports]
    # a report of one model has no "ensemble": the ensemble of one is that member
    values = [m["accuracy"] for m in members] + [r.get("ensemble", r["members"][0])["accuracy"] for r in reports]
    colours = ["tab:grey"] * len(members) + ["tab:blue"] * len(reports)
    fig = new_figure(6.4, 0.32 * len(names) + 1.3)
    ax = fig.add_axes((0.22, 0.14, 0.7, 0.74))
    # dots, not bars: the axis does not start at 0, and a bar's length would claim it does
    ax.scatter(values, range(len(names)), color=colours, s=40, zorder=3)
    for y, value in enumerate(values):
        ax.text(value + 0.0008, y, f"{value:.4f}", va="center", fontsize=8)
    best = max(m["accuracy"] for m in members)
    ax.axvline(best, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    low = min(values) - 0.01
    ax.set_xlim(low, max(values) + 0.008)
    ax.set_xlabel(f"test accuracy (dashed: the best member, {best:.4f})")
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    return save_figure(fit_to_contents(fig), out)
