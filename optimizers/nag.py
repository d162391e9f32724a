"""Nesterov accelerated gradient."""

from dataclasses import dataclass

import numpy as np

from .base import LEARNING_RATE, MOMENTUM, HyperparameterSet, Optimizer, register


@register("nag")
class Nesterov(Optimizer):
    """Nesterov momentum in the form PyTorch uses (``m`` = ``momentum``)::

        u <- m * u + g(w)
        w <- w - lr * (g(w) + m * u)

    It equals the course's look-ahead form. There, with ``v`` the update
    history, the gradient is taken at the look-ahead point ``w~ = w - m v``:
    ``v' = m v + lr g(w~)``, ``w' = w - v'``. Track the look-ahead point
    itself, ``w~' = w' - m v'``, and write ``v = lr u``: then
    ``u' = m u + g(w~)`` and ``w~' = w~ + m v - v' - m v' =
    w~ - lr (g(w~) + m u')``: the update above, applied to the look-ahead
    parameters, with the gradient at the point the parameters hold.
    """

    @dataclass(frozen=True)
    class Hyperparameters(HyperparameterSet):
        learning_rate: float = LEARNING_RATE()
        momentum: float = MOMENTUM()

    hp: Hyperparameters

    slot_names = ("u",)

    def update(self, w, g, slots, state):
        u, m = slots["u"], self.hp.momentum
        u *= m
        u += g
        step = np.multiply(u, m, out=self.scratch(w))
        step += g
        step *= self.hp.learning_rate
        w -= step
