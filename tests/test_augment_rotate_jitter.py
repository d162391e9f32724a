"""``--rotate`` and the colour jitter (``--brightness``, ``--contrast``, ``--saturation``) of the augment
plugin: rotations against scipy's ``ndimage.rotate``, the jitter against torchvision's ``ColorJitter``
equations written out here per image and per pixel, the draws' order, the pixel space they act in, the
channel images the shifts and elastic distortions now take, and the one-line refusals."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.ndimage import map_coordinates, rotate

import datasets
from experiments.plugins.augment import (
    Augmentation,
    elastic_distort,
    jitter_colours,
    pixel_range,
    random_rotate,
    rotate_images,
    shift_and_flip,
    warp,
)
from tests.test_cli import run_cli


def scipy_rotated(image, angle, fill, mode):
    """scipy's rotation of one ``H x W`` or ``H x W x C`` image (in the plane of its first two axes)."""
    return rotate(image, angle, axes=(1, 0), reshape=False, order=1, mode=mode, cval=fill)


# -- rotation -----------------------------------------------------------------------------------------
ANGLES = np.array([0.0, 90.0, -90.0, 33.0, -12.5, 171.3, 180.0])


@pytest.mark.parametrize("shape", [(7, 9), (8, 8), (6, 5, 3)])
def test_rotation_is_scipys_about_the_centre_with_the_same_sign(shape):
    """Against ``scipy.ndimage.rotate(image, angle, reshape=False, order=1)``: everywhere with
    ``mode="grid-constant"`` (the fill blended in at the border), and with ``mode="constant"`` on the
    centred disc whose points come from inside the image (scipy does not blend there)."""
    rng = np.random.default_rng(1)
    images = rng.random((len(ANGLES), int(np.prod(shape)))).astype(np.float32)
    out = rotate_images(images, shape, ANGLES, fill=0.25)
    assert out.dtype == np.float32 and out.shape == images.shape
    h, w = shape[:2]
    rows, cols = np.mgrid[0:h, 0:w]
    disc = np.hypot(rows - (h - 1) / 2, cols - (w - 1) / 2) <= (min(h, w) - 1) / 2
    for k, angle in enumerate(ANGLES):
        image = images[k].reshape(shape).astype(np.float64)
        mine = out[k].reshape(shape)
        np.testing.assert_allclose(mine, scipy_rotated(image, angle, 0.25, "grid-constant"), atol=1e-6)
        np.testing.assert_allclose(mine[disc], scipy_rotated(image, angle, 0.25, "constant")[disc], atol=1e-6)


def test_a_positive_angle_turns_counter_clockwise_as_displayed():
    image = np.zeros((5, 5))
    image[0, 2] = 1.0  # top middle
    turned = rotate_images(image.reshape(1, 25), (5, 5), np.array([90.0])).reshape(5, 5)
    expected = np.zeros((5, 5))
    expected[2, 0] = 1.0  # left middle
    np.testing.assert_allclose(turned, expected, atol=1e-12)
    back = rotate_images(image.reshape(1, 25), (5, 5), np.array([-90.0])).reshape(5, 5)
    assert back[2, 4] == pytest.approx(1.0)


def test_random_rotations_draw_one_uniform_angle_per_image():
    images = np.random.default_rng(2).random((50, 36))
    out = random_rotate(images, (6, 6), 30.0, np.random.default_rng(3), fill=-1.0)
    angles = np.random.default_rng(3).uniform(-30.0, 30.0, 50)
    assert np.abs(angles).max() <= 30.0 and angles.min() < -20 and angles.max() > 20
    for k in range(50):
        expected = scipy_rotated(images[k].reshape(6, 6), angles[k], -1.0, "grid-constant")
        np.testing.assert_allclose(out[k].reshape(6, 6), expected, atol=1e-12)


# -- channels: shifts and elastic distortions on RGB images --------------------------------------------
def test_shifts_and_flips_move_every_channel_with_its_pixel():
    images = np.random.default_rng(4).random((8, 5 * 4 * 3))
    out = shift_and_flip(images, (5, 4, 3), 2, True, np.random.default_rng(5), fill=-1.0)
    draws = np.random.default_rng(5)
    dy, dx = draws.integers(-2, 3, size=(2, 8))
    mirrored = draws.random(8) < 0.5
    for k in range(8):
        source = images[k].reshape(5, 4, 3)
        expected = np.full((5, 4, 3), -1.0)  # out[i, j, c] = in[i - dy, j - dx, c], then the mirror
        for i in range(5):
            for j in range(4):
                if 0 <= i - dy[k] < 5 and 0 <= j - dx[k] < 4:
                    expected[i, j] = source[i - dy[k], j - dx[k]]
        if mirrored[k]:
            expected = expected[:, ::-1]
        np.testing.assert_array_equal(out[k].reshape(5, 4, 3), expected)


def test_warp_moves_every_channel_along_its_images_field():
    rng = np.random.default_rng(6)
    images = rng.random((3, 6 * 7 * 3))
    fields = rng.uniform(-2.5, 2.5, size=(2, 3, 6, 7))
    out = warp(images, (6, 7, 3), fields, fill=0.5)
    rows, cols = np.mgrid[0:6, 0:7]
    for k in range(3):
        for c in range(3):
            plane = images[k].reshape(6, 7, 3)[:, :, c]
            expected = map_coordinates(
                plane, [rows + fields[0, k], cols + fields[1, k]], order=1, mode="grid-constant", cval=0.5
            )
            np.testing.assert_allclose(out[k].reshape(6, 7, 3)[:, :, c], expected, atol=1e-12)


# -- colour jitter ---------------------------------------------------------------------------------------
def reference_jitter(images, strengths, rng, lo, hi):
    """torchvision's ColorJitter without hue, brightness -> contrast -> saturation, one image and one
    pixel at a time, clipped after each step; factors drawn from ``rng`` in that order, each for the
    whole batch, only where the strength is not 0."""
    b, c, s = strengths
    n = len(images)
    fb = rng.uniform(max(0.0, 1 - b), 1 + b, n) if b else None
    fc = rng.uniform(max(0.0, 1 - c), 1 + c, n) if c else None
    fs = rng.uniform(max(0.0, 1 - s), 1 + s, n) if s else None
    out = np.array(images, dtype=np.float64)
    for k in range(n):
        x = out[k]
        rgb = x.ndim == 3
        if fb is not None:
            x = np.clip(x * fb[k], lo, hi)
        if fc is not None:
            gray = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2] if rgb else x
            x = np.clip(fc[k] * x + (1 - fc[k]) * gray.mean(), lo, hi)
        if fs is not None:
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    r, g, bl = x[i, j]
                    gray = 0.299 * r + 0.587 * g + 0.114 * bl
                    x[i, j] = np.clip(fs[k] * x[i, j] + (1 - fs[k]) * gray, lo, hi)
        out[k] = x
    return out


@pytest.mark.parametrize(
    "strengths", [(0.4, 0.0, 0.0), (0.0, 0.5, 0.0), (0.0, 0.0, 0.7), (0.3, 0.6, 0.9), (1.5, 0.0, 2.0)]
)
def test_rgb_colour_jitter_follows_torchvisions_equations(strengths):
    images = np.random.default_rng(7).uniform(0, 255, size=(12, 4, 5, 3))
    out = jitter_colours(images.reshape(12, -1), (4, 5, 3), strengths, np.random.default_rng(8), (0.0, 255.0))
    expected = reference_jitter(images, strengths, np.random.default_rng(8), 0.0, 255.0)
    np.testing.assert_allclose(out.reshape(12, 4, 5, 3), expected, rtol=1e-12, atol=1e-9)
    assert out.min() >= 0.0 and out.max() <= 255.0
    if strengths[0] > 1:  # factors from [0, 2.5]: some images saturate at the top of the range
        assert np.any(out == 255.0)


def test_grey_images_take_brightness_and_contrast_and_refuse_saturation():
    images = np.random.default_rng(9).uniform(0.2, 0.8, size=(10, 6, 6))
    out = jitter_colours(images.reshape(10, -1), (6, 6), (0.5, 0.8, 0.0), np.random.default_rng(10), (0.2, 0.8))
    expected = reference_jitter(images, (0.5, 0.8, 0.0), np.random.default_rng(10), 0.2, 0.8)
    np.testing.assert_allclose(out.reshape(10, 6, 6), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="saturation"):
        jitter_colours(images.reshape(10, -1), (6, 6), (0.0, 0.0, 0.5), np.random.default_rng(0), (0.0, 1.0))


def test_contrast_keeps_the_gray_mean_and_saturation_the_gray_of_each_pixel_when_nothing_clips():
    """The blends' fixed points: ``f x + (1 - f) m`` keeps the mean grayscale ``m``; ``f x + (1 - f) g``
    keeps each pixel's grayscale ``g`` (the weights sum to 1)."""
    images = np.random.default_rng(11).uniform(100, 150, size=(6, 3, 3, 3))
    weights = np.array([0.299, 0.587, 0.114])
    contrast = jitter_colours(images.reshape(6, -1), (3, 3, 3), (0, 0.5, 0), np.random.default_rng(0), (0, 255))
    np.testing.assert_allclose(
        (contrast.reshape(6, 9, 3) @ weights).mean(1), (images.reshape(6, 9, 3) @ weights).mean(1)
    )
    saturated = jitter_colours(images.reshape(6, -1), (3, 3, 3), (0, 0, 0.5), np.random.default_rng(0), (0, 255))
    np.testing.assert_allclose(saturated.reshape(6, 9, 3) @ weights, images.reshape(6, 9, 3) @ weights)
    assert not np.allclose(saturated, images.reshape(6, -1))


# -- in the training step: pixel space, draw order, value range --------------------------------------
def fake_data(shape, scaling, eight_bit=True, low=0.0, high=255.0, n=20):
    rng = np.random.default_rng(12)
    pixels = rng.uniform(low, high, size=(n, int(np.prod(shape))))
    if eight_bit:
        pixels = np.round(pixels)
    preprocessing = datasets.Preprocessing.fit(pixels.astype(np.float32), scaling)
    info = datasets.DatasetInfo("images", "classification", "fake", lambda d: None, ("a", "b"), eight_bit=eight_bit)
    x_train = preprocessing.apply(pixels.astype(np.float32))
    return SimpleNamespace(name="images", info=info, image_shape=shape, preprocessing=preprocessing, x_train=x_train)


@pytest.mark.parametrize("scaling", ["minmax", "standard"])
def test_every_transform_in_pixel_space_in_the_documented_order(scaling):
    """elastic -> rotation -> shift -> jitter, each drawing from the epoch's stream in that order, on the
    raw 0..255 pixels (clipped there), whatever the scaling the network sees."""
    data = fake_data((6, 6, 3), scaling)
    x = data.x_train.copy()
    pixels = data.preprocessing.invert(x)
    augmentation = Augmentation(data, 1, 5, elastic=6.0, elastic_sigma=2.0, rotate=20.0, jitter=(0.3, 0.3, 0.3))
    augmentation.on_epoch_begin(2, 1)
    out = augmentation.transform(x)
    rng = np.random.default_rng([5, 11, 2])
    expected = elastic_distort(pixels, (6, 6, 3), 6.0, 2.0, rng)
    angles = rng.uniform(-20.0, 20.0, len(x))
    expected = np.stack([scipy_rotated(e.reshape(6, 6, 3), a, 0.0, "grid-constant") for e, a in zip(expected, angles)])
    expected = shift_and_flip(expected.reshape(len(x), -1), (6, 6, 3), 1, False, rng)
    expected = reference_jitter(expected.reshape(len(x), 6, 6, 3), (0.3, 0.3, 0.3), rng, 0.0, 255.0)
    assert out.dtype == x.dtype
    np.testing.assert_allclose(data.preprocessing.invert(out), expected.reshape(len(x), -1), atol=2e-3)


def test_float_images_clip_to_their_training_range_and_eight_bit_ones_to_0_255():
    floats = fake_data((4, 4), "standard", eight_bit=False, low=0.1, high=0.9)
    raw = floats.preprocessing.invert(floats.x_train)
    assert pixel_range(floats) == pytest.approx((raw.min(), raw.max()), abs=1e-6)
    assert pixel_range(fake_data((4, 4), "minmax")) == (0.0, 255.0)
    augmentation = Augmentation(floats, 0, 0, jitter=(0.9, 0.0, 0.0))
    augmentation.on_epoch_begin(1, 1)
    brightened = floats.preprocessing.invert(augmentation.transform(floats.x_train.copy()))
    assert brightened.max() == pytest.approx(raw.max(), abs=1e-5) and brightened.min() >= raw.min() - 1e-5
    assert np.any(np.isclose(brightened, raw.max(), atol=1e-5).sum(1) > 1)  # clipped: many pixels at the top


def test_without_the_new_transforms_the_stream_is_the_one_before():
    """A run with only --augment and --elastic draws as it did: the new transforms draw nothing when off."""
    data = fake_data((6, 6), "minmax")
    augmentation = Augmentation(data, 2, 3, elastic=5.0, elastic_sigma=2.0)
    augmentation.on_epoch_begin(4, 1)
    out = data.preprocessing.invert(augmentation.transform(data.x_train.copy()))
    rng = np.random.default_rng([3, 11, 4])
    pixels = elastic_distort(data.preprocessing.invert(data.x_train), (6, 6), 5.0, 2.0, rng)
    np.testing.assert_allclose(out, shift_and_flip(pixels, (6, 6), 2, False, rng), atol=1e-3)


# -- through the command line ---------------------------------------------------------------------------
def write_images(path, channels, n=60):
    rng = np.random.default_rng(13)
    shape = (n, 6, 6) + ((channels,) if channels else ())
    np.savez(path, x=rng.integers(0, 256, size=shape, dtype=np.uint8), y=rng.integers(0, 3, n))
    return str(path)


@pytest.mark.parametrize(
    "args, message",
    [
        (["-d", "digits", "--saturation", "0.5"], "--saturation needs RGB images (H x W x 3); digits has 8x8 images"),
        (["-d", "diabetes", "-l", "mean_squared_error", "--rotate", "10"], "--rotate rotates images: it needs"),
        (["-d", "sine", "-l", "mean_squared_error", "--contrast", "0.2"], "--contrast jitters images: it needs"),
        (
            ["-d", "FOUR", "--brightness", "0.2"],
            "--brightness jitters grey or RGB images only; four.npz has 6x6x4 images",
        ),
        (["-d", "digits", "--rotate", "181"], "--rotate"),
        (["-d", "digits", "--brightness", "-0.1"], "--brightness"),
    ],
)
def test_what_cannot_run_exits_2_with_one_line(tmp_path, args, message):
    write_images(tmp_path / "four.npz", 4)
    args = ["four.npz" if a == "FOUR" else a for a in args]  # relative: the run's folder
    result = run_cli([*args, "-e", "1", "--wandb_mode", "disabled", "--output_dir", "runs"], tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_an_rgb_run_with_every_transform_trains_and_names_them(tmp_path):
    images = write_images(tmp_path / "rgb.npz", 3)
    flags = ["--augment", "1", "--elastic", "4", "--rotate", "15"]
    flags += ["--brightness", "0.2", "--contrast", "0.3", "--saturation", "0.4"]
    result = run_cli(
        ["-d", images, "-e", "2", "-nhl", "1", "-sz", "8", "--wandb_mode", "disabled", "--output_dir", "runs", *flags],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run = next((tmp_path / "runs").iterdir())
    assert "_aug1_el4_rot15_br0.2_ct0.3_sat0.4" in run.name
    assert (run / "summary.json").is_file()
