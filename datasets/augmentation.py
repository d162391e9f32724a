"""Data augmentation of images: random shifts and horizontal flips, in pixel space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def shift_and_flip(
    images: np.ndarray,
    image_shape: Sequence[int],
    max_shift: int,
    flip: bool,
    rng: np.random.Generator,
    fill: float = 0.0,
) -> np.ndarray:
    """Each image (a row of ``images``, ``H * W`` pixels) moved by its own random ``(dy, dx)``, each
    uniform in ``{-max_shift, ..., max_shift}``: ``out[i, j] = image[i - dy, j - dx]``, pixels moved in
    from outside set to ``fill`` (the background). With ``flip``, each image is then mirrored left to
    right with probability 1/2. Returns a new array; the draws are ``rng.integers`` for ``dy`` then
    ``dx`` (one per image each), then ``rng.random`` for the flips."""
    n = images.shape[0]
    h, w = image_shape[:2]
    s = int(max_shift)
    out = images.reshape(n, h, w)
    if s:
        padded = np.full((n, h + 2 * s, w + 2 * s), fill, dtype=images.dtype)
        padded[:, s : s + h, s : s + w] = out
        dy, dx = rng.integers(-s, s + 1, size=(2, n))
        rows = (s - dy)[:, None] + np.arange(h)
        cols = (s - dx)[:, None] + np.arange(w)
        out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    else:
        out = out.copy()
    if flip:
        mirrored = rng.random(n) < 0.5
        out[mirrored] = out[mirrored, :, ::-1]
    return out.reshape(n, h * w)
