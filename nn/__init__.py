"""A feed-forward neural network in NumPy with hand-written backpropagation.

Public API: :class:`FeedForward`, :func:`fit` and the name -> function tables
:data:`ACTIVATIONS`, :data:`LOSSES`, :data:`INITIALIZERS`.
"""
from .activations import ACTIVATIONS
from .initializers import INITIALIZERS
from .losses import LOSSES, softmax
from .model import FeedForward
from .training import (BestWeights, Callback, Diverged, EarlyStopping, GradientNorms, LossPlateau,
                       StopTraining, fit)

__all__ = ["ACTIVATIONS", "INITIALIZERS", "LOSSES", "softmax", "FeedForward", "fit", "Callback",
           "Diverged", "StopTraining", "BestWeights", "EarlyStopping", "LossPlateau", "GradientNorms"]
