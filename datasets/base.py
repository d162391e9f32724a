"""The data-set registry: one entry per data set, each in its own file of this package.

A :class:`DatasetInfo` says what a data set is (its task, its class names, a
one-line description) and how to get its raw arrays (``load_raw(data_dir)``
-> :class:`RawData`). Adding a data set is one new file calling
``DATASETS.register(name, DatasetInfo(...))``; the CLI's choices, its
``--help`` and the tests read the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike

import numpy as np

from nn.registry import Registry
from nn.tasks import Task

DataDir = str | PathLike[str] | None
"""A folder given by the user (``--data_dir``), or ``None``: look in the usual places."""


@dataclass
class RawData:
    """Arrays as the source gives them: images ``N x H x W`` or, with colour, ``N x H x W x C`` (uint8,
    channels last: CIFAR-10, an image folder) or features ``N x d`` (tabular sets); targets are class ids
    (one per row) or real values."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


@dataclass(frozen=True)
class DatasetInfo:
    """``truth``, for a synthetic regression set, is the noise-free function of the raw input
        (drawn in the fit plot). ``mirror_invariant``: a horizontal flip of an image keeps its class
        (clothes: yes; digits: no), so data augmentation may flip. ``eight_bit``: its images are 0..255
    pixels (FGSM's eps is in [0, 1] pixel units); an image file of floats is not."""

    name: str
    task: Task  # given as its name too ("classification"): kept as a Task
    description: str
    load_raw: Callable[[DataDir], RawData]
    class_names: tuple[str, ...] = ()
    truth: Callable[[np.ndarray], np.ndarray] | None = None
    mirror_invariant: bool = False
    eight_bit: bool = True  # images: pixels are 0..255 (an image file of floats: False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", Task(self.task))

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


DATASETS = Registry("data set")
