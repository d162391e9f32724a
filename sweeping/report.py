"""The end of a sweep: best trials, the best configuration as a command, figures.

Written under the sweep's folder: ``trials.csv`` (every trial),
``best.json`` (the best configuration), ``report.md`` (the table and the
command), ``parallel_coordinates.png`` and ``param_importances.png`` (what
W&B's panels show), ``importance.csv`` (Optuna's fANOVA importance and, for
numeric parameters, the correlation with the metric, like W&B's parameter
importance panel), ``curves.png`` (every trial's training loss and
validation accuracy, one line per trial), and W&B's two other sweep panels
(:mod:`sweeping.panels`): ``metric_vs_created.png`` (with its points,
``metric_vs_created.csv``) and ``correlations.csv`` (also a table in
``report.md``). ``python sweep.py report SWEEP_DIR`` draws it all again from
the study (:mod:`sweeping.redraw`).

As in W&B, where a run stopped early keeps the last value it logged, the
parallel coordinates and the importances use every complete *and pruned*
trial, a pruned one with its last reported value (Optuna's own plots would
drop the pruned trials, which are the informative failures). Repeated
configurations count once.
"""

from __future__ import annotations

import json
import shlex
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from experiments import naming, presets
from sweeping import panels
from sweeping.bookkeeping import retries
from sweeping.fixed_options import shared_options
from sweeping.panels import last_value
from sweeping.spec import title as sweep_title

DATA_OPTIONS = ("data_dir",)  # where the data is: train.py --from_sweep never takes it from the trial


def data_options(fixed: dict) -> dict:
    """The options in :data:`DATA_OPTIONS` the sweep ran with (``--data_dir`` when given): every
    command the report prints carries them, so it runs where the sweep ran (offline too)."""
    return {key: fixed[key] for key in DATA_OPTIONS if fixed.get(key) is not None}


def best_command(config: dict, swept: list[str], fixed: dict | None = None) -> str:
    """The ``python train.py ...`` line that repeats a trial's recorded configuration, with the
    sweep's :func:`data_options` (from ``fixed``, the options every trial shared)."""
    return naming.command_line({**config, **data_options(fixed or {})}, swept)


def from_sweep_command(folder: Path, rank: int, fixed: dict) -> str:
    """``python train.py --from_sweep FOLDER --rank RANK``, with the sweep's :func:`data_options`."""
    data = [part for key, value in data_options(fixed).items() for part in (f"--{key}", str(value))]
    return shlex.join(["python", "train.py", "--from_sweep", str(folder), "--rank", str(rank), *data])


def _table(rows, headers) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def as_run_view(study, trials):
    """An in-memory copy of the study in which every complete or pruned trial is complete,
    valued by its last reported metric (W&B's view of runs stopped early)."""
    import optuna

    view = optuna.create_study(directions=study.directions)
    for t in trials:
        value = last_value(t)
        if (
            value is None
            or t.state not in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
            or "duplicate_of" in t.user_attrs
        ):
            continue
        view.add_trial(
            optuna.trial.create_trial(
                params=t.params, distributions=t.distributions, value=value, user_attrs=t.user_attrs
            )
        )
    return view


def parallel_colormap(reverse: bool = False):
    """The parallel-coordinates colours: viridis from dark purple (the best runs) to yellow-green (the
    weakest), without its pale yellow end, so no run is invisible on white (Optuna's own ``Blues``
    draws the weakest runs in white). ``reverse`` (Optuna's choice for a minimised metric): the low end
    is the best."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    colours = matplotlib.colormaps["viridis_r"](np.linspace(0.15, 1.0, 256))
    cmap = ListedColormap(colours, name="viridis_r_visible")
    return cmap.reversed() if reverse else cmap


def _parallel_coordinates(study, varying, metric: str, path: Path):
    """Optuna's parallel-coordinates figure, recoloured with :func:`parallel_colormap` (the colour bar
    follows) and redrawn best run last, on top; saved to ``path``; the figure is returned."""
    import matplotlib
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ovm
    from matplotlib.collections import LineCollection

    from tracking.figure import fit_to_contents
    from tracking.files import save_figure

    with matplotlib.rc_context():  # Optuna's plots switch pyplot's global style: keep it to this figure
        ax = ovm.plot_parallel_coordinate(study, params=varying, target_name=metric)
        fig: Any = ax.figure
        plt.close(fig)  # out of pyplot's registry at once; the figure stays drawable and savable
        for lines in (c for c in ax.collections if isinstance(c, LineCollection)):
            reverse = lines.get_cmap().name.endswith("_r")
            lines.set_cmap(parallel_colormap(reverse))
            lines.set_clip_on(False)  # a run at an axis' end lies on the plot's edge: draw all of its line
            values = lines.get_array()
            if values is not None and len(values) == len(lines.get_segments()):
                order = np.argsort(-values if reverse else values, kind="stable")  # the best drawn last
                segments = lines.get_segments()
                styles: Any = lines.get_linestyle()  # a list: one dash pattern, or one per run
                lines.set_segments([segments[k] for k in order])
                lines.set_array(np.asarray(values)[order])
                if isinstance(styles, list) and len(styles) == len(order):
                    lines.set_linestyle([styles[k] for k in order])
        ax.set_title("")
        fig.set_size_inches(max(10, 1.6 * len(varying)), 6)
        fig.tight_layout(rect=(0, 0, 1, 0.92))
        n_runs = len(study.get_trials(deepcopy=False))
        fig.suptitle(
            f"Parallel coordinates of {n_runs} runs, coloured by {metric} (darker is better; "
            f"pruned runs at their last {metric})",
            fontsize=11,
        )
        save_figure(fit_to_contents(fig), path, dpi=100)
    return fig


def importance_figure(study, params: list[str], metric: str):
    """Optuna's parameter-importance bars of ``params``, not yet saved: its one-entry legend (the
    metric's name, over the bars) becomes the title."""
    import matplotlib
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ovm

    from tracking.figure import fit_to_contents

    with matplotlib.rc_context():  # Optuna sets the ggplot style globally: keep it here
        ax = ovm.plot_param_importances(study, params=params, target_name=metric)
        fig: Any = ax.figure
        plt.close(fig)
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
        ax.set_title("", loc="left")  # Optuna's own title, replaced by one that names the metric
        ax.set_title(f"Parameter importance for {metric} (Optuna's fANOVA; the bars sum to 1)", fontsize=11)
        fig.set_size_inches(9, 0.5 * len(params) + 2)
        fig.tight_layout()
        return fit_to_contents(fig)


def _epoch_axis(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _figures(study, spec, folder: Path, trials, say) -> None:
    import matplotlib

    matplotlib.use("Agg")  # Optuna draws through pyplot: never a window

    from tracking.files import save_figure

    varying = spec.varying
    study = as_run_view(study, trials)
    trials = study.get_trials(deepcopy=False)
    if len(trials) >= 2 and varying:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                _parallel_coordinates(study, varying, spec.metric, folder / "parallel_coordinates.png")
            except Exception as error:  # plotting must never cost the sweep's results
                say(f"(parallel coordinates not drawn: {error})")
            try:
                importances = _importances(study, spec, varying, trials, folder)
                if importances:
                    fig = importance_figure(study, list(importances), spec.metric)
                    save_figure(fig, folder / "param_importances.png", dpi=100)
            except Exception as error:
                say(f"(parameter importances not drawn: {error})")
    histories = []
    for trial in trials:  # one curve per distinct run
        for name in ("history.json", "fold1/history.json"):  # a cross-validation's first fold stands for it
            path = run_file(trial, folder, name)
            history = json.loads(path.read_text()) if path else []
            if history:
                histories.append((trial, history))
                break
    if histories:
        fig = draw_curves(histories, varying, spec.metric, spec.name, maximize=spec.direction == "maximize")
        save_figure(fig, folder / "curves.png", dpi=100)
    _batch_loss_figure(trials, varying, folder)


LINE_STYLES = ("-", "--", ":", "-.")
MANY = "many"  # curve_styles' mode when the trials are coloured by their metric


def curve_styles(trials, varying) -> tuple[list[dict], list[tuple[str, list[tuple[str, dict]]]], str]:
    """How to draw one line per trial so that a colour means one thing: ``(styles, legends, mode)``, a
    ``color``/``linestyle`` per trial and the legends (title, entries of (label, style)).

    The parameters that differ between the trials decide: the one with most values (up to 10) gives
    the colour, a second one with up to 4 values the line style (e.g. one colour per optimizer, one
    style per learning rate); with more, up to 10 trials get a colour each and a legend of their
    parameters (mode ``"trial"``), and more trials than that one colour scale of their metric (mode
    :data:`MANY`, no legend: the caller draws the colour bar)."""
    import matplotlib

    def text(value) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)

    distinct = {}
    for key in varying:
        values = list(dict.fromkeys(t.params[key] for t in trials if key in t.params))
        if len(values) > 1:
            distinct[key] = sorted(values, key=lambda v: (str(type(v)), v)) if _sortable(values) else values
    keys = sorted(distinct, key=lambda k: -len(distinct[k]))
    tab10 = matplotlib.colormaps["tab10"].colors
    if not keys:
        return [{"color": tab10[0], "linestyle": "-"} for _ in trials], [], "one"
    colour_key = keys[0]
    style_key = keys[1] if len(keys) == 2 else None
    if len(keys) <= 2 and len(distinct[colour_key]) <= 10 and (style_key is None or len(distinct[style_key]) <= 4):
        colours = {v: tab10[k] for k, v in enumerate(distinct[colour_key])}
        dashes = {v: LINE_STYLES[k] for k, v in enumerate(distinct[style_key])} if style_key else {}
        styles = [
            {
                "color": colours[t.params.get(colour_key)] if colour_key in t.params else "grey",
                "linestyle": dashes.get(t.params.get(style_key), "-") if style_key else "-",
            }
            for t in trials
        ]
        legends = [(colour_key, [(text(v), {"color": c, "linestyle": "-"}) for v, c in colours.items()])]
        if style_key:
            legends.append((style_key, [(text(v), {"color": "black", "linestyle": d}) for v, d in dashes.items()]))
        return styles, legends, "factors"
    if len(trials) <= 10:
        styles = [{"color": tab10[k], "linestyle": "-"} for k in range(len(trials))]
        return styles, [("trial", [(_label(t, keys), s) for t, s in zip(trials, styles)])], "trial"
    return [{"linestyle": "-"} for _ in trials], [], MANY


def _sortable(values) -> bool:
    try:
        sorted(values)
    except TypeError:
        return False
    return True


def draw_curves(histories, varying, metric: str, name: str, maximize: bool = True):
    """The sweep's ``curves.png``, not yet saved: every trial's training loss and ``metric`` (or
    validation accuracy / RMSE) per epoch, one line per trial styled by :func:`curve_styles`, the
    legends (or the colour bar) beside the plots. When the trials train with different losses, each
    loss gets its own training-loss panel: their scales differ."""
    from matplotlib.cm import ScalarMappable

    from tracking.figure import fit_to_contents, new_figure, plain_log_labels

    trials = [trial for trial, _ in histories]
    styles, legends, mode = curve_styles(trials, varying)
    shown = next((key for key in (metric, "val_accuracy", "val_rmse") if key in histories[0][1][0]), None)
    losses = list(dict.fromkeys(str(t.params["loss"]) for t in trials if "loss" in t.params))
    losses = losses if len(losses) > 1 else [""]
    panels = len(losses) + (1 if shown else 0)
    fig = new_figure(4.6 * panels + 0.6, 4.4)
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    loss_axes = dict(zip(losses, axes))
    if mode == MANY:
        cmap, norm, order = _colour_by_result(histories, shown, styles, maximize)
    else:
        cmap, norm, order = None, None, np.arange(len(histories))
    _plot_histories(histories, styles, order, axes, loss_axes, shown)
    for loss, ax in loss_axes.items():
        drawn = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()]
        values = np.concatenate(drawn) if drawn else np.array([])
        values = values[np.isfinite(values) & (values > 0)]
        if values.size and values.max() > 4 * values.min():  # one slow trial would flatten the others
            ax.set_yscale("log")
            plain_log_labels(ax)  # 0.3, not 3 × 10⁻¹
        scale = " (log scale)" if ax.get_yscale() == "log" else ""
        ax.set(xlabel="epoch", ylabel="training loss" + (f" ({loss.replace('_', ' ')})" if loss else "") + scale)
        ax.set_title(f"training loss: {loss.replace('_', ' ')}" if loss else "training loss", fontsize=10)
    if shown:
        axes[-1].set(xlabel="epoch", ylabel=shown)
        axes[-1].set_title(shown, fontsize=10)
    for ax in axes:
        ax.grid(alpha=0.3)
        _epoch_axis(ax)
    fig.subplots_adjust(left=0.6 / (4.6 * panels + 0.6), right=0.97, bottom=0.13, top=0.82, wspace=0.3)
    last = axes[-1]
    _legends_beside(fig, last, legends)
    if mode == MANY and cmap is not None and norm is not None:
        bar = fig.colorbar(ScalarMappable(norm, cmap), ax=last, fraction=0.05, pad=0.04)
        bar.set_label(f"final {shown} of the trial (best drawn on top)")
    fig.suptitle(
        f"{sweep_title(name, capital=True)}: each trial's training loss and {shown or 'metric'} per epoch "
        f"({_curves_legend_says(mode, legends)})",
        fontsize=11,
    )
    return fit_to_contents(fig)


def _colour_by_result(histories, shown, styles: list[dict], maximize: bool):
    """:data:`MANY` trials: each coloured by its final ``shown`` value (light grey without one) on
    :func:`parallel_colormap`'s scale; returns ``(cmap, norm, order)``, the order that draws the best
    last."""
    from matplotlib.colors import Normalize

    finals = np.array([h[-1].get(shown, np.nan) if shown else np.nan for _, h in histories], dtype=float)
    good = finals[np.isfinite(finals)]
    cmap = parallel_colormap(reverse=not maximize)
    norm = Normalize(float(good.min()) if good.size else 0.0, float(good.max()) if good.size else 1.0)
    ranked = np.nan_to_num(finals if maximize else -finals, nan=-np.inf)
    order = np.argsort(ranked, kind="stable")  # the best drawn last
    for k, value in enumerate(finals):
        styles[k]["color"] = cmap(norm(value)) if np.isfinite(value) else "lightgrey"
    return cmap, norm, order


def _plot_histories(histories, styles: list[dict], order, axes, loss_axes: dict, shown) -> None:
    """Each trial's training loss (on its loss's panel) and ``shown`` (on the last panel), in ``order``."""
    marker = "o" if max(len(h) for _, h in histories) <= 20 else None  # a one-epoch run is a point
    for k in order:
        trial, history = histories[k]
        epochs = [h["epoch"] for h in history]
        style = {**styles[k], "marker": marker, "ms": 3.5, "lw": 1.3}
        ax = loss_axes[str(trial.params.get("loss", ""))] if len(loss_axes) > 1 else axes[0]
        ax.plot(epochs, [h["train_loss"] for h in history], **style)
        if shown and shown in history[0]:
            axes[-1].plot(epochs, [h[shown] for h in history], **style)


def _legends_beside(fig, ax, legends) -> None:
    """:func:`curve_styles`'s legends to the right of ``ax``, one under the other."""
    from matplotlib.lines import Line2D

    anchor_y = 1.0
    for title, entries in legends:
        handles = [Line2D([], [], lw=1.5, **style) for _, style in entries]
        legend = ax.legend(
            handles,
            [label for label, _ in entries],
            title=title,
            loc="upper left",
            bbox_to_anchor=(1.04, anchor_y),
            fontsize=8,
            title_fontsize=8.5,
            frameon=False,
        )
        ax.add_artist(legend)
        renderer = fig.canvas.get_renderer()
        box = legend.get_window_extent(renderer).transformed(ax.transAxes.inverted())
        anchor_y = box.y0 - 0.04  # the next legend under this one


def _curves_legend_says(mode: str, legends) -> str:
    """What a line's colour and style mean, for the title of ``curves.png``."""
    if mode == "factors":
        return " and ".join(
            f"{'colour' if k == 0 else 'line style'} per {title}" for k, (title, _) in enumerate(legends)
        )
    return {"trial": "one colour per trial", MANY: "coloured by the result"}.get(mode, "one trial")


def run_file(trial, sweep_dir: Path, name: str) -> Path | None:
    """The file ``name`` of the trial's run, if there is one: in the run folder as recorded (relative
    to the folder the sweep ran in), else in the folder of that name under ``SWEEP_DIR/runs`` (a
    report drawn again from another folder)."""
    recorded = trial.user_attrs.get("folder")
    if not recorded:  # no run of its own: it failed before training
        return None
    for path in (Path(recorded) / name, sweep_dir / "runs" / Path(recorded).name / name):
        if path.is_file():
            return path
    return None


def _label(trial, varying) -> str:
    """A trial in a legend: its run's name (every swept option, short), else its parameters."""
    name = trial.user_attrs.get("run_name")
    if name:
        return f"#{trial.number} {name}"
    return ", ".join(f"{k}={trial.params[k]}" for k in varying if k in trial.params) or f"#{trial.number}"


def _batch_loss_figure(trials, varying, folder: Path) -> None:
    """Runs with ``--log_every``: their within-epoch training loss against the mini-batch count."""
    import csv

    from tracking.figure import fit_to_contents, new_figure
    from tracking.files import save_figure

    runs = [(trial, path) for trial in trials if (path := run_file(trial, folder, "batch_loss.csv"))]
    if not runs:
        return
    fig = new_figure(12, 4.5)
    ax = fig.subplots()
    for trial, path in runs:
        with open(path) as handle:
            rows = list(csv.DictReader(handle))
        ax.plot(
            [int(r["batch"]) for r in rows],
            [float(r["batch_loss"]) for r in rows],
            lw=0.8,
            label=_label(trial, varying),
        )
    ax.set(
        xlabel="mini-batch",
        ylabel="training loss of the mini-batch",
        yscale="log",
        title="training loss within epochs (--log_every)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)  # beside: no point hidden
    fig.subplots_adjust(left=0.07, right=0.75, bottom=0.12, top=0.9)
    save_figure(fit_to_contents(fig), folder / "batch_loss.png", dpi=100)


def _importances(study, spec, varying, trials, folder: Path) -> dict:
    """Optuna's importances of the parameters that moved, written with each numeric parameter's
    correlation (as in ``correlations.csv``: of the logarithm for a log-uniform one)."""
    import optuna

    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    moving = [k for k in varying if len({str(t.params.get(k)) for t in complete}) > 1]
    if len(complete) < 3 or not moving:
        return {}
    importance = optuna.importance.get_param_importances(study, params=moving)
    rows = []
    for name, weight in importance.items():
        corr = panels.numeric_correlation(spec.parameters[name], complete)
        rows.append(f"{name},{weight:.4f}," + ("" if corr is None else f"{corr:.3f}"))
    from tracking.files import write_text

    write_text(folder / "importance.csv", "parameter,importance,correlation_with_metric\n" + "\n".join(rows) + "\n")
    return importance


def _write_trials_csv(trials, path: Path) -> None:
    import csv
    import io

    from tracking.files import write_text

    params = list(dict.fromkeys(k for t in trials for k in t.params))
    attrs = list(dict.fromkeys(k for t in trials for k in t.user_attrs))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["number", "state", "value", "last_reported_epoch", *params, *attrs])
    for t in trials:
        last = max(t.intermediate_values) if t.intermediate_values else ""
        writer.writerow(
            [t.number, t.state.name.lower(), "" if t.value is None else t.value, last]
            + [t.params.get(k, "") for k in params]
            + [t.user_attrs.get(k, "") for k in attrs]
        )
    write_text(path, buffer.getvalue())  # whole or not at all


TOP = 3  # the top configurations report.md and the console list (questions 8 and 10 ask for three)
FEW_FOR_IMPORTANCE = 20  # below this, importances are mostly noise


def ranked_configurations(study, spec, fixed: dict, trials, folder: Path) -> list[dict]:
    """Every complete trial (a repeated configuration once), best first by the sweep's metric, with
    its whole configuration (the run folder's ``config.json`` when it is here, else rebuilt from
    the shared options and the trial's parameters) and the commands that train it again, both with
    the data options the sweep ran with (:func:`data_options`)."""
    import optuna

    complete = [
        t
        for t in trials
        if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None and "duplicate_of" not in t.user_attrs
    ]
    complete.sort(key=lambda t: t.value, reverse=spec.direction == "maximize")
    varying = spec.varying
    constants = spec.constants
    ranked = []
    for rank, t in enumerate(complete, start=1):
        path = run_file(t, folder, "config.json")
        config = json.loads(path.read_text()) if path else presets.resolve({**fixed, **constants, **t.params}).flat()
        ranked.append(
            {
                "rank": rank,
                "trial": t.number,
                spec.metric: t.value,
                "run_name": t.user_attrs.get("run_name", ""),
                "test_accuracy": t.user_attrs.get("test_accuracy"),
                "config": config,
                "command": best_command(config, varying, fixed),
                "from_sweep_command": from_sweep_command(folder, rank, fixed),
            }
        )
    return ranked


def fail_reasons(trials) -> list[tuple[int, str, str]]:
    """``(number, run name, reason)`` of every failed trial: the reason it recorded, or, for one
    whose worker went silent or was interrupted, that and the trial that runs it again."""
    import optuna

    again = retries(trials)
    found = []
    for t in trials:
        if t.state != optuna.trial.TrialState.FAIL:
            continue
        reason = t.user_attrs.get("fail_reason")
        if reason is None:
            reason = "its worker stopped (killed, interrupted, or silent past the heartbeat); " + (
                f"run again as trial {again[t.number]}"
                if t.number in again
                else "not queued again yet (a worker that starts or is free queues it once it is stale)"
            )
        found.append((t.number, t.user_attrs.get("run_name", ""), reason))
    return found


def _figure_link(folder: Path, name: str, caption: str) -> list[str]:
    """report.md's link to a figure beside it (a relative link: the folder moves as a whole)."""
    return [f"![{caption}]({name})", ""] if (folder / name).is_file() else []


def write(study, spec, fixed: dict, folder: Path, say) -> None:
    """The sweep's report in ``folder``: report.md (tables with their figures), trials.csv, best.json,
    top.json (the ranked complete trials, for ``train.py --from_sweep``), the figures and CSV files."""
    from tracking.files import write_text

    folder.mkdir(parents=True, exist_ok=True)
    drawn = (
        "parallel_coordinates.png",
        "param_importances.png",
        "curves.png",
        "metric_vs_created.png",
        "batch_loss.png",
    )
    for stale in (*drawn, "importance.csv"):
        (folder / stale).unlink(missing_ok=True)  # drawn again below, or not at all: never last time's
    trials = study.get_trials(deepcopy=False)
    counts = _state_counts(trials)
    say(f"\n{len(trials)} trials: {counts}")
    _write_trials_csv(trials, folder / "trials.csv")
    shared = shared_options(spec, fixed)
    shared_line = "Every trial: " + (", ".join(f"{k}={v}" for k, v in shared.items()) or "nothing fixed") + "."
    table = _best_trials_table(spec, trials)
    say(shared_line)
    say(table)
    failures = fail_reasons(trials)
    for number, name, reason in failures:
        say(f"trial {number} failed{f' ({name})' if name else ''}: {reason}")
    ranked = ranked_configurations(study, spec, fixed, trials, folder)
    _write_top(spec, ranked, folder, say)
    correlation = panels.write(spec, trials, folder, say)
    _figures(study, spec, folder, trials, say)
    study_note = f" (study {study.study_name})" if study.study_name != spec.name else ""
    lines = [
        f"# {sweep_title(spec.name, capital=True)}{study_note}",  # "Sweep NAME", or "Sweep" for sweep.yaml
        "",
        f"Engine: {spec.engine}. Trials: {len(trials)} ({counts}).",
        "",
        shared_line,
        "",
        "## Best trials",
        "",
        table,
        "",
        *_figure_link(folder, "curves.png", "every trial's training loss and metric per epoch"),
    ]
    lines += _top_section(spec, ranked) + _failures_section(failures)
    lines += _search_section(spec, trials, correlation, folder)
    write_text(folder / "report.md", "\n".join(lines).rstrip() + "\n")
    say(f"results: {folder}")


def _state_counts(trials) -> str:
    """``1 complete, 2 pruned``: how many trials ended in each state, states in alphabetical order."""
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(states.items()))


def _best_trials_table(spec, trials) -> str:
    """The ten best trials that ended, complete or pruned (pruned ones at their last value; a repeated
    configuration once), as a Markdown table of their scores, state, swept values and run. A trial still
    running, or failed, is not ranked by the value it reported before it stopped (failed ones are listed
    with their reasons below the table)."""
    import optuna

    ended = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    scored = [
        t for t in trials if t.state in ended and last_value(t) is not None and "duplicate_of" not in t.user_attrs
    ]
    sign = 1.0 if spec.direction == "maximize" else -1.0
    scored.sort(key=lambda t: sign * last_value(t), reverse=True)
    varying = spec.varying
    headers = ["#", spec.metric, "state", "epochs run", "test_acc", *varying, "run"]
    rows = [
        [
            t.number,
            _fmt(last_value(t)),
            t.state.name.lower(),
            t.user_attrs.get("epochs_completed", ""),
            _fmt(t.user_attrs.get("test_accuracy", "")),
            *[t.params.get(k, "") for k in varying],
            t.user_attrs.get("run_name", ""),
        ]
        for t in scored[:10]
    ]
    return _table(rows, headers)


def _write_top(spec, ranked: list[dict], folder: Path, say) -> None:
    """top.json (every ranked configuration) and best.json (the first; none without one), and the
    best :data:`TOP` on the console."""
    from tracking.files import write_json

    write_json(folder / "top.json", {"metric": spec.metric, "goal": spec.goal, "configurations": ranked})
    if not ranked:
        (folder / "best.json").unlink(missing_ok=True)
        return
    best = ranked[0]
    write_json(
        folder / "best.json",
        {
            "trial": best["trial"],
            spec.metric: best[spec.metric],
            "config": best["config"],
            "command": best["command"],
        },
    )
    say(f"\nbest: trial {best['trial']}, {spec.metric} {best[spec.metric]:.4f}\n{best['command']}")
    for entry in ranked[1:TOP]:
        value = f"{spec.metric} {entry[spec.metric]:.4f}"
        say(f"rank {entry['rank']}: trial {entry['trial']}, {value}: {entry['from_sweep_command']}")


def _top_section(spec, ranked: list[dict]) -> list[str]:
    """report.md's top :data:`TOP` configurations, each with the two commands that train it again."""
    if not ranked:
        return []
    lines = [f"## Top {min(TOP, len(ranked))} configurations", ""]
    lines += [f"Ranked by {spec.metric} among the complete trials; each trains again with either command.", ""]
    for entry in ranked[:TOP]:
        test = entry["test_accuracy"]
        lines += [
            f"{entry['rank']}. Trial {entry['trial']}, {spec.metric} {entry[spec.metric]:.4f}"
            + (f", test accuracy {test:.4f}" if isinstance(test, float) else "")
            + (f" ({entry['run_name']})" if entry["run_name"] else ""),
            "",
            "    ```",
            f"    {entry['from_sweep_command']}",
            f"    {entry['command']}",
            "    ```",
            "",
        ]
    return lines


def _failures_section(failures) -> list[str]:
    """report.md's table of the failed trials and why each failed (none when no trial failed)."""
    if not failures:
        return []
    lines = ["## Failed trials", "", "| # | run | reason |", "|---|---|---|"]
    lines += [f"| {n} | {name} | {reason.replace('|', '/')} |" for n, name, reason in failures]
    return [*lines, ""]


def _search_section(spec, trials, correlation: list[str], folder: Path) -> list[str]:
    """report.md's "What the search found": the figures drawn (a warning above importances from few
    runs) and the correlation table."""
    lines = ["## What the search found", ""]
    lines += _figure_link(folder, "parallel_coordinates.png", "parallel coordinates")
    if (folder / "param_importances.png").is_file():
        n_runs = len(panels.runs_with_metric(trials))
        if n_runs < FEW_FOR_IMPORTANCE:
            lines += [
                f"> **Few runs:** these importances come from {n_runs} runs; below about {FEW_FOR_IMPORTANCE} "
                "they change from one sweep to the next. Read them as a hint.",
                "",
            ]
        lines += _figure_link(folder, "param_importances.png", "parameter importances")
    lines += _figure_link(folder, "metric_vs_created.png", f"{spec.metric} against the time each run started")
    lines += [*correlation, ""] if correlation else []
    lines += _figure_link(folder, "batch_loss.png", "training loss within epochs")
    return lines
