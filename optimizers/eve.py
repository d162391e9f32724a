"""Eve (Koushik & Hayashi, 2016, arXiv:1611.01505): Adam with feedback from the loss."""

from dataclasses import dataclass

from .adam import Adam
from .base import register


@register("eve")
class Eve(Adam):
    """Adam whose step is divided by ``d``, a smoothed relative change of the loss.

    With ``f`` the loss at the current parameters (``apply(..., loss=f)``),
    ``f^`` its clipped running value and the paper's constants
    ``beta3 = 0.999``, ``k = 0.1``, ``K = 10`` (and ``f* = 0``: losses here are
    non-negative)::

        t = 1:  f^ = f,  d = 1
        t > 1:  if f >= f^: lo, hi = k + 1, K + 1
                else:       lo, hi = 1 / (K + 1), 1 / (k + 1)
                c = min(max(lo, f / f^), hi)
                f^_new = c * f^
                r = |f^_new - f^| / min(f^_new, f^)
                d = beta3 * d + (1 - beta3) * r
                f^ = f^_new
        w <- w - lr * m^ / (d * sqrt(v^) + eps)     (m^, v^ as in Adam)

    ``beta3``, ``k`` and ``K`` are the paper's constants, not hyperparameters.
    """

    @dataclass(frozen=True)
    class Hyperparameters(Adam.Hyperparameters):
        """Adam's: learning_rate, beta1, beta2, epsilon."""

    hp: Hyperparameters

    beta3 = 0.999
    small_k = 0.1
    big_k = 10.0
    tiny = 1e-12  # keeps the ratios defined if the loss reaches exactly 0

    def init_globals(self):
        return {"d": 1.0, "f_hat": 0.0}

    def begin_step(self, state, loss):
        if loss is None:
            raise ValueError("eve needs the loss value: call apply(params, grads, state, loss=...)")
        f = max(float(loss), self.tiny)
        g = state["globals"]
        if state["step"] == 1:
            g["f_hat"], g["d"] = f, 1.0
            return
        f_hat = g["f_hat"]
        if f >= f_hat:
            lo, hi = self.small_k + 1.0, self.big_k + 1.0
        else:
            lo, hi = 1.0 / (self.big_k + 1.0), 1.0 / (self.small_k + 1.0)
        c = min(max(lo, f / f_hat), hi)
        new_f_hat = c * f_hat
        r = abs(new_f_hat - f_hat) / min(new_f_hat, f_hat)
        g["d"] = self.beta3 * g["d"] + (1.0 - self.beta3) * r
        g["f_hat"] = new_f_hat

    def denominator_scale(self, state):
        return state["globals"]["d"]
