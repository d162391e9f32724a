"""What a network looks like before any array is made: each layer's output shape, its patch values
and its parameters, from the layers alone (``Layer.output_shape``, ``patch_values``, ``param_shapes``).

:func:`layer_shapes` feeds the memory estimate of a run; :func:`summary` is the Keras-style table
of :meth:`nn.Sequential.summary`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from .layers import Layer
from .layers.base import Shape


def as_shape(shape: int | Iterable[int]) -> Shape:
    """``784`` or ``[28, 28, 1]`` as a tuple of ints: ``(784,)``, ``(28, 28, 1)``."""
    return (int(shape),) if isinstance(shape, int) else tuple(int(v) for v in shape)


def layer_shapes(layers: Iterable[Layer], input_shape: int | Iterable[int]) -> list[tuple[Layer, Shape, int]]:
    """``(layer, output shape, patch values)`` for each layer in order, for one example of
    ``input_shape`` (no batch axis; a network whose first layer is a ``Reshape`` of the flat
    vector takes ``(n_features,)``). A ``ValueError`` names the first layer whose input does not fit."""
    shape, rows = as_shape(input_shape), []
    for position, layer in enumerate(layers):
        try:
            out, patches = layer.output_shape(shape), layer.patch_values(shape)
        except ValueError as error:
            raise ValueError(f"layer {position} ({layer!r}) on an input of shape {shape}: {error}") from None
        rows.append((layer, out, patches))
        shape = out
    return rows


def n_params(layer: Layer) -> int:
    """The number of parameters of ``layer`` (from its ``param_shapes``)."""
    return sum(math.prod(shape) for shape in layer.param_shapes().values())


def summary(layers: Sequence[Layer], input_shape: int | Iterable[int], title: str = "Sequential") -> str:
    """A table of the layers (index, layer, output shape, parameters) and the total, as Keras'
    ``model.summary()`` prints it; the output shapes leave out the batch axis."""
    shape = as_shape(input_shape)
    rows = [("#", "Layer", "Output shape", "Params"), ("", "input", str(shape), "")]
    total = 0
    for position, (layer, out, _) in enumerate(layer_shapes(layers, shape)):
        count = n_params(layer)
        total += count
        rows.append((str(position), repr(layer), str(out), f"{count:,}"))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]

    def line(row: tuple[str, str, str, str]) -> str:
        index, layer, out, count = row
        return f"{index:>{widths[0]}}  {layer:<{widths[1]}}  {out:<{widths[2]}}  {count:>{widths[3]}}".rstrip()

    rule = "-" * (sum(widths) + 6)
    return "\n".join([title, rule, line(rows[0]), rule, *map(line, rows[1:]), rule, f"Total params: {total:,}"])
