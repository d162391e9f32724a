"""Layers with explicit forward and backward passes, one kind per file, in a registry.

The protocol every layer follows (:class:`Layer`):

* ``param_shapes()`` names the layer's parameters and their shapes (local
  names such as ``"W"``); ``decayed`` lists those that weight decay and L1
  apply to (weights, not biases or normalisation scales).
* ``bind(params, grads)`` hands the layer its parameter and gradient arrays.
  The model passes views into two contiguous buffers, so an optimizer can
  update every parameter of the network in a handful of NumPy calls.
* ``initialise(init_rng, noise_rng)`` sets the initial parameter values
  (from ``init_rng``) and keeps ``noise_rng`` if the layer draws random
  numbers while training (dropout's masks).
* ``output_shape(input_shape)`` and ``patch_values(input_shape)``: the shape of
  one example's output and the patch values (im2col) ``forward`` allocates per
  example, from the shape alone (no batch axis), so a network can be
  described and its memory estimated before any array is made
  (:mod:`nn.summary`); a ``ValueError`` when the input does not fit.
* ``forward(x, training)`` accepts inputs of any rank (batch first), returns
  the output and caches what ``backward`` needs. Outputs live in buffers the
  layer reuses for the next batch of the same shape: a caller that keeps an
  output past the next ``forward`` copies it.
* ``backward(dy, need_input_grad=True)`` **overwrites** the layer's
  gradients (no hidden accumulation) and returns ``dL/dx``, or ``None`` when
  the input gradient is not needed (the first layer during training). It
  may overwrite ``dy``.
* ``state()`` / ``set_state(arrays)``: arrays that are not parameters but
  define the model (batch norm's running statistics), saved with it.
* ``config()``: the constructor's arguments, JSON-friendly; with the
  registry name ``kind`` it rebuilds the layer (``LAYERS[kind](**config)``),
  which is how saved models are loaded without pickle.

Adding a layer is one new file in this package with ``@register(kind)`` on its class.
"""

from ..registry import import_submodules
from .base import LAYERS, Layer, Shape, register

import_submodules(__name__, __path__, skip=lambda name: name in ("base", "patches"))

from .activation import ActivationLayer  # noqa: E402  (after the registry is filled)
from .conv import Conv2D  # noqa: E402
from .dense import Dense  # noqa: E402
from .dropout import Dropout  # noqa: E402
from .flatten import Flatten  # noqa: E402
from .locally_connected import LocallyConnected2D  # noqa: E402
from .normalization import NORMS, BatchNorm, LayerNorm  # noqa: E402
from .pooling import MaxPool2D  # noqa: E402
from .reshape import Reshape  # noqa: E402

__all__ = [
    "LAYERS",
    "NORMS",
    "ActivationLayer",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "LayerNorm",
    "LocallyConnected2D",
    "MaxPool2D",
    "Reshape",
    "Shape",
    "register",
]
