"""What this machine's matrix products can do: the single-precision matmul peak (one large product), and
the exact products of one training step alone, timed with nothing else (the MLP's ceiling, the CNN's
floor)."""

from __future__ import annotations

import itertools

from bench.workload import HIDDEN, flops_per_sample, timed


def matmul_peak(n=4096, repeats=5) -> float:
    import numpy as np

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    best = min(timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def gemm_ceiling(batch, repeats=200) -> float:
    """GFLOP/s of only the matrix products of one training step at this batch size
    (forward x@W, dW = x^T dz, dx = dz W^T but for the first layer), nothing else:
    the most any implementation built on numpy.matmul could reach for these shapes."""
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = [784, *HIDDEN, 10]
    weights = [rng.random((a, b), dtype=np.float32) for a, b in itertools.pairwise(sizes)]
    acts = [rng.random((batch, a), dtype=np.float32) for a in sizes]
    grads = [np.empty_like(w) for w in weights]

    def step():
        for i, w in enumerate(weights):
            np.matmul(acts[i], w, out=acts[i + 1])
        for i in range(len(weights) - 1, -1, -1):
            np.matmul(acts[i].T, acts[i + 1], out=grads[i])
            if i:
                np.matmul(acts[i + 1], weights[i].T, out=acts[i])

    step()
    seconds = min(timed(lambda: [step() for _ in range(repeats)]) for _ in range(3)) / repeats
    return flops_per_sample(sizes) * batch / seconds / 1e9


def cnn_gemms(model, batch) -> list[tuple[int, int, int]]:
    """The ``(m, k, n)`` of every matrix product one training step of ``model`` makes at ``batch``: per
    convolution the forward ``cols @ W``, the kernel gradient ``cols^T dz`` and, but for the first layer,
    the patch gradients ``dz W^T`` (col2im then adds them up, not a product); per dense layer
    ``x @ W``, ``x^T dz`` and ``dz W^T``. The layers' own algorithms, so the floor below is theirs."""
    from nn.layers import Conv2D, Dense

    gemms, shape, first = [], (784,), True
    for layer, out, _ in model.layer_shapes((784,)):
        if isinstance(layer, Conv2D):
            (_h, _w, c), (ho, wo, f), kk = shape, out, layer.kernel_size**2
            gemms += [(batch * ho * wo, kk * c, f), (kk * c, batch * ho * wo, f)]
            gemms += [] if first else [(batch * ho * wo, f, kk * c)]
            first = False
        elif isinstance(layer, Dense):
            gemms += [(batch, layer.n_in, layer.n_out), (layer.n_in, batch, layer.n_out)]
            gemms += [] if first else [(batch, layer.n_out, layer.n_in)]
            first = False
        shape = out
    return gemms


def gemm_floor(gemms, steps, repeats=50) -> tuple[float, float]:
    """Seconds of ``steps`` training steps' matrix products alone (float32 ``numpy.matmul`` into
    preallocated outputs, best of 3 x ``repeats`` steps), and their GFLOP/s."""
    import numpy as np

    rng = np.random.default_rng(0)
    operands = [
        (rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32), np.empty((m, n), np.float32))
        for m, k, n in gemms
    ]

    def step():
        for a, b, out in operands:
            np.matmul(a, b, out=out)

    step()
    seconds = min(timed(lambda: [step() for _ in range(repeats)]) for _ in range(3)) / repeats
    flops = sum(2 * m * k * n for m, k, n in gemms)
    return seconds * steps, flops / seconds / 1e9
