"""Adversarial examples: the fast gradient sign method (Goodfellow et al. 2015) and adversarial training.

FGSM, in pixel space: with ``p`` the pixels scaled to [0, 1] (raw / 255, before the
project's own input scaling) and ``L`` the run's loss against the true labels,

    p_adv = clip(p + eps * sign(dL/dp), 0, 1).

The network sees ``z = (255 p[:, perm] - offset) * scale`` (the fitted preprocessing,
:class:`datasets.Preprocessing`), so by the chain rule ``dL/dp[:, perm] = 255 * scale * dL/dz``;
both factors are positive, so ``sign(dL/dp)[:, perm] = sign(dL/dz)``, and the gradient goes
through the scaling (and the pixel permutation) exactly.

Adversarial training (``--adv_train True``) minimises ``0.5 L(x) + 0.5 L(x_adv)`` at the same
``eps``, with ``x_adv`` made afresh from the current weights for every mini-batch: a ``step``
function for :func:`nn.fit`, not a copy of the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import nn

from ..errors import ConfigError
from ..options import FRACTION, option
from ..plugin import Changes, Plugin, Priority

PIXEL_MAX = 255.0


class PixelSpace:
    """Maps between the network's inputs and pixels in [0, 1] for one fitted preprocessing."""

    def __init__(self, preprocessing):
        self.prep = preprocessing
        self.order = preprocessing.permutation

    def to_pixels(self, x_model: np.ndarray) -> np.ndarray:
        return self.prep.invert(x_model) / PIXEL_MAX

    def to_model(self, pixels: np.ndarray) -> np.ndarray:
        return self.prep.apply((pixels * PIXEL_MAX).astype(np.float32))

    def pixel_gradient(self, grad_model: np.ndarray) -> np.ndarray:
        """``dL/dp`` in pixel order from ``dL/dz`` in the network's order (float64):
        ``dL/dp[:, perm] = 255 * scale * dL/dz``."""
        grad = np.empty(grad_model.shape, dtype=np.float64)
        grad[:, slice(None) if self.order is None else self.order] = grad_model * (
            PIXEL_MAX * np.asarray(self.prep.scale, dtype=np.float64)
        )
        return grad

    def pixel_gradient_sign(self, grad_model: np.ndarray) -> np.ndarray:
        """``sign(dL/dp)`` in pixel order."""
        return np.sign(self.pixel_gradient(grad_model))

    def attack(self, x_model, grad_model, eps: float):
        """``(x_adv in the network's space, p, p_adv)``."""
        pixels = self.to_pixels(x_model)
        adversarial = np.clip(pixels + eps * self.pixel_gradient_sign(grad_model), 0.0, 1.0)
        return self.to_model(adversarial), pixels, adversarial


def fgsm(model, loss, x_model, y, eps: float, space: PixelSpace, batch_size: int | None = None):
    """FGSM examples for a whole set, in evaluation mode: ``(x_adv, pixels, adversarial pixels)``."""
    parts = []
    batch_size = batch_size or min(2048, model.eval_batch_size)
    for i in range(0, len(x_model), batch_size):
        _, grad = nn.input_gradient(model, loss, x_model[i : i + batch_size], y[i : i + batch_size])
        parts.append(space.attack(x_model[i : i + batch_size], grad, eps))
    return tuple(np.concatenate(p) for p in zip(*parts))


def adversarial_step(eps: float, space: PixelSpace):
    """The step of ``0.5 L(x) + 0.5 L(x_adv)``, ``x_adv`` from the current weights (training mode)."""
    saved: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def step(model, loss, x, y):
        outputs = model.forward(x, training=True)
        clean, doutputs = loss.value_and_grad(outputs, y)
        grad_x = model.backward(doutputs, need_input_grad=True)
        kept = saved.get(x.shape)
        if kept is None:
            kept = saved[x.shape] = (np.empty_like(model.flat_grads), np.empty_like(outputs))
        np.copyto(kept[0], model.flat_grads)
        np.copyto(kept[1], outputs)  # the clean outputs feed the training metrics
        x_adv, _, _ = space.attack(x, grad_x, eps)
        adversarial, _ = nn.default_step(model, loss, x_adv.astype(x.dtype, copy=False), y)
        model.flat_grads += kept[0]
        model.flat_grads *= 0.5
        return 0.5 * (clean + adversarial), kept[1]

    return step


@dataclass(frozen=True)
class AdversarialConfig:
    title = "Adversarial examples"
    fgsm_eps: float = option(
        0.0,
        "--fgsm_eps",
        "--fgsm-eps",
        type=FRACTION,
        help="FGSM: after training, also test on images perturbed by eps*sign(dL/dx) in [0, 1] pixel space and "
        "report test_accuracy_fgsm (image classification sets; 0: off).",
    )
    adv_train: bool = option(
        False,
        "--adv_train",
        "--adv-train",
        help="Adversarial training: minimise 0.5*L(x) + 0.5*L(x_adv), FGSM examples at --fgsm_eps from the current "
        "weights for every mini-batch.",
    )


class Adversarial(Plugin[list]):
    """Adversarial training (the step) and the FGSM report (after training)."""

    name = "adversarial"
    example = {"fgsm_eps": 0.1, "adv_train": True}
    changes = Changes(summary=("test_accuracy_fgsm", "test_loss_fgsm"), files=("fgsm.png",), trajectory=True)
    section = AdversarialConfig
    priority = Priority.DATA  # replaces the plain step; augmentation (after it) wraps this one

    def new_state(self) -> list:
        return []  # what the figure draws: [(pixels, adversarial, labels, clean, fooled, eps)]

    def enabled(self, config):
        s = config.get(AdversarialConfig)
        return bool(s.fgsm_eps or s.adv_train)

    def check(self, config, data):
        s = config.get(AdversarialConfig)
        if data.image_shape is None or not data.task.classifies or not data.info.eight_bit:
            raise ConfigError(
                f"--fgsm_eps and --adv_train need a classification data set of 8-bit images, not {data.name}"
            )
        if s.adv_train and not s.fgsm_eps:
            raise ConfigError("--adv_train needs --fgsm_eps > 0 (the size of the adversarial perturbation)")

    def logged_metrics(self, config):
        return ["fgsm_eps", "test_accuracy_fgsm", "test_loss_fgsm"] if config.get(AdversarialConfig).fgsm_eps else []

    def wrap_step(self, step, run):
        s = run.config.get(AdversarialConfig)
        return adversarial_step(s.fgsm_eps, PixelSpace(run.data.preprocessing)) if s.adv_train else step

    def after_training(self, run):
        eps = run.config.get(AdversarialConfig).fgsm_eps
        if not eps:
            return {}
        data, model = run.data, run.model
        x_adv, pixels, adversarial = fgsm(
            model, run.loss, data.x_test, data.y_test, eps, PixelSpace(data.preprocessing)
        )
        scores = nn.evaluate(model, run.loss, x_adv, data.y_test)
        clean = run.evaluations["test"].predictions[:8]
        fooled = nn.losses.predicted_classes(model.predict(x_adv[:8]))
        run.state_of(self)[:] = [(pixels[:8], adversarial[:8], data.y_test[:8], clean, fooled, eps)]
        return {"fgsm_eps": eps, "test_accuracy_fgsm": scores["accuracy"], "test_loss_fgsm": scores["loss"]}

    def figures(self, run):
        if not run.state_of(self):
            return {}
        from tracking import tiles

        pixels, adversarial, y, clean, fooled, eps = run.state_of(self)[0]
        data = run.data
        path = tiles.adversarial_figure(
            pixels, adversarial, y, clean, fooled, data.image_shape, data.class_names, eps, run.folder / "fgsm.png"
        )
        return {"fgsm": path}
