"""Nadam: Adam with Nesterov momentum (Dozat, 2016)."""

from dataclasses import dataclass

import numpy as np

from . import fused
from .adam import Adam
from .base import register


@register("nadam")
class Nadam(Adam):
    """Dozat's (2016) Nadam as taught in the course, without the momentum schedule.

    Same ``m``, ``v``, ``m^``, ``v^`` as :class:`Adam`; the step looks ahead
    by using the next momentum estimate::

        w <- w - lr / (sqrt(v^) + eps) * (b1 * m^ + (1 - b1) * g / (1 - b1^t))

    (Keras' Nadam adds a schedule ``mu_t``; PyTorch's adds a decay
    ``momentum_decay``: neither is this rule.)
    """

    @dataclass(frozen=True)
    class Hyperparameters(Adam.Hyperparameters):
        """Adam's: learning_rate, beta1, beta2, epsilon."""

    hp: Hyperparameters

    def direction(self, m, g, t, out):
        b1 = self.hp.beta1
        if b1 == 0.0:  # no momentum: the step direction is the gradient
            return g, 1.0
        np.multiply(g, (1.0 - b1) / b1, out=out)  # (b1 m + (1 - b1) g) = b1 (m + g (1 - b1) / b1)
        out += m
        return out, b1 / (1.0 - b1**t)

    def fused_direction(self, t):
        b1 = self.hp.beta1
        if b1 == 0.0:
            return fused.DIRECTION_G, 0.0, 1.0
        return fused.DIRECTION_NESTEROV, (1.0 - b1) / b1, b1 / (1.0 - b1**t)
