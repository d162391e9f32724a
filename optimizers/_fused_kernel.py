"""The loop of :mod:`optimizers.fused`, apart because it imports numba (its ``numba.prange`` is looked up
in this module's globals when numba compiles it): imported at the first fused update, never at start-up
(the leading underscore keeps :func:`nn.registry.import_submodules` away)."""

import numba
import numpy as np


def adam_family_step(w, g, m, v, decay, b1, one_minus_b1, b2, one_minus_b2, ratio, mode, eps_k, step, decays):
    for i in numba.prange(w.size):
        if decays:
            w[i] = w[i] * decay
        gi = g[i]
        mi = m[i] * b1 + gi * one_minus_b1
        m[i] = mi
        vi = v[i] * b2 + (gi * gi) * one_minus_b2
        v[i] = vi
        if mode == 0:
            d = mi
        elif mode == 1:
            d = mi + gi * ratio
        else:
            d = gi
        w[i] = w[i] - (d / (np.sqrt(vi) + eps_k)) * step
