"""Nadam: Adam with Nesterov momentum (Dozat, 2016)."""
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

    def direction(self, m, g, t):
        b1 = self.hp.beta1
        correction = 1.0 / (1.0 - b1 ** t)
        out = m * (b1 * correction)
        out += ((1.0 - b1) * correction) * g
        return out
