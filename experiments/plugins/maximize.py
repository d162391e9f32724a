"""``--maximize N``: activation maximisation, the input each of N hidden units responds to most.

For the first and the last dense hidden layer (for a cnn / localnet: its dense hidden layers after
the convolutions), the N units with the largest incoming weight norm ``||W[:, u]||`` (the units the
layer has grown most, rather than units that happen to come first; ``N`` is capped at the layer's
width) each get an input ``x`` (in the network's input space: scaled, and permuted with
``--permute_pixels``) found by gradient ascent on

    J(x) = z_u(x) - lam ||x||^2,     x <- x + eta * (dz_u/dx - 2 lam x),

:data:`STEPS` steps of size ``eta =`` :data:`STEP_SIZE` with ``lam =`` :data:`PENALTY`, from the
mean training input plus seeded noise ``N(0, 0.01^2)`` (a different draw per unit). ``z_u`` is the
unit's pre-activation (the input of its activation function, after ``--norm``): the activation
``a_u = f(z_u)`` rises with it for every activation of the registry, and unlike ``a_u`` it has a
gradient where a ReLU unit is off, so a unit that is silent on the starting image still gets one.
``dz_u/dx`` is the network's own backward pass (each layer's ``backward`` with the input gradient)
from a one-hot gradient at the unit, in evaluation mode. The penalty keeps ``x`` bounded: for a first
hidden layer ``z_u = x . w_u + b_u`` is linear and the ascent converges (factor ``1 - 2 lam eta`` per
step) to ``x* = w_u / (2 lam)``, the unit's weights drawn as an image.

``maximize.png``: the inputs drawn as images of their difference from the mean training image (back
in pixel order and units, each on its own symmetric scale: red more ink than the average, blue
less), one row per layer, the unit and its activation ``a`` under
each. Image data sets only.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..plugin import Changes, Plugin, Priority
from .inside import dense_hidden_layers, inside

STEPS = 200
STEP_SIZE = 1.0
PENALTY = 0.05
NOISE = 0.01


def top_units(dense, n: int) -> np.ndarray:
    """The ``n`` units (columns of ``W``) of a Dense layer with the largest norm, largest first."""
    norms = np.linalg.norm(dense.params["W"].astype(np.float64), axis=0)
    return np.argsort(-norms, kind="stable")[: min(n, len(norms))]


def unit_values(model, activation: int, units: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(z, a)``: the pre-activation and the activation of unit ``units[n]`` for input ``x[n]``, where
    ``activation`` is the position of the layer's activation in ``model.layers``."""
    values = model.as_input(x)
    for layer in model.layers[:activation]:
        values = layer.forward(values)
    rows = np.arange(len(units))
    z = values[rows, units].astype(np.float64)
    a = model.layers[activation].forward(values)[rows, units].astype(np.float64)
    return z, a


def maximize(
    model,
    activation: int,
    units: np.ndarray,
    x0: np.ndarray,
    steps: int = STEPS,
    step_size: float = STEP_SIZE,
    penalty: float = PENALTY,
) -> np.ndarray:
    """Gradient ascent of ``z_u(x) - penalty ||x||^2`` from ``x0[n]`` for unit ``units[n]`` of the layer
    whose activation is at position ``activation``; returns the final inputs (one row per unit)."""
    prefix = model.layers[:activation]
    x = model.as_input(x0).copy()
    rows = np.arange(len(units))
    for _ in range(steps):
        values = x
        for layer in prefix:
            values = layer.forward(values)
        one_hot = np.zeros_like(values)
        one_hot[rows, units] = 1.0
        x += step_size * (_backward(prefix, one_hot) - 2.0 * penalty * x)
    return x


def _backward(layers, gradient: np.ndarray) -> np.ndarray:
    """``gradient`` (at the output of ``layers``, after their forward pass) carried back to their input."""
    for layer in reversed(layers):
        below = layer.backward(gradient, need_input_grad=True)
        if below is None:
            raise RuntimeError(f"{layer.name} returned no input gradient")
        gradient = below
    return gradient


def starting_points(x_train: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` copies of the mean training input, each plus its own ``N(0, NOISE^2)`` noise."""
    noise = np.random.default_rng([seed, 31]).normal(scale=NOISE, size=(n, x_train.shape[1]))
    return x_train.mean(axis=0, dtype=np.float64) + noise


class Maximize(Plugin[list]):
    name = "maximize"
    example = {"maximize": 2}
    changes = Changes(files=("maximize.png",))
    priority = Priority.REPORT

    def new_state(self) -> list:
        return []  # the figure's rows: (label, inputs, units, values)

    def enabled(self, config):
        return inside(config).maximize > 0

    def check(self, config, data):
        if data.image_shape is None:
            raise ConfigError(f"--maximize draws inputs as images: it needs an image data set, not {data.name}")
        if not config.model.num_layers:
            raise ConfigError("--maximize looks at the dense hidden layers: it needs -nhl >= 1")

    def figures(self, run):
        if "test" not in run.evaluations:
            return {}
        from tracking import tiles

        model, data, seed = run.model, run.data, run.config.data.seed
        layers = dense_hidden_layers(model)
        chosen = [("first hidden layer", *layers[0]), ("last hidden layer", *layers[-1])]
        if len(layers) == 1:
            chosen = [("the hidden layer", *layers[0])]
        rows = []
        average = data.preprocessing.invert(data.x_train.mean(axis=0, dtype=np.float64)[None, :])
        for label, dense, position in chosen:
            units = top_units(dense, inside(run.config).maximize)
            x = maximize(model, position, units, starting_points(data.x_train, len(units), seed))
            _, a = unit_values(model, position, units, x)
            rows.append((f"{label} ({dense.name})", data.preprocessing.invert(x) - average, units, a))
        run.state_of(self)[:] = rows
        path = tiles.maximize_figure(
            rows,
            data.image_shape,
            run.folder / "maximize.png",
            title=f"Inputs that maximise single hidden units: {STEPS} steps of x ← x + {STEP_SIZE:g}·"
            f"(dz/dx − 2·{PENALTY:g}·x) from the mean image, drawn as the difference from it",
        )
        return {"maximize": path}
