"""RMSProp (Tieleman & Hinton, 2012)."""

import numpy as np

from .base import Optimizer, register


@register("rmsprop")
class RMSProp(Optimizer):
    """Divide the gradient by a running root mean square (``beta`` = ``beta``)::

        v <- beta * v + (1 - beta) * g^2
        w <- w - lr * g / (sqrt(v) + eps)

    ``eps`` sits outside the square root; no bias correction.
    """

    slot_names = ("v",)
    divides_by_epsilon = True

    def update(self, w, g, slots, state):
        v, beta = slots["v"], self.hp.beta
        work = np.multiply(g, g, out=self.scratch(w))
        work *= 1.0 - beta
        v *= beta
        v += work
        self.normalised_step(w, g, v, work)
