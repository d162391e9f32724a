"""RMSProp (Tieleman & Hinton, 2012)."""

from dataclasses import dataclass

import numpy as np

from .base import BETA, EPSILON, LEARNING_RATE, HyperparameterSet, Optimizer, normalised_step, register


@register("rmsprop")
class RMSProp(Optimizer):
    """Divide the gradient by a running root mean square (``beta`` = ``beta``)::

        v <- beta * v + (1 - beta) * g^2
        w <- w - lr * g / (sqrt(v) + eps)

    ``eps`` sits outside the square root; no bias correction.
    """

    @dataclass(frozen=True)
    class Hyperparameters(HyperparameterSet):
        learning_rate: float = LEARNING_RATE()
        beta: float = BETA()
        epsilon: float = EPSILON()

    hp: Hyperparameters

    slot_names = ("v",)
    divides_by_epsilon = True

    def update(self, w, g, slots, state):
        v, beta = slots["v"], self.hp.beta
        work = np.multiply(g, g, out=self.scratch(w))
        work *= 1.0 - beta
        v *= beta
        v += work
        normalised_step(w, g, v, work, self.hp.learning_rate, self.hp.epsilon)
