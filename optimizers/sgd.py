"""Plain stochastic gradient descent."""
from .base import Optimizer, register


@register("sgd")
class SGD(Optimizer):
    """``w <- w - lr * g``."""

    def update(self, w, g, slots, state):
        w -= self.hp.learning_rate * g
