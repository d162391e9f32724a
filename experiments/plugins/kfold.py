"""k-fold cross-validation (``--folds K``): one model per fold with the same configuration.

The training split (the test set stays untouched) is cut into K folds,
stratified by class for classification (:func:`datasets.kfold`); fold ``i``
trains on the other K-1 and validates on fold ``i``, its preprocessing
fitted on its own training part only. Each fold is a full run (history,
checkpoint, figures, test evaluation) in the ``fold<i>`` sub-folder of the
cross-validation's folder and, with W&B, its own W&B run (``job_type="fold"``)
in a group named after the cross-validation. The cross-validation's own run
(under ``wandb agent``: the sweep's run) gets the summary: for the task's
headline metric, ``cv_val_<metric>_mean`` and ``cv_val_<metric>_std`` over the
folds' best validation values (population standard deviation), each fold's
value beside them, and the mean test metric, so a sweep can optimise the
cross-validated score.

Its validation folds are cut from the training data, so ``--val_data FILE`` is refused (one line, exit
code 2); an NPZ's own ``x_val``/``y_val`` are left unused, and said so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import click
import numpy as np

import datasets

from ..errors import ConfigError
from ..options import option
from ..plugin import Changes, Plugin


@dataclass(frozen=True)
class CrossValidationConfig:
    title = "Cross-validation"
    folds: int = option(
        0,
        "--folds",
        type=click.IntRange(min=0),
        help="k-fold cross-validation: train one model per fold of the training set (stratified for classes) and "
        "report cv_val_<metric>_mean and _std (0 or 1: off, one hold-out split).",
    )


def fold_data(unsplit, train, val, scaling: str) -> datasets.Dataset:
    """Fold ``(train, val)`` of an unscaled (but already permuted, with ``--permute_pixels``),
    unsplit data set, its scaling fitted on ``train`` only."""
    prep = datasets.Preprocessing.fit(unsplit.x_train[train], scaling, None, per_feature=unsplit.image_shape is None)
    return dataclasses.replace(
        unsplit,
        x_train=prep.apply(unsplit.x_train[train]),
        y_train=unsplit.y_train[train],
        x_val=prep.apply(unsplit.x_train[val]),
        y_val=unsplit.y_train[val],
        x_test=prep.apply(unsplit.x_test.copy()),
        preprocessing=dataclasses.replace(prep, permutation=unsplit.preprocessing.permutation),
    )


class KFold(Plugin):
    """Runs one run per fold in place of the run, and reports the cross-validated score."""

    name = "kfold"
    example = {"folds": 2}
    changes = Changes(summary=("cv_val_*_mean", "cv_val_*_std", "fold1_val_*", "fold2_val_*"), files=("fold1", "fold2"))
    section = CrossValidationConfig
    name_slot = "last"

    def enabled(self, config):
        return config.get(CrossValidationConfig).folds > 1

    def replaces_run(self, config):
        return True

    def name_part(self, config):
        return f"_cv{config.get(CrossValidationConfig).folds}"

    def logged_metrics(self, config):
        metric = config.task.primary_metric
        folds = config.get(CrossValidationConfig).folds
        return [
            "folds",
            "folds_completed",
            f"cv_val_{metric}_mean",
            f"cv_val_{metric}_std",
            f"cv_test_{metric}_mean",
            *[f"fold{i}_val_{metric}" for i in range(1, folds + 1)],
        ]

    def run_instead(self, config, run_one, *, name, callbacks=(), group=None, tags=None, say=print, progress=True, **_):
        from tracking.local import LocalRun

        from ..session import open_trackers

        k = config.get(CrossValidationConfig).folds
        unsplit, folds = _folds(config)
        if unsplit.x_val is not None:  # an NPZ's own x_val/y_val
            say(f"note: the folds are cut from the training rows; {unsplit.val_source} is not used")
        parent = LocalRun(config.tracking.output_dir, name, config.flat())
        cv_group = group or name
        reporters = [parent, *open_trackers(config, name, group=cv_group, tags=tags, job_type="cv")]
        say(f"{name}: {k}-fold cross-validation of {len(unsplit.y_train)} training examples")
        results = []
        fold_config = config.replace(folds=0)
        try:
            for index, (train, val) in enumerate(folds, start=1):
                say(f"fold {index}/{k}: {len(train)} train / {len(val)} val")
                fold = dataclasses.replace(
                    fold_data(unsplit, train, val, config.data.scaling),
                    val_source=f"fold {index} of {k} of train ({'stratified, ' * unsplit.task.classifies}"
                    f"seed {config.data.seed})",
                )
                result = run_one(
                    fold_config,
                    data=fold,
                    callbacks=callbacks,
                    group=cv_group,
                    tags=tags,
                    say=say,
                    progress=progress,
                    fold=(index, parent.folder),
                )
                results.append(result)
                if result.status != "finished":
                    break
        except BaseException:
            for reporter in reporters:
                reporter.finish({"status": "failed"}, 1)
            raise
        return _finish(results, k, config.task.primary_metric, reporters, parent.folder, say)


def _folds(config) -> tuple[datasets.Dataset, list]:
    """The training data, unsplit and unscaled, and its ``(train, val)`` index pairs: one per fold."""
    from .. import preflight
    from ..session import load_data

    k = config.get(CrossValidationConfig).folds
    if config.data.val_data is not None:
        raise ConfigError(
            f"--folds {k} validates on folds of the training data; it takes no --val_data (drop one of the two)"
        )
    unsplit = load_data(config.replace(val_fraction=0.0, scaling="none"))
    preflight.check(config, unsplit)  # each fold's run checks again, with the plugins
    try:
        return unsplit, datasets.kfold(unsplit.y_train, k, config.data.seed, stratify=unsplit.task.classifies)
    except ValueError as error:
        raise ConfigError(f"--folds {k}: {error}") from None


def cv_summary(results: list, k: int, metric: str) -> dict[str, Any]:
    """The cross-validation's summary: the status, the folds completed and, when every fold finished,
    the mean and standard deviation of the folds' best validation ``metric`` and their mean test score."""
    status = next((r.status for r in results if r.status != "finished"), "finished")
    summary: dict[str, Any] = {
        "status": status,
        "folds": k,
        "folds_completed": sum(r.status == "finished" for r in results),
    }
    values = [r.summary[f"best_val_{metric}"] for r in results if r.status == "finished"]
    if values and status == "finished":
        summary.update(
            {
                f"cv_val_{metric}_mean": float(np.mean(values)),
                f"cv_val_{metric}_std": float(np.std(values)),
                **{f"fold{i}_val_{metric}": v for i, v in enumerate(values, start=1)},
                f"cv_test_{metric}_mean": float(np.mean([r.summary[f"test_{metric}"] for r in results])),
            }
        )
    return summary


def _finish(results: list, k: int, metric: str, reporters: list, folder, say):
    """Say the cross-validated score, close the cross-validation's reporters, say where it all is."""
    from ..session import RunResult

    summary = cv_summary(results, k, metric)
    if f"cv_val_{metric}_mean" in summary:
        say(
            f"cross-validated val_{metric}: {summary[f'cv_val_{metric}_mean']:.4f} ± "
            f"{summary[f'cv_val_{metric}_std']:.4f} over {k} folds"
        )
    exit_code = next((r.exit_code for r in results if r.exit_code), 0)
    where = [line for line in (reporter.finish(summary, exit_code) for reporter in reporters) if line]
    if any("offline" in line for line in where):  # the folds' own runs gave no hint of their own
        where.append(
            f"W&B: its {len(results)} fold runs are offline runs too; `wandb sync --sync-all` uploads them all"
        )
    for line in [f"results: {folder}", *where]:
        say(line)
    last = results[-1]
    return RunResult(
        summary["status"], [r.history for r in results], summary, folder, last.message, last.model, exit_code
    )
