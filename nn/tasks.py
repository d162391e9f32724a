"""What a network is trained to do, as a type: :class:`Task`.

A task is a string enum, so it is written and compared as the plain names that files and flags
use (``"classification"``, ``"regression"``: ``config.json``, model metadata, ``--task``), while
code asks it what differs between the two instead of comparing names, as scikit-learn's
classifier/regressor split does.
"""

from __future__ import annotations

import enum


class Task(enum.StrEnum):
    CLASSIFICATION = "classification"  # targets are integer class ids; a softmax output
    REGRESSION = "regression"  # targets are real vectors; a linear output

    @property
    def classifies(self) -> bool:
        return self is Task.CLASSIFICATION

    @property
    def primary_metric(self) -> str:
        """The headline test metric: accuracy (larger is better) or RMSE (smaller is better)."""
        return "accuracy" if self.classifies else "rmse"

    @property
    def goal(self) -> str:
        """``max`` or ``min``: which way :attr:`primary_metric` improves."""
        return "max" if self.classifies else "min"

    @property
    def scores(self) -> tuple[str, ...]:
        """The numbers an evaluation of this task gives, loss first."""
        return ("loss", "accuracy") if self.classifies else ("loss", "rmse", "mae", "r2")
