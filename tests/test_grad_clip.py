"""``--grad_clip NORM`` through the whole run: the plugin puts nn.gradients.clip_by_global_norm in
nn.fit's gradient hook (the transform itself is checked against torch in test_gradient_transforms.py)."""

import json

import numpy as np
import pytest

from experiments import build, presets, session
from experiments.run import run

TINY = {
    "dataset": "digits",
    "epochs": 1,
    "num_layers": 1,
    "hidden_size": 8,
    "optimizer": "sgd",
    "learning_rate": 0.1,
    "val_fraction": 0.0,
    "weight_decay": 0.01,
    "wandb_mode": "disabled",
}


def trained(tmp_path, **options):
    config = presets.resolve({**TINY, **options, "output_dir": str(tmp_path)})
    result = run(config, say=lambda line: None, progress=False)
    assert result.status == "finished", result.message
    return config, result, json.loads((result.folder / "summary.json").read_text())


def test_one_sgd_step_moves_the_weights_by_exactly_the_clipped_norm(tmp_path):
    """One full-batch SGD step: θ1 = θ0 - lr·g', with g' the gradient (penalty included) scaled to norm
    c·n/(n + 1e-6) when n = ||g|| > c, so ||θ1 - θ0|| = lr·c·n/(n + 1e-6) ≈ lr·c."""
    clip = 0.01
    config, result, summary = trained(tmp_path, grad_clip=clip, batch_size=10_000)
    data = session.load_data(config)
    start = build.model_for(config, data.n_features, data.n_outputs)
    moved = np.sqrt(sum(np.sum((result.model.params[k] - v) ** 2, dtype=np.float64) for k, v in start.params.items()))
    assert moved == pytest.approx(0.1 * clip, rel=1e-4)
    assert summary["grad_clip_fraction"] == 1.0


def test_a_clip_that_never_acts_changes_no_bit_and_says_so(tmp_path):
    _, plain, _ = trained(tmp_path / "plain")
    _, loose, summary = trained(tmp_path / "loose", grad_clip=1e9)
    assert summary["grad_clip_fraction"] == 0.0
    for name, value in plain.model.params.items():
        np.testing.assert_array_equal(loose.model.params[name], value)
    assert "_clip1e+09" in loose.folder.name
