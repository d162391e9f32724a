"""Plain stochastic gradient descent."""

from dataclasses import dataclass

import numpy as np

from .base import LEARNING_RATE, HyperparameterSet, Optimizer, register


@register("sgd")
class SGD(Optimizer):
    """``w <- w - lr * g``."""

    @dataclass(frozen=True)
    class Hyperparameters(HyperparameterSet):
        learning_rate: float = LEARNING_RATE()

    hp: Hyperparameters

    def update(self, w, g, slots, state):
        step = np.multiply(g, self.hp.learning_rate, out=self.scratch(w))
        w -= step
