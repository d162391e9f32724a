"""Adam (Kingma & Ba, 2015)."""
import math

import numpy as np

from .base import Optimizer, register


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
    scale of the denominator (:meth:`denominator_scale`, Eve).
    """

    slot_names = ("m", "v")

    def direction(self, m, g, t):
        """The bias-corrected first moment ``m^``."""
        return m * (1.0 / (1.0 - self.hp.beta1 ** t))

    def denominator_scale(self, state) -> float:
        return 1.0

    def update(self, w, g, slots, state):
        m, v, t = slots["m"], slots["v"], state["step"]
        b1, b2 = self.hp.beta1, self.hp.beta2
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * np.square(g)
        denominator = np.sqrt(v)
        denominator *= self.denominator_scale(state) / math.sqrt(1.0 - b2 ** t)  # d * sqrt(v^)
        denominator += self.hp.epsilon
        step = self.direction(m, g, t)
        step /= denominator
        step *= self.hp.learning_rate
        w -= step
