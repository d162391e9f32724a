"""The benchmark's runs, each measurement in its order: the full run, which measures everything and writes
the report, and the two sections measured alone (``--only``) and spliced into the existing report."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from bench.matmul import gemm_ceiling, matmul_peak
from bench.overheads import help_seconds, train_py_peak_mb, wandb_log_cost
from bench.process import whole_process
from bench.report import report
from bench.sections import (
    CNN_PROFILE_HEADING,
    cnn_profile_section,
    splice_section,
    splice_whole_process,
    this_command,
    whole_process_section,
    whole_process_targets,
)
from bench.worker import quiet_worker, run_worker
from bench.workload import CNN_BATCH, TARGET_ACCURACY

NEW_REPORT = "# Benchmark: ffnn vs PyTorch\n"  # what a section is spliced into when --output does not exist


def full_run(args) -> None:
    """Measure everything, write the report to --output and print it. train.py's peak memory comes first
    (see train_py_peak_mb), the CNN profile last, spliced into the report."""
    train_peak = train_py_peak_mb(args.data_dir)
    print(f"train.py peak memory: {train_peak:.0f} MB", flush=True)
    peak = matmul_peak()
    print(f"matmul peak: {peak:.1f} GFLOP/s", flush=True)
    results = fastest_rows(args)
    time_to_target = time_to_target_rows(args.data_dir)
    extras = {
        "wandb": wandb_log_cost(),
        "help": help_seconds(),
        "train_peak_mb": train_peak,
        "time_to_target": time_to_target,
        "ceiling": {batch: gemm_ceiling(batch) for batch in _batches(args)},
        "profile": epoch_profiles(args.data_dir),
        "whole_process": _whole_process(args),
    }
    cnn = measure_cnn_profile(args.data_dir) if args.cnn_epochs else None
    torch_cnn = next((r for r in results if r["framework"] == "torch-cnn"), None)
    if cnn is not None and torch_cnn is not None:
        cnn["torch_epoch"] = statistics.median(torch_cnn["times"])
    extras["cnn_profile"] = cnn or {}
    text = report(results, peak, extras, args)
    if cnn is not None:
        text = splice_section(text, CNN_PROFILE_HEADING, cnn_profile_section(cnn, this_command()))
    Path(args.output).write_text(text)
    print(text)


def fastest_rows(args) -> list[dict]:
    """Every MLP row (--frameworks at --batches) and both CNN rows, --rounds times, interleaved with the
    others; of each row, the run with the fastest median epoch."""
    runs = [(name, batch, args.epochs) for batch in _batches(args) for name in args.frameworks.split(",")]
    if args.cnn_epochs:
        runs += [(name, CNN_BATCH, args.cnn_epochs) for name in ("ffnn-cnn", "torch-cnn")]
    best = {}
    for round_ in range(args.rounds):
        for name, batch, epochs in runs:
            result = run_worker(name, batch, epochs, args.data_dir)
            if result is None:
                continue
            print(
                f"{name:9} batch {batch:4} round {round_ + 1}: {statistics.median(result['times']):.3f} s/epoch, "
                f"test acc {result['test_accuracy']:.4f}, peak {result['peak_mb']:.0f} MB",
                flush=True,
            )
            kept = best.get((name, batch))
            if kept is None or statistics.median(result["times"]) < statistics.median(kept["times"]):
                best[(name, batch)] = result
    return list(best.values())


def time_to_target_rows(data_dir) -> list[dict]:
    """ffnn's and PyTorch's time to TARGET_ACCURACY at batch 64, each in a worker; a failed one left out."""
    rows = [r for r in (run_worker(f"target-{name}", 64, 0, data_dir) for name in ("ffnn", "torch")) if r is not None]
    for r in rows:
        print(f"{r['framework']:8} reaches {TARGET_ACCURACY} after {r['epochs']} epochs, {r['seconds']} s", flush=True)
    return rows


def epoch_profiles(data_dir) -> dict:
    """Where an ffnn epoch goes at batch 64 and at 256, each profiled in a worker; a failed one left out."""
    profiles = {}
    for batch in (64, 256):
        profile = quiet_worker("profile", batch, data_dir)
        if profile is not None:
            profiles[batch] = profile
    return profiles


def measure_cnn_profile(data_dir) -> dict | None:
    """:func:`bench.profiling.profile_cnn` in a process of its own."""
    return quiet_worker("profile-cnn", CNN_BATCH, data_dir)


def cnn_profile_only(args) -> None:
    """Where a CNN epoch goes, and PyTorch's epoch of the same CNN: splice that section into --output and
    print it. Exits if the profile's worker fails."""
    profile = measure_cnn_profile(args.data_dir)
    if profile is None:
        sys.exit("the CNN profile worker failed")
    torch_epoch = run_worker("torch-cnn", CNN_BATCH, 1, args.data_dir)
    if torch_epoch is not None:
        profile["torch_epoch"] = min(torch_epoch["times"])
    output = Path(args.output)
    text = _existing_report(output)
    section = cnn_profile_section(profile, this_command())
    output.write_text(splice_section(text, CNN_PROFILE_HEADING, section))
    print("\n".join(section))


def whole_process_only(args) -> None:
    """The whole-process rows: splice their section and Targets rows into --output and print them."""
    whole = _whole_process(args)
    output = Path(args.output)
    text = _existing_report(output)
    measured_by = this_command()
    output.write_text(splice_whole_process(text, whole, measured_by))
    print("\n".join(whole_process_section(whole, measured_by) + whole_process_targets(whole)))


def _whole_process(args) -> dict:
    return whole_process(args.data_dir, args.whole_epochs, args.whole_batch, args.rounds, args.whole_warmup)


def _batches(args) -> list[int]:
    return [int(batch) for batch in args.batches.split(",")]


def _existing_report(output: Path) -> str:
    return output.read_text() if output.exists() else NEW_REPORT
