"""What a pure MLP needs past 90 %: learning-rate schedules, label smoothing, AdamW, augmentation;
each against its equations written out here or an independent implementation (PyTorch)."""

import math

import numpy as np
import pytest

import datasets
import nn
import optimizers
from experiments.plugins.augment import Augmentation, displacement_fields, elastic_distort, shift_and_flip, warp
from nn.schedules import learning_rate
from tests.test_gradients import H, relative_error


# -- schedules -------------------------------------------------------------------------------------
def expected_rates(schedule, base, n, epochs, warmup, step_epochs=2, gamma=0.5):
    rates = []
    for s in range(n * epochs):
        if s < warmup * n:
            rates.append(base * (s + 1) / (warmup * n))
        elif schedule == "constant":
            rates.append(base)
        elif schedule == "step":
            rates.append(base * gamma ** math.floor(s / (step_epochs * n)))
        else:
            p = (s - warmup * n) / (epochs * n - warmup * n)
            rates.append(base * (1 + math.cos(math.pi * p)) / 2)
    return rates


class RecordRate(nn.Callback):
    """Placed before the schedule: sees the rate the batch's update used."""

    def __init__(self, optimizer):
        self.optimizer, self.rates = optimizer, []

    def on_batch_end(self, epoch, batch, n_batches, logs):
        self.rates.append(self.optimizer.hp.learning_rate)


@pytest.mark.parametrize(
    "schedule, warmup", [("constant", 0), ("constant", 1), ("step", 0), ("step", 0.5), ("cosine", 0), ("cosine", 1.5)]
)
def test_every_update_uses_the_rate_of_the_schedule(schedule, warmup):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    model = nn.mlp([3, 4, 2], activation="tanh", weight_init="Xavier", dtype=np.float64)
    opt = optimizers.make("sgd", learning_rate=0.2)
    recorder = RecordRate(opt)
    schedule_callback = nn.LearningRateSchedule(opt, schedule, 6, warmup, step_epochs=2, gamma=0.5)
    history = nn.fit(
        model, "cross_entropy", opt, nn.Batches(x, y, 10), epochs=6, callbacks=[recorder, schedule_callback]
    )
    expected = expected_rates(schedule, 0.2, 4, 6, warmup)
    assert recorder.rates == pytest.approx(expected, rel=1e-12, abs=0)
    assert [h["learning_rate"] for h in history] == pytest.approx(expected[3::4], rel=1e-12)
    assert min(recorder.rates) > 0


def test_cosine_ends_near_zero_and_step_divides():
    assert learning_rate("cosine", 1.0, 99, 10, 10) == pytest.approx((1 + math.cos(math.pi * 0.99)) / 2)
    assert learning_rate("step", 1.0, 45, 10, 10, step_epochs=2, gamma=0.1) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="cosine"):
        learning_rate("linear", 1.0, 0, 1, 1)


def test_a_resumed_schedule_continues_where_it_was():
    opt = optimizers.make("sgd", learning_rate=0.1)
    callback = nn.LearningRateSchedule(opt, "cosine", 4, 1)
    callback.on_epoch_begin(3, 5)
    assert opt.hp.learning_rate == pytest.approx(expected_rates("cosine", 0.1, 5, 4, 1)[10])


# -- label smoothing -------------------------------------------------------------------------------
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothing_is_cross_entropy_with_softened_targets(smoothing):
    rng = np.random.default_rng(1)
    z, y = rng.normal(size=(5, 4)) * 3, np.array([0, 3, 1, 1, 2])
    loss = nn.losses.with_label_smoothing(nn.LOSSES["cross_entropy"], smoothing)
    value, grad = loss.value_and_grad(z.copy(), y)
    target = np.full((5, 4), smoothing / 4) + (1 - smoothing) * np.eye(4)[y]
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.sum(target * np.log(p), axis=1)), rel=1e-12)
    np.testing.assert_allclose(grad, (p - target) / 5, atol=1e-15)
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[index] += H
        minus[index] -= H
        numeric[index] = (loss.value_and_grad(plus, y, False)[0] - loss.value_and_grad(minus, y, False)[0]) / (2 * H)
    assert relative_error(grad, numeric) < 1e-7


def test_label_smoothing_applies_to_cross_entropy_only():
    with pytest.raises(ValueError, match="cross_entropy"):
        nn.losses.with_label_smoothing(nn.LOSSES["mean_squared_error"], 0.1)


# -- AdamW against PyTorch -------------------------------------------------------------------------
def test_adamw_follows_pytorch_adamw():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    w0, grads = rng.normal(size=7), rng.normal(size=(6, 7))
    hp = {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.9, "epsilon": 1e-3, "decoupled_weight_decay": 0.4}
    opt = optimizers.make("adamw", **hp)
    params = {"w": w0.copy()}
    state = opt.init(params)
    theirs = torch.tensor(w0.copy(), requires_grad=True)
    reference = torch.optim.AdamW([theirs], lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.4)
    for g in grads:
        opt.apply(params, {"w": g.copy()}, state)
        theirs.grad = torch.tensor(g.copy())
        reference.step()
        np.testing.assert_allclose(params["w"], theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adamw_without_decay_is_adam():
    rng = np.random.default_rng(3)
    a, b = {"w": rng.normal(size=5)}, None
    b = {"w": a["w"].copy()}
    adam, adamw = optimizers.make("adam"), optimizers.make("adamw", decoupled_weight_decay=0.0)
    sa, sb = adam.init(a), adamw.init(b)
    for g in rng.normal(size=(4, 5)):
        adam.apply(a, {"w": g.copy()}, sa)
        adamw.apply(b, {"w": g.copy()}, sb)
    np.testing.assert_array_equal(a["w"], b["w"])


# -- augmentation ----------------------------------------------------------------------------------
def test_shifts_move_every_image_by_its_own_draw_and_fill_the_border():
    images = np.zeros((6, 5 * 5))
    images[:, 2 * 5 + 2] = 1.0  # one bright pixel in the middle
    images[:, 0] = 0.5  # and one in the top-left corner
    out = shift_and_flip(images, (5, 5), 2, False, np.random.default_rng(4), fill=-1.0)
    dy, dx = np.random.default_rng(4).integers(-2, 3, size=(2, 6))
    for k in range(6):
        image = out[k].reshape(5, 5)
        assert image[2 + dy[k], 2 + dx[k]] == 1.0
        expected = np.full((5, 5), -1.0)  # written out: out[i, j] = in[i - dy, j - dx] or the fill
        source = images[k].reshape(5, 5)
        for i in range(5):
            for j in range(5):
                if 0 <= i - dy[k] < 5 and 0 <= j - dx[k] < 5:
                    expected[i, j] = source[i - dy[k], j - dx[k]]
        np.testing.assert_array_equal(image, expected)
    assert images[:, 12].tolist() == [1.0] * 6  # the input is not touched


def test_flips_mirror_about_half_the_images():
    images = np.tile(np.arange(12.0), (400, 1))  # 3 x 4 images
    out = shift_and_flip(images, (3, 4), 0, True, np.random.default_rng(5))
    mirrored = np.arange(12.0).reshape(3, 4)[:, ::-1].ravel()
    flipped = np.all(out == mirrored, axis=1)
    assert np.all(flipped | np.all(out == images, axis=1))
    assert 150 < flipped.sum() < 250


def fake_image_data(name, scaling):
    rng = np.random.default_rng(6)
    pixels = rng.integers(0, 256, size=(30, 36)).astype(np.float32)
    pixels[:, :6] = 0.0  # blank top row
    preprocessing = datasets.Preprocessing.fit(pixels.copy(), scaling)
    info = datasets.DATASETS[name]
    return type(
        "Data", (), {"name": name, "info": info, "image_shape": (6, 6), "preprocessing": preprocessing}
    )(), pixels


@pytest.mark.parametrize("scaling", ["minmax", "standard"])
def test_augmentation_moves_pixels_not_scaled_values_and_flips_only_clothes(scaling):
    data, pixels = fake_image_data("fashion_mnist", scaling)
    augmentation = Augmentation(data, 1, seed=0)
    assert augmentation.flip and not Augmentation(fake_image_data("mnist", scaling)[0], 1, 0).flip
    augmentation.on_epoch_begin(1, 1)
    x = data.preprocessing.apply(pixels.copy())
    moved = augmentation.transform(x)
    expected = shift_and_flip(pixels.astype(np.float64), (6, 6), 1, True, np.random.default_rng([0, 11, 1]))
    np.testing.assert_allclose(data.preprocessing.invert(moved), expected, atol=1e-3)
    assert moved.dtype == x.dtype


def test_each_epoch_augments_differently_and_reproducibly():
    data, pixels = fake_image_data("fashion_mnist", "minmax")
    x = data.preprocessing.apply(pixels.copy())
    first = Augmentation(data, 2, seed=3)
    first.on_epoch_begin(1, 1)
    a = first.transform(x)
    first.on_epoch_begin(2, 1)
    b = first.transform(x)
    again = Augmentation(data, 2, seed=3)
    again.on_epoch_begin(2, 1)
    assert not np.array_equal(a, b) and np.array_equal(again.transform(x), b)


def test_warp_is_bilinear_interpolation_as_scipy_computes_it():
    """The resampling against scipy's ``map_coordinates`` (order 1, constant fill beyond the edges,
    interpolated there too: ``grid-constant``), with displacements that reach past the border."""
    from scipy.ndimage import map_coordinates

    rng = np.random.default_rng(7)
    images = rng.random((4, 6 * 7))
    fields = rng.uniform(-3.0, 3.0, size=(2, 4, 6, 7))
    out = warp(images, (6, 7), fields, fill=-0.5)
    rows, cols = np.mgrid[0:6, 0:7]
    for k in range(4):
        expected = map_coordinates(
            images[k].reshape(6, 7), [rows + fields[0, k], cols + fields[1, k]], order=1, mode="grid-constant",
            cval=-0.5,
        )  # fmt: skip
        np.testing.assert_allclose(out[k].reshape(6, 7), expected, atol=1e-12)


def test_warp_by_whole_pixels_is_a_shift_and_by_zero_the_identity():
    images = np.random.default_rng(8).random((3, 25))
    np.testing.assert_array_equal(warp(images, (5, 5), np.zeros((2, 3, 5, 5))), images)
    fields = np.zeros((2, 3, 5, 5))
    fields[0] = -1.0  # out[i, j] = in[i - 1, j]: down by one row, the top row from outside
    shifted = warp(images, (5, 5), fields, fill=0.0).reshape(3, 5, 5)
    np.testing.assert_allclose(shifted[:, 1:], images.reshape(3, 5, 5)[:, :-1])
    assert np.all(shifted[:, 0] == 0.0)


def test_displacement_fields_are_smoothed_uniform_noise_scaled_by_alpha():
    """``alpha * G_sigma * U``: against scipy's 2-D ``gaussian_filter`` of the same uniform draws."""
    from scipy.ndimage import gaussian_filter

    fields = displacement_fields(3, (9, 8), 34.0, 2.0, np.random.default_rng(9))
    noise = 2.0 * np.random.default_rng(9).random((2, 3, 9, 8), dtype=np.float32) - 1.0
    expected = 34.0 * gaussian_filter(noise.astype(np.float64), sigma=(0, 0, 2.0, 2.0), mode="constant")
    assert fields.dtype == np.float32 and np.abs(noise).max() <= 1.0
    np.testing.assert_allclose(fields, expected, atol=1e-4)


def test_elastic_augmentation_distorts_pixels_not_scaled_values_and_does_not_flip():
    data, pixels = fake_image_data("fashion_mnist", "standard")
    augmentation = Augmentation(data, 0, seed=0, elastic=8.0, elastic_sigma=3.0)
    assert not augmentation.flip  # mirroring belongs to --augment
    augmentation.on_epoch_begin(1, 1)
    moved = augmentation.transform(data.preprocessing.apply(pixels.copy()))
    expected = elastic_distort(pixels.astype(np.float64), (6, 6), 8.0, 3.0, np.random.default_rng([0, 11, 1]))
    np.testing.assert_allclose(data.preprocessing.invert(moved), expected, atol=1e-3)
    assert not np.allclose(expected, pixels)


# -- through the command line ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_with_every_recipe_logs_its_learning_rate(tmp_path):
    import json

    from tests.test_cli import run_cli

    result = run_cli(
        [
            "-d",
            "digits",
            "-e",
            "3",
            "-nhl",
            "1",
            "-sz",
            "32",
            "-o",
            "adamw",
            "-dwd",
            "0.05",
            "--lr_schedule",
            "step",
            "--lr_step_epochs",
            "1",
            "--lr_gamma",
            "0.5",
            "--warmup_epochs",
            "0.5",
            "--label_smoothing",
            "0.1",
            "--augment",
            "1",
            "--wandb_mode",
            "disabled",
            "--output_dir",
            "r",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    run = next((tmp_path / "r").iterdir())
    assert run.name.endswith("_o_adamw_lr_0.001_ep_3_step_aug1_ls_0.1_digits")
    history = json.loads((run / "history.json").read_text())
    assert [h["learning_rate"] for h in history] == pytest.approx([0.001, 0.0005, 0.00025])


@pytest.mark.parametrize(
    "args, message",
    [
        (["-d", "digits", "-l", "mean_squared_error", "--label_smoothing", "0.1"], "label smoothing applies to"),
        (["-d", "diabetes", "-l", "mean_squared_error", "--augment", "1"], "--augment shifts images"),
        (["-d", "digits", "--augment", "8"], "a shift must be smaller than the 8x8 images"),
        (["-d", "digits", "--lr_schedule", "linear"], "'linear' is not one of constant, step, cosine"),
        (["-d", "digits", "--lr_gamma", "0"], "--lr_gamma"),
    ],
)
def test_recipe_flags_that_cannot_work_exit_2_with_one_line(tmp_path, args, message):
    from tests.test_cli import run_cli

    result = run_cli([*args, "--wandb_mode", "disabled", "--output_dir", "r"], tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "preset, sweep_file", [("fmnist_best", "fmnist_best_stage2.yaml"), ("mnist_best", "mnist_best.yaml")]
)
def test_the_best_presets_are_points_of_the_sweeps_that_found_them(preset, sweep_file):
    import yaml

    from experiments import config as configuration
    from experiments import presets
    from tests.conftest import ROOT

    values = presets.load_presets()[preset]
    parameters = yaml.safe_load((ROOT / "sweeps" / sweep_file).read_text())["parameters"]
    for key, spec in parameters.items():
        allowed = [spec["value"]] if "value" in spec else spec["values"]
        assert configuration.convert(key, values[key]) in [configuration.convert(key, v) for v in allowed], key
    config = presets.resolve({"preset": preset})
    assert config.data.dataset == preset.split("_")[0].replace("fmnist", "fashion_mnist")
