"""Neural networks in NumPy with hand-written backpropagation: the maths of the tool.

* models: :class:`Sequential` over one flat parameter buffer, built by
  :func:`mlp` (or from any list of :mod:`nn.layers`);
* registries (name -> object, case-insensitive): :data:`ACTIVATIONS`,
  :data:`INITIALIZERS`, :data:`LOSSES`, :data:`LAYERS`, :data:`NORMS`;
* losses that say what they consume and for which task (:mod:`nn.losses`),
  metrics by task (:mod:`nn.metrics`), and :func:`score_split`: one prediction
  pass over a split, every score of it in a :class:`SplitScores`;
* shapes before any array is made: :func:`layer_shapes` and
  :meth:`Sequential.summary` (:mod:`nn.summary`);
* the loop :func:`fit` over :class:`Batches` with a pluggable ``step`` and
  gradient transforms (:mod:`nn.gradients`: ``clip_by_global_norm``),
  :func:`evaluate`, :func:`objective_and_grads`, :func:`input_gradient`, and
  the callbacks.

This package imports no reporting, sweeping or command-line code.
"""

from .activations import ACTIVATIONS
from .builders import convnet, mlp
from .callbacks import (
    BestWeights,
    Callback,
    DeadUnits,
    EarlyStopping,
    GradientNorms,
    LossPlateau,
    StopTraining,
    distinct_units,
)
from .initializers import INITIALIZERS
from .layers import LAYERS, NORMS
from .losses import LOSSES, Loss, softmax
from .metrics import SplitScores, score_split
from .model import ModelFileError, Sequential
from .registry import Registry
from .schedules import SCHEDULES, LearningRateSchedule
from .summary import layer_shapes
from .training import (
    Batches,
    Diverged,
    default_step,
    evaluate,
    fit,
    input_gradient,
    objective_and_grads,
    output_gradient,
)

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LAYERS",
    "LOSSES",
    "NORMS",
    "SCHEDULES",
    "Batches",
    "BestWeights",
    "Callback",
    "DeadUnits",
    "Diverged",
    "EarlyStopping",
    "GradientNorms",
    "LearningRateSchedule",
    "Loss",
    "LossPlateau",
    "ModelFileError",
    "Registry",
    "Sequential",
    "SplitScores",
    "StopTraining",
    "convnet",
    "default_step",
    "distinct_units",
    "evaluate",
    "fit",
    "input_gradient",
    "layer_shapes",
    "mlp",
    "objective_and_grads",
    "output_gradient",
    "score_split",
    "softmax",
]
