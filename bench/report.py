"""The whole of bench/REPORT.md from one full run: the machine, versions and command, the per-epoch table
of every framework and batch size, time to the target accuracy, the CNN, the per-epoch overheads, the
matrix products' ceiling, the profiles, the whole process, and the issue's targets, met or missed."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
from datetime import date

from bench.sections import cpu_name, target_row, this_command, whole_process_section, whole_process_targets
from bench.workload import (
    BATCHES,
    CNN_BATCH,
    CNN_FILTERS,
    EPS,
    FRAMEWORKS,
    HIDDEN,
    LR,
    TARGET_ACCURACY,
    TARGET_MAX_EPOCHS,
    flops_per_sample,
)

MLP_FLOPS = flops_per_sample([784, *HIDDEN, 10])  # per training sample, the same count for every framework


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "scikit-learn", "torch", "tensorflow-cpu", "keras", "wandb"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[package] = md.version(package)
    return out


def report(results, peak, extras, args) -> str:
    """The report's Markdown: ``results`` are the workers' rows kept (MLP and CNN), ``peak`` the matmul
    peak in GFLOP/s, ``extras`` what the parent measured besides, ``args`` the command line's options."""
    by = {(r["framework"], r["batch"]): r for r in results}
    lines = _introduction(results, peak, args)
    lines += _epoch_table(by, peak)
    lines += _time_to_target_table(extras.get("time_to_target", []))
    lines += _cnn_table([r for r in results if r["framework"].endswith("-cnn")], args.cnn_epochs)
    lines += _overheads(by, extras)
    lines += _ceiling_table(extras["ceiling"], peak)
    lines += _profile_tables(extras["profile"])
    if extras.get("whole_process"):
        lines += whole_process_section(extras["whole_process"])
    lines += targets(by, peak, extras)
    lines += [
        f"`python train.py --help`: {extras['help']:.2f} s (median of 5).",
        "",
        f"Peak resident memory of `python train.py --epochs 1 --wandb_mode offline` on full "
        f"Fashion-MNIST (the training process; W&B's own service process not included): "
        f"{extras['train_peak_mb']:.0f} MB.",
        "",
    ]
    return "\n".join(lines)


def _epoch_seconds(run) -> float:
    """The median epoch seconds of a worker's run."""
    return statistics.median(run["times"])


def _median_epoch(by, name, batch) -> float | None:
    """The median epoch seconds of the run kept for (name, batch), None if there is none."""
    return _epoch_seconds(by[(name, batch)]) if (name, batch) in by else None


def _introduction(results, peak, args) -> list[str]:
    """The title, the date, machine and command, the versions and the workload."""
    n_train = results[0]["n_train"]
    return [
        "# Benchmark: ffnn vs PyTorch vs Keras/TensorFlow vs scikit-learn",
        "",
        f"Measured {date.today().isoformat()} on {cpu_name()}, {os.cpu_count()} cores, by",
        "",
        "```",
        this_command(),
        "```",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + ".",
        "",
        f"Workload: Fashion-MNIST, {n_train} training images, 784-128-128-128-128-10 ReLU, "
        f"softmax cross-entropy, Adam lr {LR} (eps {EPS}), float32. Median of {args.epochs} timed epochs "
        f"after one warm-up epoch; each row its own process, run {args.rounds} times interleaved with the others "
        f"(this machine is shared and its speed drifts), the round with the fastest median kept. "
        f"FLOPs per epoch (same count for all): "
        f"{MLP_FLOPS * n_train / 1e9:.1f} GFLOP. Matmul peak (numpy float32 4096^3, best of 5): "
        f"**{peak:.0f} GFLOP/s**.",
        "",
    ]


def _epoch_table(by, peak) -> list[str]:
    """Per batch size and framework: epoch seconds, throughput, share of the peak, ratios to the peers."""
    lines = [
        "| framework | batch | s/epoch | samples/s | GFLOP/s | % of peak | vs PyTorch | vs Keras | vs sklearn | "
        "test acc | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for batch in BATCHES:
        for name in FRAMEWORKS:
            r = by.get((name, batch))
            if r is None:
                continue
            t = _epoch_seconds(r)
            gflops = MLP_FLOPS * r["n_train"] / t / 1e9
            versus = [_versus(by, name, batch, other) for other in ("torch", "keras", "sklearn")]
            lines.append(
                f"| {name} | {batch} | {t:.3f} | {r['n_train'] / t:,.0f} | {gflops:.1f} | "
                f"{100 * gflops / peak:.0f} % | {' | '.join(versus)} | "
                f"{r['test_accuracy']:.4f} | {r['peak_mb']:.0f} |"
            )
    return [*lines, "", "`vs PyTorch`, `vs Keras` and `vs sklearn` are epoch-time ratios (lower is faster).", ""]


def _versus(by, name, batch, other) -> str:
    """(name, batch)'s epoch time over ``other``'s at the same batch size; empty for itself or a missing row."""
    if (other, batch) not in by or other == name:
        return ""
    return f"{_epoch_seconds(by[(name, batch)]) / _epoch_seconds(by[(other, batch)]):.2f}x"


def _time_to_target_table(reached) -> list[str]:
    if not reached:
        return []
    return [
        f"Time to {100 * TARGET_ACCURACY:.0f} % test accuracy at batch 64 (training seconds, the test set "
        f"checked after every epoch and not timed; at most {TARGET_MAX_EPOCHS} epochs):",
        "",
        "| framework | epochs | seconds |",
        "|---|---|---|",
        *(
            f"| {r['framework']} | {r['epochs'] or 'not reached'} | "
            f"{'' if r['seconds'] is None else format(r['seconds'], '.1f')} |"
            for r in reached
        ),
        "",
    ]


def _cnn_table(cnn, cnn_epochs) -> list[str]:
    if not cnn:
        return []
    lines = [
        f"CNN (the tool's `--arch cnn` defaults: 3x3 convolutions of {CNN_FILTERS[0]} and {CNN_FILTERS[1]} "
        "channels with ReLU and 2x2 max pooling, then 5 x 128 ReLU dense layers; Adam, float32, batch "
        f"{CNN_BATCH}; {cnn_epochs} timed epoch(s) after a 20-batch warm-up; test accuracy after them):",
        "",
        "| framework | parameters | s/epoch | samples/s | vs PyTorch | test acc | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    torch_time = next((_epoch_seconds(r) for r in cnn if r["framework"] == "torch-cnn"), None)
    for r in cnn:
        t = _epoch_seconds(r)
        versus = f"{t / torch_time:.2f}x" if torch_time and r["framework"] != "torch-cnn" else ""
        lines.append(
            f"| {r['framework'][:-4]} | {r['n_params']:,} | {t:.1f} | {r['n_train'] / t:,.0f} | {versus} | "
            f"{r['test_accuracy']:.4f} | {r['peak_mb']:.0f} |"
        )
    return [*lines, ""]


def _overheads(by, extras) -> list[str]:
    """What the validation pass and W&B logging add to an ffnn epoch at batch 64."""
    if ("ffnn", 64) not in by:
        return []
    t64 = _epoch_seconds(by[("ffnn", 64)])
    eval_cost = by[("ffnn", 64)]["eval_seconds"]
    return [
        f"Per-epoch overheads of ffnn at batch 64 (epoch {t64:.3f} s):",
        "",
        f"- validation pass (6,000 images): {eval_cost * 1000:.1f} ms ({100 * eval_cost / t64:.1f} %)",
        f"- W&B offline logging: {extras['wandb'] * 1000:.2f} ms ({100 * extras['wandb'] / t64:.2f} %)",
        f"- together: {100 * (eval_cost + extras['wandb']) / t64:.1f} % of an epoch",
        "",
    ]


def _ceiling_table(ceiling, peak) -> list[str]:
    return [
        "Ceiling of the matrix products alone (the exact GEMMs of one step, nothing else, "
        "numpy.matmul, best of 3 x 200 steps):",
        "",
        "| batch | GEMM-only GFLOP/s | % of peak |",
        "|---|---|---|",
        *(f"| {b} | {g:.1f} | {100 * g / peak:.0f} % |" for b, g in ceiling.items()),
        "",
    ]


def _profile_tables(profiles) -> list[str]:
    lines = []
    for batch, parts in profiles.items():
        total = parts["total"]
        lines += [
            f"Where an ffnn epoch goes at batch {batch} (cProfile, cumulative; profiling adds overhead "
            f"to the Python-heavy parts, total {total:.2f} s):",
            "",
            "| part | seconds | share |",
            "|---|---|---|",
        ]
        lines += [
            f"| {label} | {sec:.3f} | {100 * sec / total:.0f} % |" for label, sec in parts.items() if label != "total"
        ]
        lines += [""]
    return lines


def targets(by, peak, extras) -> list[str]:
    """The issue's targets, each met or missed by how much, from this run's numbers."""
    rows = []

    def check(label, value, limit, smaller_is_better, unit=""):
        if value is not None:
            rows.append(target_row(label, value, limit, smaller_is_better, unit))

    f64, t64, k64, s64 = (_median_epoch(by, name, 64) for name in ("ffnn", "torch", "keras", "sklearn"))
    f256 = _median_epoch(by, "ffnn", 256)
    if f64 and t64:
        check("batch 64: epoch time / PyTorch", f64 / t64, 0.50, True, "x")
    if f64 and k64:
        check("batch 64: epoch time / Keras", f64 / k64, 0.30, True, "x")
    if f64 and s64:
        check("batch 64: epoch time / scikit-learn", f64 / s64, 0.55, True, "x")
    t256 = _median_epoch(by, "torch", 256)
    if f256 and t256:
        check("batch 256: epoch time / PyTorch", f256 / t256, 0.50, True, "x")
    cnn, torch_cnn = by.get(("ffnn-cnn", CNN_BATCH)), by.get(("torch-cnn", CNN_BATCH))
    if cnn and torch_cnn:
        check("CNN epoch / PyTorch's", _epoch_seconds(cnn) / _epoch_seconds(torch_cnn), 0.70, True, "x")
    floor = extras.get("cnn_profile", {}).get("gemm_floor")
    if cnn and floor:
        check("CNN epoch / the floor of its matrix products", _epoch_seconds(cnn) / floor, 1.3, True, "x")
    n = next(iter(by.values()))["n_train"]
    if f256:
        check("batch 256: share of matmul peak", 100 * MLP_FLOPS * n / f256 / 1e9 / peak, 60, False, " %")
    if f64:
        check("batch 64: share of matmul peak", 100 * MLP_FLOPS * n / f64 / 1e9 / peak, 40, False, " %")
    check("peak memory of a full train.py run", extras["train_peak_mb"], 600, True, " MB")
    if ("ffnn", 64) in by:
        check(
            "validation + W&B logging per epoch",
            100 * (by[("ffnn", 64)]["eval_seconds"] + extras["wandb"]) / f64,
            5,
            True,
            " %",
        )
    check("train.py --help", extras["help"], 1.0, True, " s")
    if extras.get("whole_process"):
        rows += whole_process_targets(extras["whole_process"])
    lines = ["## Targets", "", "| target | measured | wanted | verdict |", "|---|---|---|---|", *rows, ""]
    return lines + _why_share_of_peak_missed(extras, peak, f64)


def _why_share_of_peak_missed(extras, peak, f64) -> list[str]:
    """The explanation under the Targets table, from the products' ceiling and the batch-64 profile."""
    ceiling = extras.get("ceiling", {})
    profile = extras.get("profile", {}).get(64)
    if not (ceiling and profile and f64):
        return []
    optimizer = profile["optimizer update (Adam)"] / profile["total"]
    return [
        "Why the share-of-peak targets are missed: the peak is a 4096x4096 product, and the products of "
        "this network are small (e.g. 64x784 by 784x128). Those products alone, with nothing else in "
        f"the step, reach {100 * ceiling.get(64, 0) / peak:.0f} % of the peak at batch 64 and "
        f"{100 * ceiling.get(256, 0) / peak:.0f} % at batch 256 (table above): a whole step cannot go faster "
        "than its products, and it also does element-wise work (activations, their derivatives, the "
        "softmax, the batch gather), memory-bound at a few percent of the peak. The Adam update is one "
        f"fused numba pass (optimizers/fused.py): {100 * optimizer:.0f} % of a batch-64 epoch in the "
        "profile.",
        "",
    ]
