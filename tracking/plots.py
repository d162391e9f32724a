"""Figures written as PNG (and handed to W&B): sample grid, confusion matrix, curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import save_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def one_sample_per_class(x: np.ndarray, y: np.ndarray, n_classes: int) -> list[int]:
    """Index of the first sample of each class (the course's question 1)."""
    return [int(np.flatnonzero(y == c)[0]) for c in range(n_classes) if np.any(y == c)]


def sample_grid(x, y, image_shape, class_names, path) -> Path:
    plt = _pyplot()
    indices = one_sample_per_class(x, y, len(class_names))
    columns = 5
    rows = -(-len(indices) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.0 * columns, 2.3 * rows))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, i in zip(np.ravel(axes), indices):
        ax.imshow(x[i].reshape(image_shape), cmap="gray_r")
        ax.set_title(class_names[y[i]], fontsize=10)
    fig.suptitle("One training image per class")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
    return Path(path)


def most_confused(counts: np.ndarray, k: int = 3) -> list[tuple[int, int, int]]:
    """The k largest off-diagonal cells as (true class, predicted class, count)."""
    off = counts.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:k]
    return [(int(i), int(j), int(off[i, j])) for i, j in zip(*np.unravel_index(order, off.shape)) if off[i, j]]


def confusion_figure(counts: np.ndarray, class_names, path, title="Test set") -> Path:
    """Row-normalised confusion matrix: each row is a true class and sums to 100 %.

    The diagonal (per-class accuracy) is in green, errors in red; the three
    most confused pairs are boxed and listed under the plot.
    """
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    n = len(class_names)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    fig, ax = plt.subplots(figsize=(9.5, 8.5))
    errors = np.ma.masked_where(np.eye(n, dtype=bool), rates)
    correct = np.ma.masked_where(~np.eye(n, dtype=bool), rates)
    error_scale = max(float(errors.max() or 0), 0.05)
    ax.imshow(errors, cmap="Reds", vmin=0, vmax=error_scale)
    ax.imshow(correct, cmap=ListedColormap(plt.cm.Greens(np.linspace(0.25, 0.85, 256))), vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    f"{100 * rates[i, j]:.0f}" if i != j else f"{100 * rates[i, j]:.1f}",
                    ha="center",
                    va="center",
                    fontsize=8 if i != j else 9,
                    fontweight="bold" if i == j else "normal",
                    color="white" if rates[i, j] / (1.0 if i == j else error_scale) > 0.6 else "black",
                )
    pairs = most_confused(counts)
    for i, j, _ in pairs:
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.5))
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), [f"{name} ({100 * rates[k, k]:.1f} %)" for k, name in enumerate(class_names)])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (per-class accuracy)")
    ax.set_title(
        f"{title}: accuracy {100 * accuracy:.2f} % on {counts.sum()} images\n"
        "cells: % of the true class (rows sum to 100)"
    )
    lines = [f"{class_names[i]} taken for {class_names[j]}: {c} times ({100 * rates[i, j]:.1f} %)" for i, j, c in pairs]
    fig.text(0.02, 0.01, "Most confused (boxed): " + "; ".join(lines), fontsize=9, wrap=True)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save_figure(fig, path, dpi=100)
    plt.close(fig)
    return Path(path)


def curves_figure(history: list[dict], path, title="", metric: str = "accuracy") -> Path:
    """Loss (left) and ``metric`` (right) per epoch, training and validation."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for key, style in (("train", "-o"), ("val", "-s")):
        if f"{key}_loss" in history[0]:
            left.plot(epochs, [h[f"{key}_loss"] for h in history], style, label=key)
            right.plot(epochs, [h[f"{key}_{metric}"] for h in history], style, label=key)
    left.set(xlabel="epoch", ylabel="loss", title="loss")
    right.set(xlabel="epoch", ylabel=metric, title=metric)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
    return Path(path)


def first_layer_figure(weights: np.ndarray, image_shape, path, title="", units: int = 32) -> Path:
    """The first hidden layer's incoming weights, one image per unit (the pixels it looks at);
    each image has its own symmetric colour scale (red positive, blue negative)."""
    plt = _pyplot()
    units = min(units, weights.shape[1])
    columns = 8
    rows = -(-units // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.7 * rows + 0.6))
    for k, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if k < units:
            image = weights[:, k].reshape(image_shape)
            limit = float(np.abs(image).max()) or 1.0
            ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
    fig.suptitle(f"first-layer weights of {units} units {title}".strip())
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)
    return Path(path)


def weight_histograms(model, path) -> Path:
    plt = _pyplot()
    names = model.decayed_names()
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = model.params[name].ravel()
        ax.hist(values, bins=60, color="tab:blue")
        ax.set_title(f"{name}  std {values.std():.3g}", fontsize=9)
    fig.suptitle("weight distributions per layer")
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)
    return Path(path)


def adversarial_figure(
    pixels, adversarial, labels, clean_predictions, adversarial_predictions, image_shape, class_names, eps, path
) -> Path:
    """Rows: clean images (true / predicted class), the perturbation, the adversarial images (predicted)."""
    plt = _pyplot()
    n = len(pixels)
    fig, axes = plt.subplots(3, n, figsize=(1.6 * n, 5.4), squeeze=False)
    for k in range(n):
        for row, image, title in (
            (0, pixels[k], f"{class_names[labels[k]]}\n-> {class_names[clean_predictions[k]]}"),
            (1, adversarial[k] - pixels[k], "perturbation"),
            (2, adversarial[k], f"-> {class_names[adversarial_predictions[k]]}"),
        ):
            ax = axes[row][k]
            ax.axis("off")
            if row == 1:
                ax.imshow(image.reshape(image_shape), cmap="RdBu_r", vmin=-eps, vmax=eps)
            else:
                ax.imshow(image.reshape(image_shape), cmap="gray_r", vmin=0, vmax=1)
            color = "black" if row != 2 or adversarial_predictions[k] == labels[k] else "red"
            ax.set_title(title, fontsize=7, color=color)
    fig.suptitle(f"FGSM, eps = {eps:g}: clean (true -> predicted), perturbation, adversarial (predicted; red: fooled)")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
    return Path(path)


def saliency_figure(images, saliency, labels, image_shape, class_names, path) -> Path:
    """Each test image beside its saliency map |d logit_y / dx| (brighter: the logit moves more)."""
    plt = _pyplot()
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(1.5 * n, 3.4), squeeze=False)
    for k in range(n):
        axes[0][k].imshow(images[k].reshape(image_shape), cmap="gray_r")
        axes[0][k].set_title(class_names[labels[k]], fontsize=7)
        axes[1][k].imshow(saliency[k].reshape(image_shape), cmap="hot")
        for row in (0, 1):
            axes[row][k].axis("off")
    fig.suptitle("test images and their saliency |d logit_y / dx|")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
    return Path(path)


def mistakes_figure(images, rows, image_shape, path) -> Path:
    """The most confident mistakes: each image with its true class and the predicted one (probability)."""
    plt = _pyplot()
    columns = 8
    n_rows = max(-(-len(images) // columns), 1)
    fig, axes = plt.subplots(n_rows, columns, figsize=(1.7 * columns, 2.0 * n_rows), squeeze=False)
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, image, row in zip(np.ravel(axes), images, rows):
        ax.imshow(image.reshape(image_shape), cmap="gray_r")
        ax.set_title(f"{row['true']}\n-> {row['predicted']} ({row['p(' + row['predicted'] + ')']:.2f})", fontsize=7)
    fig.suptitle("most confident mistakes on the test set (true -> predicted, probability)")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
    return Path(path)


def filters_figure(kernels: np.ndarray, path, title="", limit: int = 64) -> Path:
    """The first convolutional layer's filters, ``kernels: kh x kw x C x F``, one image per filter
    (the mean over input channels when there are several), each on its own symmetric colour scale."""
    plt = _pyplot()
    filters = kernels.mean(axis=2)[:, :, :limit]
    n = filters.shape[2]
    columns = min(n, 8)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.35 * rows + 0.6), squeeze=False)
    for k, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if k < n:
            scale = float(np.abs(filters[:, :, k]).max()) or 1.0
            ax.imshow(filters[:, :, k], cmap="RdBu_r", vmin=-scale, vmax=scale)
            ax.set_title(str(k), fontsize=7)
    fig.suptitle(f"first-layer filters {title}".strip(), fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
    return Path(path)


def activation_maps_figure(images, maps, labels, image_shape, class_names, path, channels: int = 8) -> Path:
    """One row per test image: the image, then its first ``channels`` activation maps of the first layer
    (``maps: n x H x W x F``)."""
    plt = _pyplot()
    n, channels = len(images), min(channels, maps.shape[3])
    fig, axes = plt.subplots(n, channels + 1, figsize=(1.2 * (channels + 1), 1.25 * n + 0.5), squeeze=False)
    for row in range(n):
        axes[row][0].imshow(images[row].reshape(image_shape), cmap="gray_r")
        axes[row][0].set_title(class_names[labels[row]], fontsize=7)
        for k in range(channels):
            axes[row][k + 1].imshow(maps[row, :, :, k], cmap="viridis")
            if row == 0:
                axes[row][k + 1].set_title(f"map {k}", fontsize=7)
        for ax in axes[row]:
            ax.axis("off")
    fig.suptitle("first-layer activation maps, one test image per class", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    plt.close(fig)
    return Path(path)
