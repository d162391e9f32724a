"""Gradient transforms: what :func:`nn.fit` does to the gradient between backpropagation and the update.

A transform is a function ``transform(g) -> g'`` of the full flat gradient ``g``
(``model.flat_grads``: every parameter's gradient in one vector, ``dL/dθ`` of the data loss plus
the gradient of the L2/L1 penalty, ``λW + μ sign(W)`` on the weights). It may change ``g`` in place
and return it, or return a new array of ``g``'s shape. ``fit(..., gradient_transforms=[t1, t2])``
applies them in order, each to what the one before returned (optax's ``chain``), and copies the
result into ``model.flat_grads``, which the optimizer reads::

    data_loss, outputs = step(model, loss, x, y)        # backward: g = dL/dθ
    penalty = model.add_penalty_grad(weight_decay, l1)   # g += λW + μ sign(W)
    g <- t2(t1(g))                                      # apply_transforms
    optimizer.apply(params, {"flat": g}, state, ...)

This is the only way the gradient reaches an update, whatever the optimizer: the Adam family's
fused numba update (:mod:`optimizers.fused`) runs inside ``optimizer.apply`` and reads the same
buffer. The divergence checks of :func:`nn.fit` see the objective before any transform, and
:class:`nn.GradientNorms` (after the update) the transformed gradient, the one the optimizer used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

GradientTransform = Callable[[np.ndarray], np.ndarray]
"""``transform(g) -> g'``: the flat gradient in, the gradient to use out (``g`` itself, changed in
place, or a new array of its shape)."""

CLIP_EPSILON = 1e-6
"""Added to the norm before dividing, as ``torch.nn.utils.clip_grad_norm_`` does."""


def apply_transforms(transforms: Sequence[GradientTransform], grads: np.ndarray) -> None:
    """``grads <- t_k(... t_2(t_1(grads)))`` in place: each transform receives what the one before
    returned; a result that is not ``grads`` itself is copied into it (cast to its dtype)."""
    result = grads
    for transform in transforms:
        result = transform(result)
    if result is not grads:
        if np.shape(result) != grads.shape:
            raise ValueError(
                f"a gradient transform returned shape {np.shape(result)} for a gradient of shape {grads.shape} "
                "(it must return the gradient)"
            )
        grads[...] = result


def global_norm(grads: np.ndarray) -> np.floating:
    """``||g||_2 = sqrt(Σ_i g_i²)`` over every parameter at once (the norm of all the per-parameter
    gradients concatenated, which the flat gradient is), in the gradient's dtype."""
    flat = grads.reshape(-1)
    return np.sqrt(np.dot(flat, flat))


def clip_by_global_norm(max_norm: float) -> GradientTransform:
    """The transform that scales the gradient down when its global L2 norm exceeds ``max_norm``,
    as ``torch.nn.utils.clip_grad_norm_(parameters, max_norm)`` (``norm_type=2``) does::

        n = ||g||_2 = sqrt(Σ_i g_i²)                  (every parameter: one vector)
        c = min(max_norm / (n + 1e-6), 1)
        g <- c · g

    The ``1e-6`` (:data:`CLIP_EPSILON`) keeps the division finite at ``n = 0`` and leaves a clipped
    gradient of norm ``max_norm · n / (n + 1e-6)``, just under ``max_norm``; the clamp at 1 means a
    gradient is only ever scaled down. The arithmetic is in the gradient's dtype, as torch's is.
    As in torch (``error_if_nonfinite=False``), a non-finite norm is not an error: ``n = inf``
    gives ``c = 0``, ``n = NaN`` gives ``c = NaN``, and ``g`` is multiplied by it. ``c = 1`` leaves
    ``g`` as it is (multiplying by 1 would change no bit); otherwise ``g`` is scaled in place.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")

    def clip(grads: np.ndarray) -> np.ndarray:
        scale = clip_scale(grads, max_norm)
        if scale != 1.0:
            grads *= scale
        return grads

    return clip


def clip_scale(grads: np.ndarray, max_norm: float) -> np.floating:
    """``c = min(max_norm / (||g||_2 + 1e-6), 1)`` of :func:`clip_by_global_norm`, in the gradient's dtype
    (one pass over ``g``; a caller that also wants to know whether it clipped asks ``c != 1``)."""
    dtype = grads.dtype.type
    return np.minimum(dtype(max_norm) / (global_norm(grads) + dtype(CLIP_EPSILON)), dtype(1.0))
