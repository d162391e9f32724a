"""AdaGrad (Duchi, Hazan & Singer, 2011)."""

from dataclasses import dataclass

import numpy as np

from .base import EPSILON, LEARNING_RATE, HyperparameterSet, Optimizer, normalised_step, register


@register("adagrad")
class AdaGrad(Optimizer):
    """Per-coordinate step sizes from the sum of all squared gradients::

    s <- s + g^2
    w <- w - lr * g / (sqrt(s) + eps)
    """

    @dataclass(frozen=True)
    class Hyperparameters(HyperparameterSet):
        learning_rate: float = LEARNING_RATE()
        epsilon: float = EPSILON()

    hp: Hyperparameters

    slot_names = ("s",)
    divides_by_epsilon = True

    def update(self, w, g, slots, state):
        s = slots["s"]
        work = np.multiply(g, g, out=self.scratch(w))
        s += work
        normalised_step(w, g, s, work, self.hp.learning_rate, self.hp.epsilon)
