"""The training loop end to end on small synthetic data."""

import itertools

import numpy as np
import pytest

import nn
import optimizers
from tests.conftest import fit_arrays, proba


def train(data, seed=0, epochs=4, **kwargs):
    (x, y), validation = data
    model = nn.mlp([20, 16, 16, 3], activation="ReLU", weight_init="Xavier", seed=seed)
    opt = optimizers.make(kwargs.pop("optimizer", "adam"), learning_rate=0.01)
    history = fit_arrays(
        model, opt, x, y, epochs=epochs, batch_size=32, validation_data=validation, seed=seed, **kwargs
    )
    return model, history


def test_fit_learns_a_separable_problem(blobs):
    _, history = train(blobs)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["val_accuracy"] >= 0.97
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"):
        assert key in history[0]


def test_same_seed_gives_identical_training(blobs):
    def strip(history):
        return [{k: v for k, v in h.items() if "seconds" not in k} for h in history]

    a, history_a = train(blobs, seed=5)
    b, history_b = train(blobs, seed=5)
    c, _ = train(blobs, seed=6)
    assert strip(history_a) == strip(history_b)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert not np.array_equal(a.flat_params, c.flat_params)


def test_float32_training_stays_float32(blobs):
    model, _ = train(blobs, epochs=1)
    assert model.flat_params.dtype == model.flat_grads.dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert proba(model, blobs[1][0]).dtype == np.float32


def test_callbacks_see_every_epoch_and_can_stop_training(blobs):
    seen = []

    class StopAfterTwo(nn.Callback):
        def on_epoch_end(self, epoch, metrics):
            seen.append(metrics["epoch"])
            if epoch == 2:
                raise nn.StopTraining

    _, history = train(blobs, epochs=5, callbacks=[StopAfterTwo()])
    assert seen == [1, 2] and len(history) == 2


def test_divergence_is_reported(blobs):
    (x, y), _ = blobs
    model = nn.mlp([20, 8, 8, 3], activation="identity", weight_init="Xavier")
    with pytest.raises(nn.Diverged, match="diverged"), np.errstate(all="ignore"):
        fit_arrays(model, optimizers.make("sgd", learning_rate=1e4), x, y, epochs=5, batch_size=50)


def test_predict_proba_rows_are_distributions(blobs):
    model, _ = train(blobs, epochs=1)
    outputs = model.predict(blobs[1][0], batch_size=7)
    np.testing.assert_allclose(outputs, model.predict(blobs[1][0]), rtol=1e-5)  # chunks: same outputs
    p = nn.LOSSES["cross_entropy"].predict(outputs)
    assert p.shape == (100, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_model_save_load_round_trip_without_pickle(blobs, tmp_path):
    model, _ = train(blobs, epochs=1)
    path = model.save(tmp_path / "model.npz")
    loaded = nn.Sequential.load(path)
    assert loaded.config == model.config
    np.testing.assert_array_equal(loaded.flat_params, model.flat_params)
    np.testing.assert_array_equal(proba(loaded, blobs[1][0]), proba(model, blobs[1][0]))


def overlapping_blobs():
    """Three classes that overlap: the validation loss bottoms out after a few epochs and rises."""
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=0.7, size=(3, 20))
    y = rng.integers(0, 3, size=300)
    x = (centres[y] + rng.normal(size=(300, 20))).astype(np.float32)
    return (x[:200], y[:200]), (x[200:], y[200:])


def test_early_stopping_restores_the_best_weights():
    (x, y), validation = overlapping_blobs()
    model = nn.mlp([20, 16, 3], activation="ReLU", weight_init="Xavier", seed=0)
    snapshots = {}

    class Snapshot(nn.Callback):
        def on_epoch_end(self, epoch, metrics):
            snapshots[epoch] = (metrics["val_loss"], model.flat_params.copy())

    stopper = nn.EarlyStopping(model, patience=2, monitor="val_loss", mode="min")
    history = fit_arrays(
        model,
        optimizers.make("sgd", learning_rate=0.1),
        x,
        y,
        epochs=40,
        batch_size=16,
        validation_data=validation,
        callbacks=[Snapshot(), stopper],
        seed=0,
    )
    best_epoch = min(snapshots, key=lambda e: snapshots[e][0])
    assert stopper.stopped_epoch == len(history) == best_epoch + 2
    np.testing.assert_array_equal(model.flat_params, snapshots[best_epoch][1])
    assert nn.evaluate(model, "cross_entropy", *validation)["loss"] == pytest.approx(snapshots[best_epoch][0])


def test_loss_plateau_rule_stops_when_the_training_loss_settles(blobs):
    (x, y), _ = blobs
    rule = nn.LossPlateau(min_delta=0.05)
    model = nn.mlp([20, 8, 3], activation="ReLU", weight_init="Xavier")
    history = fit_arrays(
        model, optimizers.make("adam", learning_rate=0.01), x, y, epochs=50, batch_size=50, callbacks=[rule]
    )
    losses = [h["train_loss"] for h in history]
    assert rule.stopped_epoch == len(history) < 50
    assert abs(losses[-1] - losses[-2]) < 0.05
    assert all(abs(a - b) >= 0.05 for a, b in itertools.pairwise(losses[:-1]))


def test_every_callback_sees_the_epoch_a_stop_was_asked_in(blobs):
    seen = []

    class Stop(nn.Callback):
        def on_epoch_end(self, epoch, metrics):
            raise nn.StopTraining

    class Watch(nn.Callback):
        def on_epoch_end(self, epoch, metrics):
            seen.append(epoch)

    train(blobs, epochs=3, callbacks=[Stop(), Watch()])
    assert seen == [1]


def test_unshuffled_training_uses_the_data_order(blobs):
    (x, y), _ = blobs
    a, b = (nn.mlp([20, 8, 3], activation="ReLU", weight_init="Xavier") for _ in range(2))
    fit_arrays(a, optimizers.make("sgd", learning_rate=0.1), x, y, epochs=1, batch_size=50, order="fixed", seed=1)
    fit_arrays(b, optimizers.make("sgd", learning_rate=0.1), x, y, epochs=1, batch_size=50, order="fixed", seed=2)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)  # the seed no longer matters


def test_best_weights_restore_batch_norm_statistics_with_the_weights(blobs):
    (x, y), validation = blobs
    model = nn.mlp([20, 16, 3], activation="ReLU", weight_init="Xavier", seed=0, norm="batch")
    best = nn.BestWeights(model, "val_loss", "min")
    fit_arrays(
        model,
        optimizers.make("sgd", learning_rate=0.05),
        x,
        y,
        epochs=1,
        batch_size=32,
        validation_data=validation,
        callbacks=[best],
    )
    kept_params = model.flat_params.copy()
    kept_state = {k: v.copy() for k, v in model.state().items()}
    assert kept_state  # running mean and variance of the hidden batch norm
    output = proba(model, validation[0])
    fit_arrays(model, optimizers.make("sgd", learning_rate=0.05), x * 3.0, y, epochs=1, batch_size=32)  # moves both
    assert not np.allclose(model.state()["batch_norm_0.running_mean"], kept_state["batch_norm_0.running_mean"])
    best.restore()
    np.testing.assert_array_equal(model.flat_params, kept_params)
    for key, array in kept_state.items():
        np.testing.assert_array_equal(model.state()[key], array)
    np.testing.assert_array_equal(proba(model, validation[0]), output)


def test_early_stopping_can_share_the_runs_best_weights():
    (x, y), validation = overlapping_blobs()
    model = nn.mlp([20, 16, 3], activation="ReLU", weight_init="Xavier", seed=0)
    best = nn.BestWeights(model, "val_loss", "min")
    stopper = nn.EarlyStopping(model, patience=2, best=best)
    history = fit_arrays(
        model,
        optimizers.make("sgd", learning_rate=0.1),
        x,
        y,
        epochs=40,
        batch_size=16,
        validation_data=validation,
        callbacks=[best, stopper],
        seed=0,
    )
    assert stopper.best is best and stopper.stopped_epoch == len(history) == best.best_epoch + 2
    np.testing.assert_array_equal(model.flat_params, best.weights)


def test_a_step_function_changes_the_objective_without_copying_the_loop(blobs):
    """The loop trains whatever gradient the step leaves: here twice the loss, which under SGD
    equals the plain step at twice the learning rate. It reports the loss the step returns."""
    from scipy.special import softmax
    from sklearn.metrics import log_loss

    (x, y), _ = blobs
    batch_losses = []  # scikit-learn's cross-entropy of each plain mini-batch, from the outputs the step returns

    def doubled(model, loss, xb, yb):
        value, outputs = nn.default_step(model, loss, xb, yb)
        model.flat_grads *= 2.0
        return 2.0 * value, outputs

    def plain(model, loss, xb, yb):
        value, outputs = nn.default_step(model, loss, xb, yb)
        batch_losses.append(log_loss(yb, softmax(outputs, axis=1), labels=[0, 1, 2]))
        return value, outputs

    a = nn.mlp([20, 8, 3], activation="tanh", weight_init="Xavier", dtype=np.float64)
    b = nn.mlp([20, 8, 3], activation="tanh", weight_init="Xavier", dtype=np.float64)
    history = fit_arrays(a, optimizers.make("sgd", learning_rate=0.05), x, y, epochs=2, batch_size=50, step=doubled)
    reference = fit_arrays(b, optimizers.make("sgd", learning_rate=0.1), x, y, epochs=2, batch_size=50, step=plain)
    np.testing.assert_allclose(a.flat_params, b.flat_params, rtol=1e-12)
    # 500 samples in 10 mini-batches of 50 per epoch: the epoch's train_loss is the mean of its 10 batch losses
    assert len(batch_losses) == 20
    epoch_means = [np.mean(batch_losses[:10]), np.mean(batch_losses[10:])]
    assert [h["train_loss"] for h in reference] == pytest.approx(epoch_means, rel=1e-9)
    assert [h["train_loss"] for h in history] == pytest.approx([2 * m for m in epoch_means], rel=1e-9)
    assert [h["train_accuracy"] for h in history] == [h["train_accuracy"] for h in reference]


def test_the_same_loop_trains_regression_with_its_metrics():
    """y = sin(x) + noise on a linear output: RMSE and R² per epoch instead of accuracy."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-np.pi, np.pi, size=(800, 1)).astype(np.float32)
    y = (np.sin(x) + 0.1 * rng.normal(size=x.shape)).astype(np.float32)
    model = nn.mlp([1, 32, 1], activation="tanh", weight_init="Xavier")
    history = fit_arrays(
        model,
        optimizers.make("adam", learning_rate=0.01),
        x[:600],
        y[:600],
        epochs=60,
        batch_size=32,
        loss="squared_error",
        validation_data=(x[600:], y[600:]),
    )
    last = history[-1]
    assert {"train_rmse", "train_mae", "train_r2", "val_rmse", "val_r2"} <= set(last) and "train_accuracy" not in last
    assert last["val_rmse"] < 0.15 and last["val_r2"] > 0.95  # the noise alone has RMSE 0.1
    assert last["val_loss"] == pytest.approx(last["val_rmse"] ** 2, rel=1e-5)


def test_targets_that_do_not_fit_the_loss_are_refused(blobs):
    (x, y), _ = blobs
    model = nn.mlp([20, 3], activation="ReLU", weight_init="Xavier")
    with pytest.raises(ValueError, match="integer class ids"):
        fit_arrays(model, optimizers.make("sgd"), x, y.astype(np.float32), epochs=1, batch_size=10)


def test_saved_models_carry_their_metadata_and_bad_files_name_themselves(blobs, tmp_path):
    model, _ = train(blobs, epochs=1)
    path = model.save(tmp_path / "m.npz", {"task": "classification", "class_names": ["a", "b", "c"]})
    assert nn.Sequential.load(path).metadata["class_names"] == ["a", "b", "c"]
    (tmp_path / "junk.npz").write_bytes(path.read_bytes()[:200])
    with pytest.raises(nn.ModelFileError, match="junk.npz"):
        nn.Sequential.load(tmp_path / "junk.npz")
    other = nn.mlp([20, 5, 3], activation="ReLU", weight_init="Xavier")  # same layers, other widths
    arrays = dict(np.load(path))
    arrays.update({"dense_0.W": other.params["dense_0.W"]})
    np.savez(tmp_path / "reshaped.npz", **arrays)
    with pytest.raises(nn.ModelFileError, match="reshaped.npz.*shape"):
        nn.Sequential.load(tmp_path / "reshaped.npz")


def test_dead_relu_fraction_counts_units_silent_on_every_probe_input(blobs):
    (x, _y), _ = blobs
    model = nn.mlp([20, 6, 3], activation="ReLU", weight_init="Xavier", dtype=np.float64)
    model.params["dense_0.b"][:2] = -1e6  # two units that can never fire
    metrics = {}
    nn.DeadUnits(model, x[:50]).on_epoch_end(1, metrics)
    hidden = np.maximum(x[:50] @ model.params["dense_0.W"] + model.params["dense_0.b"], 0)
    assert (
        metrics["dead_relu/0"] == pytest.approx(np.mean(np.all(hidden == 0, axis=0)))
        and metrics["dead_relu/0"] >= 2 / 6
    )


def test_zero_initialisation_keeps_every_hidden_unit_identical(blobs):
    (x, y), _ = blobs
    zero = nn.mlp([20, 8, 8, 3], activation="sigmoid", weight_init="zero")
    fit_arrays(zero, optimizers.make("adam", learning_rate=0.01), x, y, epochs=3, batch_size=32)
    assert nn.distinct_units(zero) == [1, 1]  # the symmetry is never broken
    xavier = nn.mlp([20, 8, 8, 3], activation="sigmoid", weight_init="Xavier")
    fit_arrays(xavier, optimizers.make("adam", learning_rate=0.01), x, y, epochs=3, batch_size=32)
    assert nn.distinct_units(xavier) == [8, 8]
