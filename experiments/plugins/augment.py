"""``--augment``, ``--elastic``, ``--rotate`` and the colour jitter (``--brightness``, ``--contrast``,
``--saturation``): the training step on randomly shifted (and, where the class allows, mirrored) images,
on elastically distorted ones (Simard, Steinkraus and Platt 2003), on rotated ones, and on ones whose
brightness, contrast and saturation vary (torchvision's ``ColorJitter`` equations).

Every transform works on the raw pixels (0..255 for 8-bit images), not on the scaled values the network
sees (:class:`Augmentation`). Images are rows of ``H * W`` (grey) or ``H * W * C`` values (channels
last, row-major, as the loader flattens ``N x H x W x C``)."""

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
    rotate: float = option(
        0.0,
        "--rotate",
        type=FiniteFloat(0.0, 180.0),
        help="Rotate each training image about its centre by its own random angle, uniform in "
        "[-DEGREES, DEGREES] (bilinear; corners from outside take the background, 0) (0: off).",
    )
    brightness: float = option(
        0.0,
        "--brightness",
        type=NON_NEGATIVE,
        help="Colour jitter: multiply each training image's pixels by a factor uniform in [max(0, 1-B), 1+B], "
        "clipped to the pixel range (torchvision's ColorJitter) (0: off).",
    )
    contrast: float = option(
        0.0,
        "--contrast",
        type=NON_NEGATIVE,
        help="Colour jitter: blend each training image with the mean of its grayscale, f*x + (1-f)*mean, f uniform "
        "in [max(0, 1-C), 1+C] (0: off).",
    )
    saturation: float = option(
        0.0,
        "--saturation",
        type=NON_NEGATIVE,
        help="Colour jitter of RGB images: blend each training image with its per-pixel grayscale "
        "(0.299R+0.587G+0.114B), f*x + (1-f)*gray, f uniform in [max(0, 1-S), 1+S] (0: off).",
    )


def shift_and_flip(
    images: np.ndarray,
    image_shape: Sequence[int],
    max_shift: int,
    flip: bool,
    rng: np.random.Generator,
    fill: float = 0.0,
) -> np.ndarray:
    """Each image (a row of ``images``, ``H * W`` pixels, times ``C`` channels last) moved by its own
    random ``(dy, dx)``, each uniform in ``{-max_shift, ..., max_shift}``:
    ``out[i, j] = image[i - dy, j - dx]``, pixels moved in from outside set to ``fill`` (the
    background). With ``flip``, each image is then mirrored left to right with probability 1/2.
    Returns a new array; the draws are ``rng.integers`` for ``dy`` then ``dx`` (one per image each),
    then ``rng.random`` for the flips."""
    n = images.shape[0]
    h, w = image_shape[:2]
    s = int(max_shift)
    channels = tuple(image_shape[2:])  # () for grey images; every channel moves with its pixel
    out = images.reshape(n, h, w, *channels)
    if s:
        padded = np.full((n, h + 2 * s, w + 2 * s, *channels), fill, dtype=images.dtype)
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
    return out.reshape(n, -1)


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
    (scipy's ``map_coordinates(order=1, mode="grid-constant")``). Rows of ``H * W`` pixels in and out
    (``H * W * C`` with channels, each channel moved along the image's one field).

    The images are padded with ``fill`` as far as the largest displacement reaches, so the four
    neighbours are plain gathers from one flat array, with no test for the border."""
    n = images.shape[0]
    h, w = image_shape[:2]
    c = int(np.prod(image_shape[2:], dtype=np.int64))  # channels (1: grey) share their pixel's weights
    p = int(np.ceil(np.abs(fields).max(initial=0.0))) + 1
    padded = np.full((n, h + 2 * p, w + 2 * p, c), fill, dtype=fields.dtype)
    padded[:, p : p + h, p : p + w] = images.reshape(n, h, w, c)
    y = fields[0] + (np.arange(h, dtype=fields.dtype)[:, None] + p)
    x = fields[1] + (np.arange(w, dtype=fields.dtype) + p)
    y0, x0 = np.floor(y), np.floor(x)
    fy, fx = (y - y0).reshape(n, -1, 1), (x - x0).reshape(n, -1, 1)
    width = w + 2 * p
    corner = (y0.astype(np.intp) * width + x0.astype(np.intp)).reshape(n, -1)
    corner += (np.arange(n) * (padded[0].size // c))[:, None]
    flat = padded.reshape(-1, c)  # one row per pixel
    top = flat[corner] * (1 - fx) + flat[corner + 1] * fx
    bottom = flat[corner + width] * (1 - fx) + flat[corner + width + 1] * fx
    out = (top * (1 - fy) + bottom * fy).reshape(n, -1)
    return out.astype(images.dtype, copy=False)


def elastic_distort(
    images: np.ndarray, image_shape: Sequence[int], alpha: float, sigma: float, rng: np.random.Generator, fill=0.0
) -> np.ndarray:
    """Simard et al. (2003)'s elastic distortion of each image: :func:`warp` along its own
    :func:`displacement_fields`."""
    return warp(images, image_shape, displacement_fields(images.shape[0], image_shape, alpha, sigma, rng), fill)


def rotation_fields(angles: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
    """``2 x n x H x W`` float64 displacements (rows, then columns) that rotate image ``k`` by
    ``angles[k]`` degrees about its centre ``(cy, cx) = ((H - 1) / 2, (W - 1) / 2)``, counter-clockwise
    as the image is displayed (row 0 at the top) for a positive angle: scipy's ``ndimage.rotate``
    convention (and torchvision's). Each output pixel ``(i, j)`` is inverse-mapped to the point it comes
    from, with ``u = i - cy``, ``v = j - cx``::

        source row    = cy + cos(t) u + sin(t) v
        source column = cx - sin(t) u + cos(t) v

    and the field is that point minus ``(i, j)`` (what :func:`warp` reads)."""
    h, w = image_shape[:2]
    t = np.deg2rad(np.asarray(angles, dtype=np.float64))[:, None, None]
    u = (np.arange(h) - (h - 1) / 2.0)[:, None]
    v = np.arange(w) - (w - 1) / 2.0
    cos, sin = np.cos(t), np.sin(t)
    return np.stack([cos * u + sin * v - u, cos * v - sin * u - v])


def rotate_images(images: np.ndarray, image_shape: Sequence[int], angles: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Each image rotated by its angle in degrees (:func:`rotation_fields`'s convention), bilinearly
    interpolated, points outside the image taken as ``fill``: scipy's ``ndimage.rotate(image, angle,
    reshape=False, order=1, mode="grid-constant", cval=fill)`` (with ``mode="constant"`` scipy gives the
    border pixels whose source lies less than a pixel outside the image ``fill`` instead of blending)."""
    return warp(images, image_shape, rotation_fields(angles, image_shape), fill)


def random_rotate(
    images: np.ndarray, image_shape: Sequence[int], max_degrees: float, rng: np.random.Generator, fill: float = 0.0
) -> np.ndarray:
    """:func:`rotate_images` by angles ``rng.uniform(-max_degrees, max_degrees, n)``, one per image."""
    angles = np.asarray(rng.uniform(-max_degrees, max_degrees, size=images.shape[0]))
    return rotate_images(images, image_shape, angles, fill)


GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as torchvision's rgb_to_grayscale


def grayscale(images: np.ndarray) -> np.ndarray:
    """``n x H x W`` grayscale of ``n x H x W x 3`` RGB images, ``0.299 R + 0.587 G + 0.114 B``; grey
    images (``n x H x W``) are their own grayscale."""
    return images @ GRAY_WEIGHTS if images.ndim == 4 else images


def jitter_colours(
    images: np.ndarray,
    image_shape: Sequence[int],
    strengths: tuple[float, float, float],
    rng: np.random.Generator,
    value_range: tuple[float, float],
) -> np.ndarray:
    """torchvision's ``ColorJitter`` (without hue) in its equations, applied in the fixed order
    brightness, contrast, saturation (torchvision draws a random order per call; here the order is
    fixed), each image with its own factors. ``strengths = (B, C, S)``; a non-zero one draws
    ``f = rng.uniform(max(0, 1 - B), 1 + B, n)`` (brightness first, then contrast, then saturation),
    and each step is clipped to ``value_range = (lo, hi)``, the raw pixels' range, as torchvision
    clips to [0, 1] (floats) or [0, 255] (8 bits)::

        brightness  x <- clip(f x)
        contrast    x <- clip(f x + (1 - f) mean(gray(x)))    the mean over the image's pixels
        saturation  x <- clip(f x + (1 - f) gray(x))          per pixel, over the channels

    with ``gray`` :func:`grayscale`. Grey images (``image_shape`` ``(H, W)``) take brightness and
    contrast (their grayscale is themselves); saturation needs RGB (``(H, W, 3)``)."""
    channels = tuple(image_shape[2:])
    if channels not in ((), (3,)) or (strengths[2] and not channels):
        raise ValueError(f"colour jitter needs grey or RGB images (saturation: RGB), not {tuple(image_shape)}")
    n = images.shape[0]
    out = images.reshape(n, *image_shape)
    lo, hi = value_range
    for kind, strength in zip(("brightness", "contrast", "saturation"), strengths, strict=True):
        if not strength:
            continue
        f = np.asarray(rng.uniform(max(0.0, 1.0 - strength), 1.0 + strength, size=n))
        target: float | np.ndarray
        if kind == "brightness":
            target = 0.0
        elif kind == "contrast":
            target = grayscale(out).mean(axis=(1, 2)).reshape(n, *([1] * (out.ndim - 1)))
        else:
            target = grayscale(out)[..., None]
        f = f.reshape(n, *([1] * (out.ndim - 1)))
        out = np.clip(f * out + (1.0 - f) * target, lo, hi)
    return out.reshape(n, -1).astype(images.dtype, copy=False)


def pixel_range(data) -> tuple[float, float]:
    """The raw pixels' range the colour jitter clips to: [0, 255] for 8-bit images; for an image file of
    floats, the training split's smallest and largest pixel (the range min-max scaling maps to [0, 1])."""
    if data.info.eight_bit:
        return 0.0, 255.0
    lo, hi = np.inf, -np.inf
    for start in range(0, len(data.x_train), 4096):
        chunk = data.preprocessing.invert(data.x_train[start : start + 4096])
        lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
    return lo, hi


class Augmentation(nn.Callback):
    """Transforms each training mini-batch: back to pixels (the fitted scaling and any pixel permutation
    undone), then in this order :func:`elastic_distort` (``--elastic``), :func:`random_rotate`
    (``--rotate``), :func:`shift_and_flip` (``--augment``) and :func:`jitter_colours` (``--brightness``,
    ``--contrast``, ``--saturation``, clipped to :func:`pixel_range`), and the preprocessing again, so
    the images move and change, not the scaled values. The random draws come in that order too, each
    only when its transform is on (so a run without the new transforms draws exactly as before). The
    random stream is drawn afresh from ``(seed, epoch)`` at every epoch, so a resumed run augments
    exactly as an uninterrupted one."""

    def __init__(
        self,
        data,
        max_shift: int,
        seed: int,
        elastic: float = 0.0,
        elastic_sigma: float = 4.0,
        rotate: float = 0.0,
        jitter: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ):
        self.preprocessing, self.image_shape = data.preprocessing, data.image_shape
        self.max_shift, self.seed = int(max_shift), int(seed)
        self.elastic, self.elastic_sigma = float(elastic), float(elastic_sigma)
        self.rotate = float(rotate)
        self.jitter = tuple(float(strength) for strength in jitter)
        self.value_range = pixel_range(data) if any(self.jitter) else (0.0, 255.0)
        self.flip = data.info.mirror_invariant and self.max_shift > 0  # mirroring is part of --augment
        self.rng = np.random.default_rng([self.seed, 11, 0])

    def on_epoch_begin(self, epoch, n_batches):
        self.rng = np.random.default_rng([self.seed, 11, epoch])

    def transform(self, x: np.ndarray) -> np.ndarray:
        pixels = self.preprocessing.invert(x)
        if self.elastic:
            pixels = elastic_distort(pixels, self.image_shape, self.elastic, self.elastic_sigma, self.rng)
        if self.rotate:
            pixels = random_rotate(pixels, self.image_shape, self.rotate, self.rng)
        if self.max_shift:
            pixels = shift_and_flip(pixels, self.image_shape, self.max_shift, self.flip, self.rng)
        if any(self.jitter):
            strengths = (self.jitter[0], self.jitter[1], self.jitter[2])
            pixels = jitter_colours(pixels, self.image_shape, strengths, self.rng, self.value_range)
        return self.preprocessing.apply(pixels).astype(x.dtype, copy=False)

    def step(self, inner):
        """The training step ``inner`` on the transformed batch."""

        def augmented_step(model, loss, x, y):
            return inner(model, loss, self.transform(x), y)

        return augmented_step


JITTER_FLAGS = ("brightness", "contrast", "saturation")


def _what(section: AugmentConfig) -> str:
    """The first transform switched on, as an error message names it."""
    for on, what in (
        (section.augment, "--augment shifts"),
        (section.elastic, "--elastic distorts"),
        (section.rotate, "--rotate rotates"),
    ):
        if on:
            return what
    flag = next(name for name in JITTER_FLAGS if getattr(section, name))
    return f"--{flag} jitters"


class Augment(Plugin[list]):
    name = "augment"
    example = {"augment": 1, "elastic": 8.0, "rotate": 10.0, "brightness": 0.2, "contrast": 0.2}
    changes = Changes(trajectory=True)
    section = AugmentConfig
    priority = Priority.DATA + 1  # after adversarial training's step: it moves the images that step sees

    def new_state(self) -> list:
        return []  # the run's Augmentation (its step wrapper and callback)

    def enabled(self, config):
        section = config.get(AugmentConfig)
        return section.augment > 0 or section.elastic > 0 or section.rotate > 0 or _jitter(section) != (0, 0, 0)

    def check(self, config, data):
        section = config.get(AugmentConfig)
        shift = section.augment
        if data.image_shape is None or not data.task.classifies:
            raise ConfigError(f"{_what(section)} images: it needs an image classification data set, not {data.name}")
        if shift >= min(data.image_shape[:2]):
            raise ConfigError(
                f"--augment {shift}: a shift must be smaller than the "
                f"{data.image_shape[0]}x{data.image_shape[1]} images"
            )
        channels = tuple(data.image_shape[2:])
        shape = "x".join(map(str, data.image_shape))
        if section.saturation and channels != (3,):
            raise ConfigError(f"--saturation needs RGB images (H x W x 3); {data.name} has {shape} images")
        if any(_jitter(section)) and channels not in ((), (3,)):
            raise ConfigError(f"{_what(section)} grey or RGB images only; {data.name} has {shape} images")

    def _augmentation(self, run) -> Augmentation:
        kept = run.state_of(self)
        if not kept:
            section = run.config.get(AugmentConfig)
            shifts = (section.augment, run.config.data.seed, section.elastic, section.elastic_sigma)
            kept.append(Augmentation(run.data, *shifts, rotate=section.rotate, jitter=_jitter(section)))
        return kept[0]

    def wrap_step(self, step, run):
        return self._augmentation(run).step(step)

    def callbacks(self, run):
        return [self._augmentation(run)]

    def name_part(self, config):
        section = config.get(AugmentConfig)
        parts = [("_aug", section.augment), ("_el", section.elastic), ("_rot", section.rotate)]
        parts += [("_br", section.brightness), ("_ct", section.contrast), ("_sat", section.saturation)]
        return "".join(f"{tag}{value:g}" for tag, value in parts if value)


def _jitter(section: AugmentConfig) -> tuple[float, float, float]:
    return section.brightness, section.contrast, section.saturation
