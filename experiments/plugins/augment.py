"""``--augment``: the training step on randomly shifted (and, where the class allows, mirrored) images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import click
import numpy as np

import nn

from ..options import option
from .base import ConfigError, Plugin, Priority


@dataclass(frozen=True)
class AugmentConfig:
    title = "Data augmentation"
    augment: int = option(
        0,
        "--augment",
        type=click.IntRange(min=0),
        help="Data augmentation of image sets: shift each training image by up to N pixels in each direction, and "
        "mirror it left-right half of the time where that keeps its class (fashion_mnist, not mnist/digits) "
        "(0: off).",
    )


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


class Augmentation(nn.Callback):
    """Transforms each training mini-batch: back to pixels (the fitted scaling and any pixel permutation
    undone), :func:`shift_and_flip`, and the preprocessing again, so the images
    move, not the scaled values. The random stream is drawn afresh from ``(seed, epoch)`` at every epoch,
    so a resumed run augments exactly as an uninterrupted one."""

    def __init__(self, data, max_shift: int, seed: int):
        self.preprocessing, self.image_shape = data.preprocessing, data.image_shape
        self.max_shift, self.seed = int(max_shift), int(seed)
        self.flip = data.info.mirror_invariant
        self.rng = np.random.default_rng([self.seed, 11, 0])

    def on_epoch_begin(self, epoch, n_batches):
        self.rng = np.random.default_rng([self.seed, 11, epoch])

    def transform(self, x: np.ndarray) -> np.ndarray:
        pixels = self.preprocessing.invert(x)
        moved = shift_and_flip(pixels, self.image_shape, self.max_shift, self.flip, self.rng)
        return self.preprocessing.apply(moved).astype(x.dtype, copy=False)

    def step(self, inner):
        """The training step ``inner`` on the transformed batch."""

        def augmented_step(model, loss, x, y):
            return inner(model, loss, self.transform(x), y)

        return augmented_step


class Augment(Plugin):
    name = "augment"
    example = {"augment": 1}
    section = AugmentConfig
    priority = Priority.DATA + 1  # after adversarial training's step: it moves the images that step sees

    def enabled(self, config):
        return config.get(AugmentConfig).augment > 0

    def check(self, config, data):
        shift = config.get(AugmentConfig).augment
        if data.image_shape is None or data.task != "classification":
            raise ConfigError(f"--augment shifts images: it needs an image classification data set, not {data.name}")
        if shift >= min(data.image_shape):
            raise ConfigError(
                f"--augment {shift}: a shift must be smaller than the "
                f"{data.image_shape[0]}x{data.image_shape[1]} images"
            )

    def _augmentation(self, run) -> Augmentation:
        if self.name not in run.state:
            run.state[self.name] = Augmentation(run.data, run.config.get(AugmentConfig).augment, run.config.data.seed)
        return run.state[self.name]

    def wrap_step(self, step, run):
        return self._augmentation(run).step(step)

    def callbacks(self, run):
        return [self._augmentation(run)]

    def name_part(self, config):
        return f"_aug{config.get(AugmentConfig).augment}"
