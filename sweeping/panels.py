"""Two of W&B's sweep panels, offline: the metric against the time each run started, and each swept
parameter's correlation with the metric (the column beside W&B's importance).

``metric_vs_created.png`` and its points, ``metric_vs_created.csv``: every run's metric against the
time it started (Optuna's ``datetime_start``), in seconds, minutes or hours since the first run
started, whichever suits the sweep's length (the first start's wall-clock time is in the axis
label). The y axis already gives the metric, so a point's colour and marker give its state:
complete, pruned (at its last reported value: in W&B a run stopped early keeps the last value it
logged) and failed (at its last reported value, or a triangle on the bottom edge when it reported
none). The step line is the running
best: the best complete run among those started so far (the largest value for a maximised metric,
the smallest for a minimised one), what ``best.json`` would have named at that time. Trials still
running or queued, and repeated configurations (which reused an earlier run's result, see
:mod:`sweeping.objective`), are left out.

``correlations.csv`` and the table of ``report.md``: Pearson's correlation of each swept parameter
with the metric, over the runs with a value (complete, and pruned at their last value; a repeated
configuration once: the runs of the parallel coordinates and importances). A parameter is

* numeric (a range, or a list of numbers): Pearson's r of its value with the metric, of the
  value's logarithm when the sweep draws it log-uniformly (``log_uniform_values``, ``log_uniform``).
  A list of numbers is taken on its own scale even when its values grow by factors (0.01, 0.001):
  the file does not say log. ``importance.csv`` shows this same r beside Optuna's importance;
* categorical otherwise (strings, booleans, per-layer size lists): one row per value taken,
  Pearson's r of its one-hot indicator (1 for the runs with that value, 0 for the others: the
  point-biserial correlation), which answers W&B's "does using sgd go with a lower loss"; and one
  row for the parameter, its correlation ratio η = sqrt(between-values sum of squares / total sum
  of squares), between 0 and 1 and unsigned: η² is the share of the metric's variance that the
  parameter's values separate.

A correlation is undefined, and left empty, with fewer than 3 runs or when the parameter (or value)
or the metric is the same in every run. It describes these runs only: a few noisy runs, and
parameters varied together, make it a hint, not a cause.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MIN_RUNS = 3  # two points always lie on a line: r = ±1 says nothing
MEASURES = {
    "pearson": "Pearson r",
    "pearson_log": "Pearson r of the log",
    "one_hot_pearson": "Pearson r, one-hot",
    "correlation_ratio": "correlation ratio η",
}


def last_value(trial) -> float | None:
    """The trial's value, or for one stopped early its last reported value (W&B's view)."""
    if trial.value is not None:
        return trial.value
    return trial.intermediate_values[max(trial.intermediate_values)] if trial.intermediate_values else None


def runs_with_metric(trials) -> list:
    """The complete and pruned trials that have a value, each configuration once."""
    import optuna

    ended = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return [t for t in trials if t.state in ended and last_value(t) is not None and "duplicate_of" not in t.user_attrs]


def running_best(values: Sequence[float | None], maximize: bool) -> list[float | None]:
    """At each position, the best of the values up to it (``None`` values skipped; ``None`` until the
    first value)."""
    best: float | None = None
    out: list[float | None] = []
    for value in values:
        if value is not None and (best is None or (value > best if maximize else value < best)):
            best = value
        out.append(best)
    return out


def created_points(trials, maximize: bool) -> list[dict]:
    """The metric-vs-created points, in order of start: ``number``, ``state`` (complete, pruned,
    fail), ``started`` (ISO time), ``elapsed_seconds`` since the first start, ``value`` (the last
    reported one for a pruned or failed run, ``None`` without any) and ``running_best`` (over the
    complete runs started so far)."""
    import optuna

    shown = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
    trials = sorted(
        (t for t in trials if t.state in shown and t.datetime_start is not None and "duplicate_of" not in t.user_attrs),
        key=lambda t: (t.datetime_start, t.number),
    )
    if not trials:
        return []
    first = trials[0].datetime_start
    complete = [t.value if t.state == optuna.trial.TrialState.COMPLETE else None for t in trials]
    return [
        {
            "number": t.number,
            "state": t.state.name.lower(),
            "started": t.datetime_start.isoformat(timespec="seconds"),
            "elapsed_seconds": (t.datetime_start - first).total_seconds(),
            "value": last_value(t),
            "running_best": best,
        }
        for t, best in zip(trials, running_best(complete, maximize))
    ]


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's r, or ``None`` when undefined (fewer than :data:`MIN_RUNS` points, or either side
    constant)."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xs) < MIN_RUNS or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return None
    return float(np.corrcoef(xs, ys)[0, 1])


def correlation_ratio(labels: Sequence, y: Sequence[float]) -> float | None:
    """η = sqrt(between-groups / total sum of squares) of ``y`` grouped by ``labels``, or ``None``
    when undefined (fewer than :data:`MIN_RUNS` points, one group only, or ``y`` constant)."""
    ys = np.asarray(y, dtype=float)
    groups: dict = {}
    for label, value in zip(labels, ys):
        groups.setdefault(label, []).append(value)
    if len(ys) < MIN_RUNS or len(groups) < 2 or np.ptp(ys) == 0:
        return None
    between = sum(len(g) * (np.mean(g) - ys.mean()) ** 2 for g in groups.values())
    return float(math.sqrt(between / np.sum((ys - ys.mean()) ** 2)))


def is_numeric(parameter) -> bool:
    """A range, or a list whose values are all numbers (booleans are categories)."""
    if parameter.kind in ("int", "float"):
        return True
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in parameter.values)


def numeric_correlation(parameter, runs) -> float | None:
    """Pearson's r of a numeric parameter (its logarithm when drawn log-uniformly) with the runs'
    metric; ``None`` for a categorical parameter or when undefined."""
    if not is_numeric(parameter):
        return None
    values, metric = taken_values(parameter.name, runs)
    return pearson([math.log(v) if parameter.log else v for v in values], metric)


def taken_values(name: str, runs) -> tuple[list, list[float]]:
    """The values of parameter ``name`` in the runs that have it, and those runs' metric."""
    having = [(t.params[name], y) for t in runs if name in t.params and (y := last_value(t)) is not None]
    return [v for v, _ in having], [y for _, y in having]


def correlations(spec, runs) -> list[dict]:
    """One row per swept numeric parameter, and per categorical parameter one row for η and one per
    value taken: ``parameter``, ``value`` (empty on a parameter's own row), ``measure`` (a key of
    :data:`MEASURES`), ``correlation`` (``None`` when undefined) and ``runs`` (how many had it)."""
    rows = []
    for name, parameter in spec.parameters.items():
        if parameter.kind == "constant":
            continue
        labels, metric = taken_values(name, runs)
        row = {"parameter": name, "value": "", "runs": len(labels)}
        if is_numeric(parameter):
            measure = "pearson_log" if parameter.log else "pearson"
            rows.append({**row, "measure": measure, "correlation": numeric_correlation(parameter, runs)})
            continue
        rows.append({**row, "measure": "correlation_ratio", "correlation": correlation_ratio(labels, metric)})
        for value in (v for v in parameter.values if v in labels):
            one_hot = [1.0 if label == value else 0.0 for label in labels]
            rows.append(
                {**row, "value": str(value), "measure": "one_hot_pearson", "correlation": pearson(one_hot, metric)}
            )
    return rows


def correlation_section(rows: list[dict], metric: str, n_runs: int) -> list[str]:
    """The ``report.md`` section: what was computed, then the table."""
    note = (
        f"Pearson's r of each swept parameter with {metric}, over the {n_runs} runs with a value (complete, "
        "and pruned ones at their last value; a repeated configuration once): numeric parameters on their "
        "value, on its logarithm where the sweep draws them log-uniformly; categorical ones per value, "
        "one-hot (1 for the runs with that value, 0 for the others), plus their correlation ratio η (0 to 1, "
        f"unsigned). Empty where undefined (fewer than {MIN_RUNS} runs, or a parameter or {metric} the same in "
        "every run). A correlation describes these runs; it does not show a cause."
    )
    table = ["| parameter | value | measure | correlation | runs |", "|---|---|---|---|---|"]
    for row in rows:
        r = row["correlation"]
        shown = "" if r is None else f"{r:.3f}" if row["measure"] == "correlation_ratio" else f"{r:+.3f}"
        table.append(f"| {row['parameter']} | {row['value']} | {MEASURES[row['measure']]} | {shown} | {row['runs']} |")
    return [f"## Correlation with {metric}", "", note, "", *table]


def write(spec, trials, folder: Path, say) -> list[str]:
    """Write ``metric_vs_created.png`` / ``.csv`` and ``correlations.csv``; return the report's
    correlation section (no lines when no parameter is swept)."""
    from sweeping.figures import metric_vs_created_figure
    from sweeping.spec import title as sweep_title
    from tracking.files import write_csv_rows

    maximize = spec.direction == "maximize"
    points = created_points(trials, maximize)
    if points:
        write_csv_rows(folder / "metric_vs_created.csv", list(points[0]), [_blank_none(p) for p in points])
        try:
            metric_vs_created_figure(
                [p["elapsed_seconds"] for p in points],
                [p["value"] for p in points],
                [p["state"] for p in points],
                [p["running_best"] for p in points],
                spec.metric,
                folder / "metric_vs_created.png",
                maximize=maximize,
                title=f"{sweep_title(spec.name, capital=True)}: {spec.metric} of each run against the time it started",
                start=points[0]["started"].replace("T", " "),
            )
        except Exception as error:  # plotting must never cost the sweep's results
            say(f"(metric vs created not drawn: {error})")
    runs = runs_with_metric(trials)
    rows = correlations(spec, runs)
    if not rows:
        return []
    fields = ["parameter", "value", "measure", "correlation", "runs"]
    write_csv_rows(folder / "correlations.csv", fields, [_blank_none(r) for r in rows])
    return correlation_section(rows, spec.metric, len(runs))


def _blank_none(row: dict) -> dict:
    return {key: "" if value is None else value for key, value in row.items()}
