"""The study plugins: everything that changes a run beyond plain training, one module each.

:data:`PLUGINS` is the registry: adding a study is one module (a :class:`Plugin`
subclass with its configuration section) and two lines here (its import, and its
instance in the list). The order of
this list breaks ties between equal priorities and orders the sections of
``--help``. Every module imports only what its enabled hooks need, inside
them, so a run pays for no study it does not use.
"""

from __future__ import annotations

from ..plugin import Plugin
from . import (
    adversarial,
    augment,
    batch_log,
    classification,
    conv_figures,
    curves,
    dynamics,
    grad_clip,
    importance,
    kfold,
    label_smoothing,
    latent,
    maximize,
    measurements,
    pretrain,
    regression,
    saliency,
    schedule,
    stopping,
    study_figures,
)

PLUGINS: tuple[Plugin, ...] = (
    schedule.Schedule(),
    adversarial.Adversarial(),
    augment.Augment(),
    label_smoothing.LabelSmoothing(),
    grad_clip.GradClip(),
    stopping.Stopping(),
    batch_log.BatchLog(),
    measurements.Measurements(),
    pretrain.Pretrain(),
    kfold.KFold(),
    classification.ClassificationReport(),
    regression.RegressionReport(),
    curves.Curves(),
    conv_figures.ConvFigures(),
    study_figures.StudyFigures(),
    saliency.Saliency(),
    importance.Importance(),
    latent.Latent(),  # owns the section "Looking inside the network" (--latent, --dynamics, --maximize)
    dynamics.Dynamics(),
    maximize.Maximize(),
)


def active(config, plugins=PLUGINS) -> list[Plugin]:
    """The plugins enabled for ``config``, in hook order (priority, then registry order)."""
    enabled = [(int(p.priority), index, p) for index, p in enumerate(plugins) if p.enabled(config)]
    return [p for _, _, p in sorted(enabled, key=lambda item: item[:2])]


def named(name: str) -> Plugin:
    """The registered plugin called ``name``."""
    return next(plugin for plugin in PLUGINS if plugin.name == name)


__all__ = ["PLUGINS", "active", "named"]
