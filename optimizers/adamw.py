"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019)."""

from dataclasses import dataclass

from .adam import Adam
from .base import DECOUPLED_WEIGHT_DECAY, register


@register("adamw")
class AdamW(Adam):
    """Adam whose weight decay acts on the weights directly, not through the gradient::

        w <- w - lr * lambda * w            (lambda = decoupled_weight_decay)
        w <- w - lr * m^ / (sqrt(v^) + eps)  (Adam's step, the moments from g alone)

    as PyTorch's ``AdamW`` does (decay first, scaled by the current learning
    rate, so a schedule scales both). Coupled L2 (``-w_d``) would pass through
    ``m / sqrt(v)`` and be normalised away for weights with large gradients;
    decoupled, every weight shrinks by the same factor. Like PyTorch's default,
    every parameter the optimizer is given decays (in this tool: the one flat
    buffer, biases and normalisation scales included).
    """

    @dataclass(frozen=True)
    class Hyperparameters(Adam.Hyperparameters):
        """Adam's, and the decay ``lambda``."""

        decoupled_weight_decay: float = DECOUPLED_WEIGHT_DECAY()

    hp: Hyperparameters

    def decay_factor(self):
        return 1.0 - self.hp.learning_rate * self.hp.decoupled_weight_decay
