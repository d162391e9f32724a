"""Plain stochastic gradient descent."""

import numpy as np

from .base import Optimizer, register


@register("sgd")
class SGD(Optimizer):
    """``w <- w - lr * g``."""

    def update(self, w, g, slots, state):
        step = np.multiply(g, self.hp.learning_rate, out=self.scratch(w))
        w -= step
