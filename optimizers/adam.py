"""Adam (Kingma & Ba, 2015)."""

import math
from dataclasses import dataclass

import numpy as np

from . import fused
from .base import BETA1, BETA2, EPSILON, LEARNING_RATE, HyperparameterSet, Optimizer, register


@register("adam")
class Adam(Optimizer):
    """Adam, as in the paper (``b1`` = ``beta1``, ``b2`` = ``beta2``, t from 1)::

        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * g^2
        m^ = m / (1 - b1^t),  v^ = v / (1 - b2^t)
        w <- w - lr * m^ / (sqrt(v^) + eps)

    ``eps`` is added outside the square root, after bias correction (the
    paper's and PyTorch's placement; Keras adds it before correcting).
    Subclasses change the step direction (:meth:`direction`, Nadam) or the
    scale of the denominator (:meth:`denominator_scale`, Eve), or decay the
    weights first (:meth:`decay_factor`, AdamW). With numba installed the update
    is one fused pass (:mod:`optimizers.fused`) that gives the same bits.
    """

    @dataclass(frozen=True)
    class Hyperparameters(HyperparameterSet):
        learning_rate: float = LEARNING_RATE()
        beta1: float = BETA1()
        beta2: float = BETA2()
        epsilon: float = EPSILON()

    hp: Hyperparameters

    slot_names = ("m", "v")
    divides_by_epsilon = True

    def direction(self, m, g, t, out):
        """Return ``(d, c)`` with ``m^ = c * d`` (Adam: ``d = m``, ``c = 1 / (1 - b1^t)``).

        ``d`` may be written into ``out``; keeping the scalar ``c`` apart lets
        :meth:`update` fold it into one multiplication.
        """
        return m, 1.0 / (1.0 - self.hp.beta1**t)

    def fused_direction(self, t):
        """:meth:`direction` for the fused kernel: ``(mode, ratio, c)`` (:mod:`optimizers.fused`)."""
        return fused.DIRECTION_M, 0.0, 1.0 / (1.0 - self.hp.beta1**t)

    def denominator_scale(self, state) -> float:
        return 1.0

    def decay_factor(self) -> float | None:
        """The factor the weights are multiplied by before the step (AdamW), or None."""
        return None

    def update(self, w, g, slots, state):
        # Same rule as the docstring, arranged for few passes and no temporaries:
        # with k = sqrt(1 - b2^t) / scale,  lr * m^ / (scale * sqrt(v^) + eps)
        #                                 = (lr * k) * m^ / (sqrt(v) + eps * k).
        m, v, t = slots["m"], slots["v"], state["step"]
        b1, b2 = self.hp.beta1, self.hp.beta2
        k = math.sqrt(1.0 - b2**t) / self.denominator_scale(state)
        kernel = fused.kernel() if w.flags.c_contiguous and g.flags.c_contiguous else None
        if kernel is not None:
            mode, ratio, c = self.fused_direction(t)
            decay = self.decay_factor()
            cast = w.dtype.type
            kernel(
                w.reshape(-1),
                g.reshape(-1),
                m.reshape(-1),
                v.reshape(-1),
                cast(decay or 1.0),
                cast(b1),
                cast(1.0 - b1),
                cast(b2),
                cast(1.0 - b2),
                cast(ratio),
                mode,
                cast(self.hp.epsilon * k),
                cast(self.hp.learning_rate * k * c),
                decay is not None,
            )
            return
        decay = self.decay_factor()
        if decay is not None:
            w *= decay
        work = self.scratch(w)
        np.multiply(g, 1.0 - b1, out=work)
        m *= b1
        m += work
        np.multiply(g, g, out=work)
        work *= 1.0 - b2
        v *= b2
        v += work
        direction, c = self.direction(m, g, t, self.scratch(w, 1))
        np.sqrt(v, out=work)
        work += self.hp.epsilon * k
        np.divide(direction, work, out=work)
        work *= self.hp.learning_rate * k * c
        w -= work
