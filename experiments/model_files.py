"""Saved models -> metrics on a test set; several models -> their ensemble beside each member.

A model file carries what it needs (task, classes, data set, the preprocessing fitted when
it was trained; see ``experiments.lifecycle.model_metadata``), so each member sees the raw test
images through its own preprocessing. The ensemble's prediction is the mean of the members'
softmax outputs. Metrics come from :mod:`nn.metrics` (checked there against scikit-learn's):
accuracy, per-class precision, recall and F1, macro F1; the loss is the cross-entropy of the (mean)
probabilities. With ``fgsm_eps`` each member and the ensemble are also attacked (white box): FGSM
in [0, 1] pixel space along the gradient of their own cross-entropy (for the ensemble, of
``-log mean_m p_m[y]``, whose pixel gradient sums the members' through their preprocessing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import datasets
import nn
from nn import metrics

from .plugins.adversarial import PIXEL_MAX, PixelSpace


class EvaluationError(ValueError):
    """Models that cannot be evaluated together or on this data set: one line, exit 2."""


class Member:
    def __init__(self, path, model):
        self.path, self.model, self.meta = Path(path), model, model.metadata
        self.space = PixelSpace(datasets.Preprocessing.from_dict(self.meta["preprocessing"]))

    def probabilities(self, pixels) -> np.ndarray:
        return nn.softmax(self.model.predict(self.space.to_model(pixels)).astype(np.float64))

    def pixel_gradient(self, pixels, doutputs_of) -> np.ndarray:
        """``dL/dp`` for a loss whose gradient w.r.t. this member's outputs is ``doutputs_of(p_member)``."""
        x = self.model.as_input(self.space.to_model(pixels))
        outputs = self.model.forward(x)
        grad_z = self.model.backward(
            doutputs_of(nn.softmax(outputs.astype(np.float64))).astype(x.dtype), need_input_grad=True
        )
        return self.space.pixel_gradient(grad_z)


def load_members(paths) -> list[Member]:
    members = []
    for path in paths:
        try:
            model = nn.Sequential.load(path)
        except nn.ModelFileError as error:
            raise EvaluationError(str(error)) from None
        if model.metadata.get("task") != "classification" or "preprocessing" not in model.metadata:
            raise EvaluationError(f"{path}: not a classification model saved by train.py --save_model")
        members.append(Member(path, model))
    first = members[0]
    for member in members[1:]:
        for key in ("dataset", "class_names", "n_features"):
            if member.meta[key] != first.meta[key]:
                raise EvaluationError(
                    f"{member.path} and {first.path} disagree on {key}: {member.meta[key]!r} vs {first.meta[key]!r}"
                )
    return members


def scores(y, probabilities, class_names) -> dict:
    predictions = probabilities.argmax(axis=1)
    counts = metrics.confusion_counts(y, predictions, len(class_names))
    precision, recall, f1, support = metrics.precision_recall_f1(counts)
    loss = float(-np.mean(np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-300, None))))
    return {
        "accuracy": metrics.accuracy(y, predictions),
        "loss": loss,
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


def report(paths, dataset=None, data_dir=None, fgsm_eps: float = 0.0, output_dir=None) -> dict:
    members = load_members(paths)
    made_for = members[0].meta["dataset"]
    dataset = dataset or made_for
    if dataset != made_for:
        raise EvaluationError(f"{members[0].path} was trained on {made_for}, not {dataset}")
    raw = datasets.load(dataset, data_dir, val_fraction=0.0, scaling="none")
    pixels = raw.x_test.astype(np.float64) / PIXEL_MAX
    if pixels.shape[1] != members[0].meta["n_features"]:
        raise EvaluationError(
            f"{dataset} has {pixels.shape[1]} inputs; the models take {members[0].meta['n_features']}"
        )
    y, names = raw.y_test, members[0].meta["class_names"]
    groups = [("member", [m]) for m in members] + ([("ensemble", members)] if len(members) > 1 else [])
    report = {"dataset": dataset, "n_test": len(y), "members": []}
    for kind, group in groups:
        probabilities = np.mean([m.probabilities(pixels) for m in group], axis=0)
        entry = {
            "model": str(group[0].path) if kind == "member" else f"ensemble of {len(group)}",
            **scores(y, probabilities, names),
        }
        if fgsm_eps:
            attacked = fgsm_pixels(group, pixels, y, fgsm_eps)
            entry["accuracy_fgsm"] = scores(y, np.mean([m.probabilities(attacked) for m in group], axis=0), names)[
                "accuracy"
            ]
        if kind == "member":
            report["members"].append(entry)
        else:
            report["ensemble"] = entry
    top = report.get("ensemble", report["members"][0])
    report.update({k: top[k] for k in ("accuracy", "loss", "macro_f1", "per_class")})
    if fgsm_eps:
        report.update(fgsm_eps=fgsm_eps, accuracy_fgsm=top["accuracy_fgsm"])
    if output_dir is not None:
        from tracking import plots

        folder = Path(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        counts = metrics.confusion_counts(y, probabilities.argmax(axis=1), len(names))
        report["confusion_matrix_png"] = str(
            plots.confusion_figure(
                counts, names, folder / "confusion_matrix.png", title=f"{dataset} test set, {top['model']}"
            )
        )
    return report
