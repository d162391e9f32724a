"""Image folders: ``-d DIR``, one sub-folder of PNG/JPEG images per class, read with Pillow.

The layout of Keras' ``image_dataset_from_directory`` and of Tiny ImageNet's ``train`` folder::

    DIR/cat/0001.png  DIR/cat/0002.jpg  ...  DIR/dog/a.jpeg  ...

**Classes** are the sub-folders' names, sorted (label ``k`` is the ``k``-th name). A class folder's
images are its files ending in ``.png``, ``.jpg`` or ``.jpeg`` (any case), in its own sub-folders too
(Tiny ImageNet's ``<wnid>/images/``); hidden files and folders (``.DS_Store``) are ignored, and any
other file (Tiny ImageNet's ``<wnid>_boxes.txt``, a README) is skipped and counted in a note.

**The test set** is the images of ``DIR/test`` when ``DIR`` holds both ``train/`` and ``test/`` (each
with class sub-folders; a test class must be a training class); otherwise the classes are ``DIR``'s own
sub-folders and the test set is the fixed split of :meth:`datasets.files.FileData.split` that every user
file without its own test rows gets.

**Pixels.** Each image is opened by Pillow, converted (``Image.convert``) to ``RGB`` (an alpha channel is
dropped) or to 8-bit grey ``L`` (ITU-R 601-2 luma, ``L = (299 R + 587 G + 114 B) / 1000``), then resized
to ``--image_size H W`` if it has another size (``Image.resize``, bilinear, as Keras resizes by default).
Without ``--image_size`` every image must have the size of the first (in the sorted order).
``--color auto`` is ``rgb`` if any image is stored in a colour mode (RGB, RGBA, palette, CMYK, ...) and
``grey`` if all are stored as greyscale (modes ``1``, ``L``, ``LA``). 16- and 32-bit images (modes ``I;16``,
``I``, ``F``) are refused: Pillow's conversion to 8 bits would clip them at 255.

**Arrays.** ``x`` is ``N x H x W x 3`` (``rgb``) or ``N x H x W`` (``grey``: the channel of 1 is
dropped, as for an NPZ file and the built-in sets, so figures draw it as one plane; the CNN takes
``(H, W)`` as ``(H, W, 1)``), of uint8, scaled later like the built-in image sets (min-max over the
training pixels). Memory: the folder is read once, headers first (sizes and modes: no pixel is decoded
before every file is known to be an image of the right size), then decoded straight into one
preallocated uint8 array of ``N * H * W * C`` bytes; the network's float32 inputs take 4 times that.

A folder that cannot be used raises :class:`datasets.files.DataFileError`, one line naming the file or
folder: no class folders, a single class, an empty class folder, a file Pillow cannot read as an image,
a 16-bit image, images of different sizes without ``--image_size``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn.tasks import Task

from .base import DATASETS, DatasetInfo, RawData
from .files import DataFileError, FileData

SUFFIXES = (".png", ".jpg", ".jpeg")
COLORS = ("auto", "rgb", "grey")
GREY_MODES = frozenset({"1", "L", "LA", "La"})
"""Pillow's 8-bit (and 1-bit) image modes without colour."""
WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
"""Pillow's 16- and 32-bit modes: its conversion to 8 bits clips them at 255, so they are refused."""
PILLOW_MODE = {"rgb": "RGB", "grey": "L"}


def is_image_folder(name: object) -> bool:
    """Whether ``-d name`` is a folder (of class folders of images), not a registered data set's name."""
    return str(name) not in DATASETS and Path(str(name)).is_dir()


@dataclass(frozen=True)
class Listing:
    """An image folder's files, nothing read yet: ``train`` and ``test`` are ``(file, label)`` pairs
    (``test`` is ``None`` without a ``test/`` folder); ``skipped``: files that are not images."""

    root: str
    class_names: tuple[str, ...]
    train: tuple[tuple[Path, int], ...]
    test: tuple[tuple[Path, int], ...] | None
    skipped: tuple[Path, ...]


class FolderData(FileData):
    """An image folder's :class:`datasets.files.FileData`; its own test set is its ``test/`` folder."""

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
        x_train, y_train, x_test, y_test, how = super().split()
        return x_train, y_train, x_test, y_test, "its test/ folder" if self.x_test is not None else how


SPLIT_NAMES = {"train", "test", "val", "valid", "validation"}  # never taken for class names


def list_folder(path: str) -> Listing:
    """The classes and image files of the folder ``path`` (see the module docstring); nothing decoded."""
    root = Path(path)
    if not root.is_dir():
        raise DataFileError(f"{path}: no such folder")
    split = (root / "train").is_dir() and (root / "test").is_dir()
    train_root = root / "train" if split else root
    class_names = _class_folders(train_root)
    splits_named = sorted(set(class_names) & SPLIT_NAMES)
    if not split and splits_named:
        raise DataFileError(
            f"{path}: holds {', '.join(splits_named)}/, the name of a split, not of a class; a folder of splits "
            "needs train/ and test/ (each holding one folder per class); give a validation set with --val_data"
        )
    if any(train_root.glob("train-images-idx3-ubyte*")) or any(train_root.glob("*/train-images-idx3-ubyte*")):
        raise DataFileError(
            f"{train_root}: holds the IDX files of MNIST or Fashion-MNIST, not image folders: "
            f"give -d fashion_mnist or -d mnist with --data_dir {train_root}"
        )
    if len(class_names) < 2:
        what = f"one class folder ({class_names[0]})" if class_names else "no class folders"
        raise DataFileError(
            f"{train_root}: holds {what}; an image folder holds one sub-folder of .png/.jpg images per class, "
            "and classification needs at least two"
        )
    skipped = [p for p in sorted(train_root.iterdir()) if not p.name.startswith(".") and not p.is_dir()]
    train = _labelled(train_root, class_names, class_names, skipped)
    test = None
    if split:
        test_classes = _class_folders(root / "test")
        unknown = [name for name in test_classes if name not in class_names]
        if unknown or not test_classes:
            why = f"{unknown[0]} is not a class of {train_root}" if unknown else "holds no class folders"
            raise DataFileError(f"{root / 'test'}: {why} (classes: {', '.join(class_names)})")
        test = _labelled(root / "test", test_classes, class_names, skipped)
    return Listing(str(path), tuple(class_names), train, test, tuple(skipped))


def _class_folders(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as error:
        raise DataFileError(f"{folder}: cannot be read ({error.strerror})") from None


def _labelled(
    folder: Path, names: Sequence[str], class_names: Sequence[str], skipped: list[Path]
) -> tuple[tuple[Path, int], ...]:
    """``(file, label)`` of the images in ``folder/<name>`` for each of ``names``; the label indexes
    ``class_names``. Files that are not images are added to ``skipped``."""
    pairs = []
    for name in names:
        images: list[Path] = []
        for top, dirs, files in os.walk(folder / name):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file in sorted(f for f in files if not f.startswith(".")):
                (images if file.lower().endswith(SUFFIXES) else skipped).append(Path(top) / file)
        if not images:
            raise DataFileError(f"{folder / name}: an empty class folder (no .png, .jpg or .jpeg image in it)")
        label = class_names.index(name)
        pairs += [(image, label) for image in images]
    return tuple(pairs)


def _probe(files: Sequence[Path], image_size: tuple[int, int] | None, color: str) -> tuple[tuple[int, int], str]:
    """``((H, W), Pillow mode)`` of the arrays to make, from every file's header (no pixel decoded): ``image_size``,
    or else the first image's size, which every image must then have; ``RGB`` or ``L`` by ``color``."""
    from PIL import Image

    first: tuple[Path, tuple[int, int]] | None = None
    colour = False
    for file in files:
        try:
            with Image.open(file) as image:
                width, height, stored = *image.size, image.mode
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:  # UnidentifiedImageError too
            raise DataFileError(f"{file}: not a readable image ({_reason(error)})") from None
        if stored in WIDE_MODES:
            raise DataFileError(
                f"{file}: {stored} pixels (16 or 32 bits); an image folder takes 8-bit images "
                "(convert them, or save the arrays as floats in an .npz file)"
            )
        colour = colour or stored not in GREY_MODES
        if first is None:
            first = (file, (height, width))
        elif image_size is None and (height, width) != first[1]:
            raise DataFileError(
                f"{file}: {height}x{width} pixels (height x width), but {first[0]} is {first[1][0]}x{first[1][1]}; "
                "give --image_size H W to resize every image to one size"
            )
    assert first is not None
    return image_size or first[1], PILLOW_MODE[color] if color != "auto" else "RGB" if colour else "L"


def _decode(pairs: Sequence[tuple[Path, int]], size: tuple[int, int], mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The images of ``pairs`` converted to ``mode``, resized to ``size`` (H, W) where they differ (bilinear),
    in one uint8 array ``N x H x W`` (``L``) or ``N x H x W x 3`` (``RGB``); and their labels."""
    from PIL import Image

    h, w = size
    x = np.empty((len(pairs), h, w, *((3,) if mode == "RGB" else ())), dtype=np.uint8)
    for i, (file, _) in enumerate(pairs):
        try:
            with Image.open(file) as opened:
                image = opened.convert(mode)
            if image.size != (w, h):
                image = image.resize((w, h), Image.Resampling.BILINEAR)
            x[i] = np.asarray(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            raise DataFileError(f"{file}: not a readable image ({_reason(error)})") from None
    return x, np.fromiter((label for _, label in pairs), dtype=np.int64, count=len(pairs))


def _bytes(n: int) -> str:
    """``n`` bytes for people: ``512 bytes``, ``3.5 KiB``, ``4.9 GiB``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} bytes"


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split())[:160] or type(error).__name__


def checked_size(image_size: object) -> tuple[int, int] | None:
    """``--image_size`` as ``(H, W)``: two sizes, or one for a square; ``None`` keeps the images' own."""
    if image_size is None:
        return None
    sizes = (image_size,) if isinstance(image_size, int) else tuple(image_size)  # type: ignore[arg-type]
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2 or min(sizes) < 1:
        raise DataFileError(f"--image_size takes a height and a width (or one size for both), not {image_size}")
    return int(sizes[0]), int(sizes[1])


def read_folder(
    path: str, target: str | None = None, task: str = "auto", image_size: object = None, color: str = "auto"
) -> FileData:
    """The image folder ``path`` as a :class:`datasets.files.FileData` (classification; ``x`` uint8
    images, ``x_test`` from its ``test/`` folder or ``None``), with a note saying what was read."""
    listing = _checked_listing(path, target, task, color)
    size = checked_size(image_size)
    files = [file for file, _ in listing.train + (listing.test or ())]
    (h, w), mode = _probe(files, size, color)
    x, labels = _decode(listing.train, (h, w), mode)
    x_test, labels_test = _decode(listing.test, (h, w), mode) if listing.test is not None else (None, None)
    pixels = x.nbytes + (0 if x_test is None else x_test.nbytes)
    notes = [
        f"{path}: {len(files):,} images{f' ({len(x_test):,} of them in test/)' if x_test is not None else ''}, "
        f"{len(listing.class_names)} classes, {h}x{w} {'RGB' if mode == 'RGB' else 'grey'}"
        f"{' (resized)' if size else ''}: {_bytes(pixels)} of pixels, {_bytes(4 * pixels)} as float32 inputs"
    ]
    if listing.skipped:
        n = len(listing.skipped)
        notes.append(
            f"{path}: {n:,} file{'s' if n > 1 else ''} skipped (not a .png/.jpg/.jpeg image in a class folder), "
            f"e.g. {listing.skipped[0]}"
        )
    return FolderData(str(path), "classification", x, labels, x_test, labels_test, listing.class_names, notes=notes)


def _checked_listing(path: str, target: str | None, task: str, color: str) -> Listing:
    if target is not None:
        raise DataFileError(f"{path}: --target names a CSV column; an image folder's classes are its sub-folders")
    if task == "regression":
        raise DataFileError(f"{path}: an image folder is for classification (its classes are its sub-folders)")
    if color not in COLORS:
        raise DataFileError(f"{path}: --color must be one of {', '.join(COLORS)}, not {color!r}")
    return list_folder(path)


def folder_info(path: str, target: str | None = None, task: str = "auto", color: str = "auto") -> DatasetInfo:
    """What ``-d path`` is (classification, its class names), from the listing only: no image is opened."""
    listing = _checked_listing(path, target, task, color)

    def load_raw(data_dir: object = None) -> RawData:
        file = read_folder(path, target, task, None, color)
        x_train, y_train, x_test, y_test, how = file.split()
        return RawData(x_train, y_train, x_test, y_test, source=f"{path}, test: {how}")

    return DatasetInfo(str(path), Task.CLASSIFICATION, f"images from {path}", load_raw, listing.class_names)
