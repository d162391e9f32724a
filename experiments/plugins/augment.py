"""``--augment`` and ``--elastic``: the training step on randomly shifted (and, where the class allows,
mirrored) images, and on elastically distorted ones (Simard, Steinkraus and Platt 2003)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import click
import numpy as np

import nn

from ..errors import ConfigError
from ..options import NON_NEGATIVE, FiniteFloat, option
from ..plugin import Changes, Plugin, Priority


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
    elastic: float = option(
        0.0,
        "--elastic",
        type=NON_NEGATIVE,
        help="Elastic distortions of training images (Simard et al. 2003): each pixel moves along a random "
        "displacement field, uniform in [-1, 1], smoothed by a Gaussian of --elastic_sigma pixels and scaled "
        "by this factor (alpha; Simard used 34 with sigma 4 on MNIST) (0: off).",
    )
    elastic_sigma: float = option(
        4.0,
        "--elastic_sigma",
        "--elastic-sigma",
        type=FiniteFloat(min=0.0, min_open=True),
        help="--elastic: width in pixels of the Gaussian that smooths the displacement field.",
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


def displacement_fields(
    n: int, image_shape: Sequence[int], alpha: float, sigma: float, rng: np.random.Generator
) -> np.ndarray:
    """``2 x n x H x W`` float32 displacements (rows, then columns), one smooth random field per image:
    ``alpha * (G_sigma * U)`` with ``U = 2 * rng.random(float32) - 1`` uniform in [-1, 1) per pixel, and
    ``G_sigma *`` the Gaussian filter of width ``sigma`` over each image (zeros beyond its edges)."""
    from scipy.ndimage import gaussian_filter1d

    h, w = image_shape[:2]
    fields = rng.random((2, n, h, w), dtype=np.float32)
    fields = fields * np.float32(2.0) - np.float32(1.0)
    for axis in (2, 3):
        fields = gaussian_filter1d(fields, sigma, axis=axis, mode="constant")
    return fields * np.float32(alpha)


def warp(images: np.ndarray, image_shape: Sequence[int], fields: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Each image resampled along its field: ``out[i, j] = image(i + dy[i, j], j + dx[i, j])`` by bilinear
    interpolation between the four pixels around that point, those outside the image taken as ``fill``
    (scipy's ``map_coordinates(order=1, mode="grid-constant")``). Rows of ``H * W`` pixels in and out.

    The images are padded with ``fill`` as far as the largest displacement reaches, so the four
    neighbours are plain gathers from one flat array, with no test for the border."""
    n = images.shape[0]
    h, w = image_shape[:2]
    p = int(np.ceil(np.abs(fields).max(initial=0.0))) + 1
    padded = np.full((n, h + 2 * p, w + 2 * p), fill, dtype=fields.dtype)
    padded[:, p : p + h, p : p + w] = images.reshape(n, h, w)
    y = fields[0] + (np.arange(h, dtype=fields.dtype)[:, None] + p)
    x = fields[1] + (np.arange(w, dtype=fields.dtype) + p)
    y0, x0 = np.floor(y), np.floor(x)
    fy, fx = y - y0, x - x0
    width = w + 2 * p
    corner = (y0.astype(np.intp) * width + x0.astype(np.intp)).reshape(n, -1)
    corner += (np.arange(n) * padded[0].size)[:, None]
    flat = padded.ravel()
    top = flat[corner] * (1 - fx).reshape(n, -1) + flat[corner + 1] * fx.reshape(n, -1)
    bottom = flat[corner + width] * (1 - fx).reshape(n, -1) + flat[corner + width + 1] * fx.reshape(n, -1)
    out = top * (1 - fy).reshape(n, -1) + bottom * fy.reshape(n, -1)
    return out.astype(images.dtype, copy=False)


def elastic_distort(
    images: np.ndarray, image_shape: Sequence[int], alpha: float, sigma: float, rng: np.random.Generator, fill=0.0
) -> np.ndarray:
    """Simard et al. (2003)'s elastic distortion of each image: :func:`warp` along its own
    :func:`displacement_fields`."""
    return warp(images, image_shape, displacement_fields(images.shape[0], image_shape, alpha, sigma, rng), fill)


class Augmentation(nn.Callback):
    """Transforms each training mini-batch: back to pixels (the fitted scaling and any pixel permutation
    undone), :func:`elastic_distort` (with ``--elastic``), :func:`shift_and_flip` (with ``--augment``),
    and the preprocessing again, so the images move, not the scaled values. The random stream is drawn
    afresh from ``(seed, epoch)`` at every epoch, so a resumed run augments exactly as an uninterrupted one."""

    def __init__(self, data, max_shift: int, seed: int, elastic: float = 0.0, elastic_sigma: float = 4.0):
        self.preprocessing, self.image_shape = data.preprocessing, data.image_shape
        self.max_shift, self.seed = int(max_shift), int(seed)
        self.elastic, self.elastic_sigma = float(elastic), float(elastic_sigma)
        self.flip = data.info.mirror_invariant and self.max_shift > 0  # mirroring is part of --augment
        self.rng = np.random.default_rng([self.seed, 11, 0])

    def on_epoch_begin(self, epoch, n_batches):
        self.rng = np.random.default_rng([self.seed, 11, epoch])

    def transform(self, x: np.ndarray) -> np.ndarray:
        pixels = self.preprocessing.invert(x)
        if self.elastic:
            pixels = elastic_distort(pixels, self.image_shape, self.elastic, self.elastic_sigma, self.rng)
        if self.max_shift:
            pixels = shift_and_flip(pixels, self.image_shape, self.max_shift, self.flip, self.rng)
        return self.preprocessing.apply(pixels).astype(x.dtype, copy=False)

    def step(self, inner):
        """The training step ``inner`` on the transformed batch."""

        def augmented_step(model, loss, x, y):
            return inner(model, loss, self.transform(x), y)

        return augmented_step


class Augment(Plugin[list]):
    name = "augment"
    example = {"augment": 1, "elastic": 8.0}
    changes = Changes(trajectory=True)
    section = AugmentConfig
    priority = Priority.DATA + 1  # after adversarial training's step: it moves the images that step sees

    def new_state(self) -> list:
        return []  # the run's Augmentation (its step wrapper and callback)

    def enabled(self, config):
        section = config.get(AugmentConfig)
        return section.augment > 0 or section.elastic > 0

    def check(self, config, data):
        shift = config.get(AugmentConfig).augment
        if data.image_shape is None or not data.task.classifies:
            flag = "--augment shifts" if shift else "--elastic distorts"
            raise ConfigError(f"{flag} images: it needs an image classification data set, not {data.name}")
        if shift >= min(data.image_shape):
            raise ConfigError(
                f"--augment {shift}: a shift must be smaller than the "
                f"{data.image_shape[0]}x{data.image_shape[1]} images"
            )

    def _augmentation(self, run) -> Augmentation:
        kept = run.state_of(self)
        if not kept:
            section = run.config.get(AugmentConfig)
            kept.append(
                Augmentation(run.data, section.augment, run.config.data.seed, section.elastic, section.elastic_sigma)
            )
        return kept[0]

    def wrap_step(self, step, run):
        return self._augmentation(run).step(step)

    def callbacks(self, run):
        return [self._augmentation(run)]

    def name_part(self, config):
        section = config.get(AugmentConfig)
        return (f"_aug{section.augment}" if section.augment else "") + (
            f"_el{section.elastic:g}" if section.elastic else ""
        )
