"""Write two small data files from scikit-learn's bundled data sets, for trying ``-d FILE``:

* ``wine.csv``: the 178 wines of the UCI wine data set, 13 numeric columns and a text column
  ``cultivar`` (``class_0`` ...) to predict with ``--target cultivar``;
* ``digits.npz``: the 1,797 8x8 digit images as ``x`` (uint8, 0..255) with their labels ``y`` and
  ``class_names``, for ``--arch mlp|cnn|localnet``.

    python examples/make_files.py [FOLDER]      # default: data/
"""

import csv
from pathlib import Path

import click
import numpy as np
from sklearn.datasets import load_digits, load_wine


@click.command(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="data")
def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    wine = load_wine()
    with open(folder / "wine.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*wine.feature_names, "cultivar"])
        for row, label in zip(wine.data, wine.target):
            writer.writerow([*(f"{v:g}" for v in row), wine.target_names[label]])
    digits = load_digits()
    np.savez_compressed(
        folder / "digits.npz",
        x=np.round(digits.images * (255 / 16)).astype(np.uint8),
        y=digits.target,
        class_names=[str(d) for d in range(10)],
    )
    click.echo(f"wrote {folder / 'wine.csv'} and {folder / 'digits.npz'}")


if __name__ == "__main__":
    main()
