"""``--augment``: the training step on randomly shifted (and, where the class allows, mirrored) images."""

from __future__ import annotations

import numpy as np

import datasets
import nn
from datasets.augmentation import shift_and_flip


class Augmentation(nn.Callback):
    """Transforms each training mini-batch: back to pixels (the fitted scaling and any pixel permutation
    undone), :func:`datasets.augmentation.shift_and_flip`, and the preprocessing again, so the images
    move, not the scaled values. The random stream is drawn afresh from ``(seed, epoch)`` at every epoch,
    so a resumed run augments exactly as an uninterrupted one."""

    def __init__(self, data, max_shift: int, seed: int):
        self.preprocessing, self.image_shape = data.preprocessing, data.image_shape
        self.max_shift, self.seed = int(max_shift), int(seed)
        self.flip = datasets.DATASETS[data.name].mirror_invariant
        self.rng = np.random.default_rng([self.seed, 11, 0])

    def on_epoch_begin(self, epoch, n_batches):
        self.rng = np.random.default_rng([self.seed, 11, epoch])

    def transform(self, x: np.ndarray) -> np.ndarray:
        pixels = self.preprocessing.invert(x)
        moved = shift_and_flip(pixels, self.image_shape, self.max_shift, self.flip, self.rng)
        return self.preprocessing.apply(moved).astype(x.dtype, copy=False)

    def step(self, inner):
        """The training step ``inner`` on the transformed batch."""

        def augmented_step(model, loss, x, y):
            return inner(model, loss, self.transform(x), y)

        return augmented_step
