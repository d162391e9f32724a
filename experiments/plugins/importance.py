"""``--importance N``: which input features the trained network relies on, by permutation importance
(Breiman 2001; scikit-learn's :func:`sklearn.inspection.permutation_importance`), for tabular data.

After training, the network's score ``s`` on the **test split** is its task's primary metric
(:attr:`nn.tasks.Task.primary_metric`): the accuracy for classification, the negative RMSE for
regression (so that larger is better for both). One feature ``j``'s rows are shuffled, the others
kept, and the score taken again; ``N`` times, the shuffles drawn one after another::

    drop_{j,r} = s(X) - s(X with column j shuffled, shuffle r)       r = 1 .. N
    mean_j = (1/N) Σ_r drop_{j,r}        std_j = sqrt((1/N) Σ_r (drop_{j,r} - mean_j)²)

A drop near 0 means the network ignores the feature (on these data); a large one that it needs it.
For regression the drop is the rise of the test RMSE, in the target's units.

The test split, not the validation one: importance describes the trained network on data it was
neither fitted nor chosen on (the validation split may have picked the best epoch), and the test
split always exists (``--val_fraction 0`` leaves no validation split). Nothing is chosen from it.

Features are the columns of the data as read: the one-hot columns of one categorical CSV column
(:class:`datasets.tables.TableEncoding`) are shuffled together, with the same row order, so the
column counts as one feature named as in the file; a numeric column is one input column. Names: a
CSV file's header, the names scikit-learn gives its bundled sets (``mean radius``), ``x0, x1 ...``
otherwise. A single-column feature gets exactly scikit-learn's numbers: the same random scheme
(``random_state`` = the run's ``--seed``, one ``RandomState`` of the same derived seed per feature,
its index vector shuffled in place ``N`` times) applied to a group of columns at once
(:func:`permutation_drops`; ``tests/test_importance.py`` compares with scikit-learn).

Writes ``importance.csv`` (rank, feature, mean_drop, std, input_columns), ``importance.png`` (the 20
largest, error bars one std), the W&B table ``permutation_importance``, and the summary keys
``importance/top_feature``, ``importance/top_drop``, ``importance/baseline`` (the unshuffled test accuracy or RMSE)
and ``importance_drop/<feature>`` for each feature when there are at most :data:`MAX_SUMMARY_KEYS`.
Image data sets are refused (their columns are pixels: see ``--plots``' saliency maps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import numpy as np

from nn import losses, metrics

from ..errors import ConfigError
from ..options import option
from ..plugin import Changes, Plugin, Priority

TOP = 20  # features in the figure
MAX_SUMMARY_KEYS = 50  # importance_drop/<feature> keys, for tables of at most this many features
LONGEST_LABEL = 40  # characters of a feature's name in the figure


@dataclass(frozen=True)
class ImportanceConfig:
    title = "Feature importance"
    importance: int = option(
        0,
        "--importance",
        type=click.IntRange(min=0),
        help="After training, the permutation importance of each input feature (tabular data only): the drop "
        "of the test accuracy (rise of the test RMSE) when that column is shuffled, N shuffles per feature "
        "(10 is usual; one-hot columns of a CSV column shuffled together): importance.csv, importance.png. 0: off.",
    )


class NetworkEstimator:
    """A trained network as a fitted scikit-learn estimator: ``fit`` does nothing, ``predict`` gives class
    ids (the largest output) or values, ``score`` the task's primary metric with larger better: the
    accuracy, or the negative RMSE (:mod:`nn.metrics`)."""

    def __init__(self, model, classifies: bool):
        self.model, self.classifies = model, classifies

    def fit(self, x=None, y=None) -> NetworkEstimator:
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        outputs = self.model.predict(x)
        return losses.predicted_classes(outputs) if self.classifies else outputs  # one sigmoid unit too

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        predicted = self.predict(x)
        return metrics.accuracy(y, predicted) if self.classifies else -metrics.rmse(y, predicted)


def permutation_drops(
    score: Callable[[np.ndarray, np.ndarray], float],
    x: np.ndarray,
    y: np.ndarray,
    groups: list[list[int]],
    n_repeats: int,
    seed: int,
) -> tuple[float, np.ndarray]:
    """``(baseline score, drops)``, ``drops[g, r] = baseline - score`` with the columns ``groups[g]`` of
    ``x`` shuffled, the same row order for all of them, shuffle ``r``. The shuffles are scikit-learn's
    (1.x): ``seed`` draws one integer ``s = RandomState(seed).randint(2**31)``; every group starts a
    ``RandomState(s)`` of its own and shuffles an index vector in place ``n_repeats`` times, each shuffle
    applied to the already shuffled columns. A group of one column is scikit-learn's
    ``permutation_importance(...).importances`` row exactly."""
    from sklearn.utils import check_random_state

    derived = check_random_state(seed).randint(np.iinfo(np.int32).max + 1)
    baseline = score(x, y)
    drops = np.empty((len(groups), n_repeats))
    shuffled = x.copy()
    for g, group in enumerate(groups):
        columns = np.asarray(group, dtype=np.intp)
        random_state = check_random_state(derived)
        order = np.arange(len(x))
        for r in range(n_repeats):
            random_state.shuffle(order)
            shuffled[:, columns] = shuffled[np.ix_(order, columns)]
            drops[g, r] = baseline - score(shuffled, y)
        shuffled[:, columns] = x[:, columns]  # back as it was, for the next group
    return baseline, drops


def feature_groups(data) -> list[tuple[str, list[int]]]:
    """``(name, its columns of the network's input)`` per feature of ``data`` (a :class:`datasets.Dataset`):
    a CSV column (its one-hot columns together), else one input column each; a feature permutation
    (``--permute_pixels``) followed to where each column went."""
    encoding = data.preprocessing.encoding
    groups: list[tuple[str, list[int]]] = []
    if encoding is not None:
        start = 0
        for column, seen in zip(encoding.columns, encoding.categories):
            width = 1 if seen is None else len(seen)
            groups.append((column, list(range(start, start + width))))
            start += width
    else:
        names = bundled_names(data) or [f"x{j}" for j in range(data.n_features)]
        groups = [(name, [j]) for j, name in enumerate(names)]
    permutation = data.preprocessing.permutation
    if permutation is not None:  # input column i holds feature permutation[i]
        where = np.argsort(permutation)
        groups = [(name, sorted(int(where[j]) for j in columns)) for name, columns in groups]
    return groups


def bundled_names(data) -> list[str] | None:
    """The feature names of a scikit-learn bundled set (``source`` ``sklearn.datasets.load_<name>``), if it
    names as many features as ``data`` has; ``None`` otherwise."""
    prefix = "sklearn.datasets."
    if not data.source.startswith(prefix + "load_"):
        return None
    import sklearn.datasets

    loader = getattr(sklearn.datasets, data.source.removeprefix(prefix), None)
    names = getattr(loader(), "feature_names", None) if callable(loader) else None
    if names is None or len(names) != data.n_features:
        return None
    return [str(name) for name in names]


def ranked(groups: list[tuple[str, list[int]]], drops: np.ndarray) -> list[dict]:
    """One row per feature, the largest mean drop first (ties: the data's column order), ranks from 1."""
    means, stds = drops.mean(axis=1), drops.std(axis=1)
    order = np.argsort(-means, kind="stable")
    return [
        {
            "rank": rank,
            "feature": groups[g][0],
            "mean_drop": float(means[g]),
            "std": float(stds[g]),
            "input_columns": len(groups[g][1]),
        }
        for rank, g in enumerate(order, start=1)
    ]


def importance_figure(rows: list[dict], path, title: str, xlabel: str) -> Path:
    """``importance.png``: horizontal bars of the :data:`TOP` first ``rows`` (already sorted), the largest
    at the top, error bars one std; the axes 4.5 inches wide, the labels given the room they take."""
    from tracking.figure import DPI, fit_to_contents, new_figure
    from tracking.files import save_figure

    shown = rows[:TOP]
    n = len(shown)
    height = 1.3 + 0.28 * n
    fig = new_figure(6.0, height)
    ax = fig.subplots()
    positions = np.arange(n)[::-1]
    ax.barh(
        positions,
        [row["mean_drop"] for row in shown],
        xerr=[row["std"] for row in shown],
        height=0.7,
        color="tab:blue",
        ecolor="black",
        capsize=3,
    )
    labels = [_short(row["feature"]) for row in shown]
    ax.set_yticks(positions, labels, fontsize=9)
    ax.set_ylim(-0.6, n - 0.4)
    ax.axvline(0.0, color="grey", lw=0.8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10, y=1.0)
    fig.subplots_adjust(left=0.2, right=0.95, bottom=0.55 / height, top=1.0 - 0.75 / height)
    save_figure(fit_to_contents(fig), path, dpi=DPI)
    return Path(path)


def _short(name: str) -> str:
    return name if len(name) <= LONGEST_LABEL else name[: LONGEST_LABEL - 1] + "…"


@dataclass
class ImportanceState:
    """The ranked features of one run (for the figure), and what its axis says."""

    rows: list[dict] = field(default_factory=list)
    xlabel: str = ""
    what: str = ""


class Importance(Plugin[ImportanceState]):
    name = "importance"
    section = ImportanceConfig
    example = {"importance": 3, "dataset": "breast_cancer"}
    changes = Changes(
        summary=("importance/top_feature", "importance/top_drop", "importance/baseline", "importance_drop/*"),
        files=("importance.csv", "importance.png"),
    )
    priority = Priority.REPORT

    def new_state(self) -> ImportanceState:
        return ImportanceState()

    def enabled(self, config):
        return config.get(ImportanceConfig).importance > 0

    def check(self, config, data):
        if data.image_shape is not None:
            raise ConfigError(
                f"--importance shuffles the columns of a table: it needs tabular data, not the images of {data.name}"
            )

    def logged_metrics(self, config):
        return ["importance/top_drop", "importance/baseline", "importance_drop/*"]

    def after_training(self, run):
        from tracking.files import write_csv_rows

        data, repeats = run.data, run.config.get(ImportanceConfig).importance
        classifies = data.task.classifies
        groups = feature_groups(data)
        estimator = NetworkEstimator(run.model, classifies)
        baseline, drops = permutation_drops(
            estimator.score, data.x_test, data.y_test, [columns for _, columns in groups], repeats, run.config.data.seed
        )
        rows = ranked(groups, drops)
        state = run.state_of(self)
        state.rows = rows
        state.what = f"permutation importance on the test set ({len(data.x_test)} rows, {repeats} shuffles per feature)"
        state.xlabel = "drop of the test accuracy" if classifies else "rise of the test RMSE"
        columns = ["rank", "feature", "mean_drop", "std", "input_columns"]
        write_csv_rows(run.folder / "importance.csv", columns, rows)
        for reporter in run.reporters:
            reporter.log_table("permutation_importance", columns, [[row[c] for c in columns] for row in rows])
        summary = {
            "importance/top_feature": rows[0]["feature"],
            "importance/top_drop": rows[0]["mean_drop"],
            "importance/baseline": baseline if classifies else -baseline,
        }
        if len(rows) <= MAX_SUMMARY_KEYS:
            summary.update({f"importance_drop/{row['feature']}": row["mean_drop"] for row in rows})
        return summary

    def figures(self, run):
        state = run.state_of(self)
        if "test" not in run.evaluations or not state.rows:
            return {}
        from .titles import run_title

        title = f"{run_title(run.config, epochs=len(run.history))}\n{state.what}"
        if len(state.rows) > TOP:
            title += f"\nthe {TOP} largest of {len(state.rows)} features"
        xlabel = f"{state.xlabel} when the feature is shuffled (mean ± std)"
        return {"importance": importance_figure(state.rows, run.folder / "importance.png", title, xlabel)}
