"""AdaGrad (Duchi, Hazan & Singer, 2011)."""

import numpy as np

from .base import Optimizer, register


@register("adagrad")
class AdaGrad(Optimizer):
    """Per-coordinate step sizes from the sum of all squared gradients::

    s <- s + g^2
    w <- w - lr * g / (sqrt(s) + eps)
    """

    slot_names = ("s",)
    divides_by_epsilon = True

    def update(self, w, g, slots, state):
        s = slots["s"]
        work = np.multiply(g, g, out=self.scratch(w))
        s += work
        self.normalised_step(w, g, s, work)
