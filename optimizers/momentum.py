"""Momentum-based gradient descent."""

from dataclasses import dataclass

import numpy as np

from .base import LEARNING_RATE, MOMENTUM, HyperparameterSet, Optimizer, register


@register("momentum")
class Momentum(Optimizer):
    """Heavy-ball momentum, in the form PyTorch uses (``m`` = ``momentum``)::

        u <- m * u + g
        w <- w - lr * u

    The course's form ``v <- m v + lr g; w <- w - v`` is the same rule with
    ``v = lr * u`` while the learning rate is constant.
    """

    @dataclass(frozen=True)
    class Hyperparameters(HyperparameterSet):
        learning_rate: float = LEARNING_RATE()
        momentum: float = MOMENTUM()

    hp: Hyperparameters

    slot_names = ("u",)

    def update(self, w, g, slots, state):
        u = slots["u"]
        u *= self.hp.momentum
        u += g
        w -= np.multiply(u, self.hp.learning_rate, out=self.scratch(w))
