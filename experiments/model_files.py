"""Saved models -> metrics on a test set; several models -> their ensemble beside each member.

A model file carries what it needs (task, classes, data set, the preprocessing fitted when
it was trained; see ``experiments.lifecycle.model_metadata``), so each member sees the raw test
images through its own preprocessing. The ensemble's prediction is the mean of the members'
softmax outputs (of a one-unit ``binary_cross_entropy`` model, ``[1 - p, p]`` with ``p`` its sigmoid: the
softmax of its class logits ``[0, z]``, :func:`nn.losses.class_logits`). Metrics come from :mod:`nn.metrics`
(checked there against scikit-learn's): accuracy, per-class precision, recall and F1, macro F1; the loss is
the cross-entropy of the (mean) probabilities. With ``fgsm_eps`` each member and the ensemble are also
attacked (white box): FGSM in [0, 1] pixel space along the gradient of their own cross-entropy (for the ensemble, of
``-log mean_m p_m[y]``, whose pixel gradient sums the members' through their preprocessing).
"""

from __future__ import annotations

import hashlib
import math
import re
import reprlib
from pathlib import Path

import numpy as np

import datasets
import nn
from nn import metrics
from nn.tasks import Task

from .errors import ConfigError
from .plugins.adversarial import PIXEL_MAX, PixelSpace
from .plugins.titles import dataset_title


class EvaluationError(ConfigError):
    """Models that cannot be evaluated together or on this data set: one line, exit 2."""


FIELDS: dict[str, tuple[type, ...]] = {"dataset": (str,), "n_features": (int,), "class_names": (list,)}
"""The metadata fields every saved model has besides ``task`` and ``preprocessing``, and their JSON types."""
OPTIONAL_FIELDS: dict[str, tuple[type, ...]] = {
    "image_shape": (list, type(None)),
    "pixels": (bool,),
    "config": (dict,),
    "loss": (str,),
}


def _field_error(path, key: str, why: str) -> EvaluationError:
    return EvaluationError(f"{path}: metadata.{key} {why}")


def checked_metadata(path, model) -> dict:
    """``model.metadata``, checked before any use: the fields evaluate.py reads are there, of their JSON
    types, and fit the network (its inputs, its outputs); an :class:`EvaluationError` naming the file and
    the field otherwise. The preprocessing is checked by :meth:`datasets.Preprocessing.from_dict`."""
    meta = model.metadata
    if not isinstance(meta, dict) or meta.get("task") not in tuple(Task) or "preprocessing" not in meta:
        raise EvaluationError(f"{path}: not a model saved by train.py --save_model")
    missing = [key for key in FIELDS if key not in meta]
    if missing:
        raise _field_error(path, missing[0], "is missing")
    for key, kinds in {**FIELDS, **OPTIONAL_FIELDS}.items():
        value = meta.get(key)
        if key in meta and not (isinstance(value, kinds) and isinstance(value, bool) == (bool in kinds)):
            raise _field_error(path, key, f"has the wrong type: {reprlib.repr(value)}")
    if not (datasets.is_data_file(meta["dataset"]) or meta["dataset"] in datasets.names()):
        raise _field_error(path, "dataset", f"{meta['dataset']!r} is neither a data file nor a built-in data set")
    _check_classes(path, meta, Task(meta["task"]), _check_inputs(path, meta, model))
    return meta


def _check_inputs(path, meta: dict, model) -> tuple[int, ...]:
    """The network's output shape for the ``n_features`` inputs the metadata declares (and its ``image_shape``
    holds); :class:`EvaluationError` if the network does not take them."""
    n_features, shape = meta["n_features"], meta.get("image_shape")
    try:
        if n_features < 1:
            raise ValueError("a model takes at least one input")
        outputs = model.output_shape(n_features)
    except ValueError as error:
        raise _field_error(path, "n_features", f"is {n_features}, which the network does not take: {error}") from None
    if shape is not None and not (
        all(isinstance(side, int) and side > 0 for side in shape) and math.prod(shape) == n_features
    ):
        raise _field_error(path, "image_shape", f"{reprlib.repr(shape)} does not hold the {n_features} inputs")
    return outputs


def _check_classes(path, meta: dict, task: Task, outputs: tuple[int, ...]) -> None:
    """A classifier's ``class_names``: distinct names, one per output of the network (a ``binary_cross_entropy``
    model, by its ``loss``: two names for its one sigmoid output); none for regression."""
    names = meta["class_names"]
    if not task.classifies:
        if names:
            raise _field_error(path, "class_names", "names classes, but the model is a regression")
        return
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names) or len(names) < 2:
        raise _field_error(path, "class_names", f"must be two or more distinct names, not {reprlib.repr(names)}")
    try:
        loss = nn.losses.get(meta.get("loss", "cross_entropy"))
    except ValueError as error:
        raise _field_error(path, "loss", f"is not a loss of this program ({error})") from None
    try:
        units = loss.units(len(names))
    except ValueError as error:
        raise _field_error(path, "loss", f"does not fit the {len(names)} class names: {error}") from None
    if outputs != (units,):
        for_units = "" if units == len(names) else f" for {units} output of {meta['loss']}"
        raise _field_error(
            path, "class_names", f"has {len(names)} names{for_units}; the network has {outputs[-1]} outputs"
        )


class Member:
    """One saved model. ``pixels``: it was trained on 8-bit images (a built-in image set or an image
    file of uint8), so it is fed pixels in [0, 1] and can be attacked there (FGSM); any other model is
    fed its data's raw values (a table's cells, a file's arrays) through its own preprocessing."""

    def __init__(self, path, model):
        self.path, self.model, self.meta = Path(path), model, checked_metadata(path, model)
        self.task = Task(self.meta["task"])
        try:
            self.prep = datasets.Preprocessing.from_dict(self.meta["preprocessing"], self.meta["n_features"])
        except ValueError as error:
            raise EvaluationError(f"{path}: metadata.{error}") from None
        self.space = PixelSpace(self.prep)
        self.pixels = bool(self.meta.get("image_shape")) and self.meta.get("pixels", True)

    def to_model(self, inputs) -> np.ndarray:
        if self.pixels:
            return self.space.to_model(inputs)
        if self.prep.encoding is not None:
            return self.prep.prepare(inputs)
        return self.prep.apply(np.array(inputs, dtype=np.float32))

    def outputs(self, inputs) -> np.ndarray:
        return self.model.predict(self.to_model(inputs)).astype(np.float64)

    def probabilities(self, inputs) -> np.ndarray:
        """One column per class: the softmax of the class logits (a sigmoid unit's ``z`` as ``[0, z]``)."""
        return nn.softmax(nn.losses.class_logits(self.outputs(inputs)))

    def pixel_gradient(self, pixels, doutputs_of) -> np.ndarray:
        """``dL/dp`` for a loss whose gradient w.r.t. this member's class logits is ``doutputs_of(p_member)``
        (carried to a sigmoid unit's ``z`` by :func:`nn.losses.class_logits_gradient`)."""
        x = self.model.as_input(self.space.to_model(pixels))
        outputs = self.model.forward(x).astype(np.float64)
        doutputs = nn.losses.class_logits_gradient(doutputs_of(nn.softmax(nn.losses.class_logits(outputs))), outputs)
        grad_z = self.model.backward(doutputs.astype(x.dtype), need_input_grad=True)
        return self.space.pixel_gradient(grad_z)


def load_members(paths) -> list[Member]:
    members = []
    for path in paths:
        try:
            model = nn.Sequential.load(path)
        except nn.ModelFileError as error:
            raise EvaluationError(str(error)) from None
        members.append(Member(path, model))
    first = members[0]
    for member in members[1:]:
        for key in ("task", "dataset", "class_names", "n_features"):
            if member.meta[key] != first.meta[key]:
                raise EvaluationError(
                    f"{member.path} and {first.path} disagree on {key}: {member.meta[key]!r} vs {first.meta[key]!r}"
                )
    return members


def test_set(
    member: Member, dataset: str, data_dir, all_rows: bool = False, notes: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets)`` of ``dataset``'s test set (every row with ``all_rows``), as ``member`` takes
    them: pixels in [0, 1], or raw values; class targets are indices into the model's classes. What a
    user should know about the rows (a table's categories the model never saw) is added to ``notes``."""
    meta = member.meta
    if datasets.is_data_file(dataset):
        return _file_test_set(member, dataset, all_rows, [] if notes is None else notes)
    if all_rows:
        raise EvaluationError("--all_rows is for data files; a built-in data set is tested on its test set")
    made_for = meta["dataset"]
    if dataset != made_for:
        raise EvaluationError(f"{member.path} was trained on {made_for}, not {dataset}")
    raw = datasets.load(dataset, data_dir, val_fraction=0.0, scaling="none")
    inputs = raw.x_test.astype(np.float64) / PIXEL_MAX if member.pixels else raw.x_test
    if inputs.shape[1] != meta["n_features"]:
        raise EvaluationError(f"{dataset} has {inputs.shape[1]} inputs; the models take {meta['n_features']}")
    return inputs, raw.y_test


def _color(meta: dict) -> str:
    """The colour an image folder is read in for a saved model: its own ``--color``, or with ``auto`` the
    one it was trained in (a grey folder tested by an RGB model is read as RGB, as Keras'
    ``color_mode="rgb"`` reads it)."""
    color, shape = meta.get("config", {}).get("color", "auto"), meta.get("image_shape")
    if color != "auto" or not shape:
        return color
    return "rgb" if len(shape) == 3 and shape[-1] == 3 else "grey" if len(shape) == 2 else color


def _file_test_set(member: Member, path: str, all_rows: bool, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    meta, config = member.meta, member.meta.get("config", {})
    encoding = member.prep.encoding
    try:
        file = datasets.read_file(path, config.get("target"), meta["task"], config.get("image_size"), _color(meta))
        if file.is_table and encoding is not None:
            file.require_numbers(name for name, numeric in zip(encoding.columns, encoding.numeric) if numeric)
    except datasets.DataFileError as error:
        raise EvaluationError(str(error)) from None
    if all_rows:
        x, labels = file.x, file.labels
        if file.x_test is not None and file.labels_test is not None:
            x, labels = np.concatenate([x, file.x_test]), np.concatenate([labels, file.labels_test])
    else:
        _, _, x, labels, _ = file.split()
    if file.is_table != (encoding is not None):
        kind = "a table" if file.is_table else "arrays"
        raise EvaluationError(f"{path}: holds {kind}; {member.path} was not trained on {kind}")
    if encoding is not None:
        assert file.columns is not None
        try:
            x = encoding.reorder(file.columns, x, path)
        except ValueError as error:
            raise EvaluationError(str(error)) from None
        notes += [
            f"{path}: column {name!r}: {count} of {len(x)} rows hold a category the model never saw (e.g. "
            f"{example!r}), encoded as none of its categories"
            for name, (count, example) in encoding.unseen(x).items()
        ]
    else:
        x = x.reshape(len(x), -1)
        if x.shape[1] != meta["n_features"]:
            raise EvaluationError(f"{path} has {x.shape[1]} inputs per row; {member.path} takes {meta['n_features']}")
        x = x.astype(np.float64) / PIXEL_MAX if member.pixels else x
    if not member.task.classifies:
        return x, labels.reshape(len(labels), -1)
    known = {name: k for k, name in enumerate(meta["class_names"])}
    unknown = sorted(set(file.class_names) - set(known))
    if unknown:
        raise EvaluationError(f"{path}: classes the model does not know: {', '.join(unknown[:10])}")
    index = np.array([known[name] for name in file.class_names], dtype=np.int64)
    return x, index[labels]


def majority_vote(member_probabilities) -> np.ndarray:
    """Each example's most voted class (each member votes its arg-max); a tie goes to the tied class
    with the highest mean probability."""
    stacked = np.asarray(member_probabilities)
    votes = np.zeros(stacked.shape[1:])
    np.add.at(votes, (np.arange(stacked.shape[1])[None, :], stacked.argmax(axis=2)), 1.0)
    most = votes == votes.max(axis=1, keepdims=True)
    return np.where(most, stacked.mean(axis=0), -np.inf).argmax(axis=1)


def vote_scores(y, member_probabilities, class_names) -> dict:
    predictions = majority_vote(member_probabilities)
    counts = metrics.confusion_counts(y, predictions, len(class_names))
    return {"accuracy": metrics.accuracy(y, predictions), "macro_f1": metrics.macro_f1(counts)}


def disagreement(y, member_probabilities, class_names) -> dict:
    """Where the members' predictions differ: the share of test examples they do not all agree on, that
    share per true class, and for each pair of members the share on which the two differ."""
    predictions = np.asarray([p.argmax(axis=1) for p in member_probabilities])
    split = (predictions != predictions[0]).any(axis=0)
    by_class = {name: float(split[y == k].mean()) if (y == k).any() else 0.0 for k, name in enumerate(class_names)}
    pairwise = [[float((a != b).mean()) for b in predictions] for a in predictions]
    return {"fraction": float(split.mean()), "by_class": by_class, "pairwise": pairwise}


def regression_scores(y, predictions) -> dict:
    return {
        "rmse": metrics.rmse(y, predictions),
        "mae": metrics.mae(y, predictions),
        "r2": metrics.r2(y, predictions),
    }


def scores(y, probabilities, class_names) -> dict:
    predictions = probabilities.argmax(axis=1)
    counts = metrics.confusion_counts(y, predictions, len(class_names))
    precision, recall, f1, support = metrics.precision_recall_f1(counts)
    return {
        "accuracy": metrics.accuracy(y, predictions),
        "loss": metrics.log_loss(y, probabilities),
        "macro_f1": metrics.macro_f1(counts),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
        },
    }


def fgsm_pixels(members, pixels, y, eps) -> np.ndarray:
    """FGSM against the mean-softmax ensemble of ``members`` (one member: that model)."""
    mean_true = np.mean([m.probabilities(pixels)[np.arange(len(y)), y] for m in members], axis=0)
    onehot = np.eye(len(members[0].meta["class_names"]))[y]

    def doutputs_of(p):  # d(-log mean_m p_m[y]) / d z_member = -(1 / (M pbar_y)) p[y] (e_y - p)
        return -(p[np.arange(len(y)), y] / (len(members) * mean_true))[:, None] * (onehot - p)

    gradient = sum(m.pixel_gradient(pixels, doutputs_of) for m in members)
    return np.clip(pixels + eps * np.sign(gradient), 0.0, 1.0)


def model_label(path) -> str:
    """A short name for the model file ``path``: its stem, or for a ``model.npz`` (every run saves one under
    that name) the name of the run folder holding it."""
    path = Path(path)
    if path.stem == "model":
        folder = path.resolve().parent.name
        return folder or path.stem
    return path.stem


def safe_file_name(text: str, limit: int = 120) -> str:
    """``text`` as one plain file name: only letters, digits, ``.``, ``_`` and ``-`` (anything else
    becomes ``_``), no leading dot, at most ``limit`` characters; never empty, never a path."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).lstrip("._-")[:limit]
    return name or "model"


def confusion_file_name(paths) -> str:
    """The name of the confusion-matrix PNG ``evaluate.py`` writes for the model files ``paths``:
    ``<model>_confusion_matrix.png`` for one (see :func:`model_label`), and for several
    ``ensemble_of_<n>_<hash>_confusion_matrix.png``, the hash of the set of their resolved paths, so
    another set of members never overwrites it."""
    paths = [Path(p) for p in paths]
    if len(paths) == 1:
        return f"{safe_file_name(model_label(paths[0]))}_confusion_matrix.png"
    members = "\n".join(sorted(str(p.resolve()) for p in paths))
    digest = hashlib.sha1(members.encode()).hexdigest()[:8]
    return f"ensemble_of_{len(paths)}_{digest}_confusion_matrix.png"


def per_class_table(per_class: dict) -> list[str]:
    """The lines of a compact table of ``per_class`` (class -> precision, recall, f1, support), as
    ``report`` gives it: one row per class, four decimals."""
    width = max([len("class"), *(len(str(name)) for name in per_class)])
    lines = [f"{'class':<{width}}  precision  recall      F1  support"]
    for name, row in per_class.items():
        lines.append(
            f"{name!s:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:6.4f}  {row['support']:7d}"
        )
    return lines


def report(
    paths,
    dataset=None,
    data_dir=None,
    fgsm_eps: float = 0.0,
    output_dir=None,
    all_rows=False,
    figure_name: str = "confusion_matrix.png",
) -> dict:
    """Every member's scores, and with several their ensemble's (``report["ensemble"]``); the top-level
    keys repeat the ensemble's (or the one model's). With ``output_dir``, a classification's confusion
    matrix is drawn there as ``figure_name`` (a plain file name: see :func:`confusion_file_name`)."""
    members = load_members(paths)
    first = members[0]
    dataset = dataset or first.meta["dataset"]
    notes: list[str] = []
    inputs, y = test_set(first, dataset, data_dir, all_rows, notes)
    task, names = first.task, first.meta["class_names"]
    if fgsm_eps and not (task.classifies and all(m.pixels for m in members)):
        raise EvaluationError("--fgsm_eps attacks pixels: it needs models of 8-bit images")
    outputs = [m.probabilities(inputs) if task.classifies else m.outputs(inputs) for m in members]  # once each
    groups = [("member", [k]) for k in range(len(members))]
    groups += [("ensemble", list(range(len(members))))] if len(members) > 1 else []
    report: dict = {"dataset": dataset, "task": task, "n_test": len(y), "members": [], "notes": notes}
    for kind, group in groups:
        entry: dict = {"model": str(members[group[0]].path) if kind == "member" else f"ensemble of {len(group)}"}
        mean = np.mean([outputs[k] for k in group], axis=0)
        entry.update(scores(y, mean, names) if task.classifies else regression_scores(y, mean))
        if fgsm_eps:
            chosen = [members[k] for k in group]
            attacked = fgsm_pixels(chosen, inputs, y, fgsm_eps)
            attacked_mean = np.mean([m.probabilities(attacked) for m in chosen], axis=0)
            entry["accuracy_fgsm"] = metrics.accuracy(y, attacked_mean.argmax(axis=1))
        if kind == "member":
            report["members"].append(entry)
        else:
            report["ensemble"] = entry
    if task.classifies and len(members) > 1:
        report["vote"] = {"model": f"majority vote of {len(members)}", **vote_scores(y, outputs, names)}
        report["disagreement"] = disagreement(y, outputs, names)
    top = report.get("ensemble", report["members"][0])
    report.update({k: v for k, v in top.items() if k != "model"})
    if fgsm_eps:
        report["fgsm_eps"] = fgsm_eps
    if output_dir is not None and task.classifies:
        from tracking import plots

        folder = Path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_file_name(Path(figure_name).name)
        counts = metrics.confusion_counts(y, mean.argmax(axis=1), len(names))
        shown = model_label(paths[0]) if len(members) == 1 else top["model"]
        report["confusion_matrix_png"] = str(
            plots.confusion_figure(counts, names, target, title=f"{dataset_title(dataset)} test set, {shown}")
        )
    return report
