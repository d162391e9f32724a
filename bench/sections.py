"""The report's sections that are also measured alone (``--only``) and spliced into an existing report:
the whole process, and where a CNN epoch goes; and what every part of the report shares: the machine,
the command that measured, a row of the Targets table, splicing a section in."""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

from bench.process import WHOLE_ROWS, whole_process_command, whole_process_stats
from bench.workload import LR, ROOT

WHOLE_HEADING = "## Whole process"
CNN_PROFILE_HEADING = "## Where a CNN epoch goes"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def this_command() -> str:
    """The command line of this benchmark run, as typed in the checkout's folder."""
    return f"python bench/run.py {' '.join(sys.argv[1:])}".strip()


def target_row(label, value, limit, smaller_is_better, unit="") -> str:
    """One row of the Targets table: the value, the limit and met or missed by how much."""
    met = value <= limit if smaller_is_better else value >= limit
    return (
        f"| {label} | {value:.2f}{unit} | {'<=' if smaller_is_better else '>='} {limit}{unit} | "
        f"{'met' if met else 'missed by ' + format(abs(value - limit), '.2f') + unit} |"
    )


def splice_section(text: str, heading: str, section: list[str]) -> str:
    """``text`` with the section under ``heading`` replaced by ``section`` (or added before ``## Targets``)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        del lines[start:end]
    else:
        start = next((i for i, line in enumerate(lines) if line.startswith("## Targets")), len(lines))
    lines[start:start] = section
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


# -- where a CNN epoch goes -------------------------------------------------------------------
def cnn_profile_section(profile: dict, measured_by: str) -> list[str]:
    total = profile["total"]
    lines = [
        CNN_PROFILE_HEADING,
        "",
        f"One epoch of the default `--arch cnn` (batch {profile['batch']}, after a 20-batch warm-up), each "
        f"layer's forward and backward timed around the call, on {profile.get('cpu', cpu_name())} "
        f"({os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}), measured by",
        "",
        "```",
        measured_by,
        "```",
        "",
        "| part | forward s | backward s | share |",
        "|---|---|---|---|",
    ]
    for row in profile["layers"]:
        both = row["forward"] + row["backward"]
        lines.append(f"| {row['layer']} | {row['forward']:.2f} | {row['backward']:.2f} | {100 * both / total:.0f} % |")
    for key in ("loss", "optimizer", "other"):
        lines.append(f"| {key} | {profile[key]:.2f} | | {100 * profile[key] / total:.0f} % |")  # noqa: PERF401
    lines += [f"| epoch | {total:.2f} | | 100 % |", ""]
    if "gemm_floor" in profile:
        lines += [
            f"The matrix products alone, the exact ones of this epoch's {profile['batch']}-image steps (each "
            "convolution's forward `cols W`, kernel gradient `cols^T dz` and patch gradients `dz W^T`, which "
            "col2im then adds up; each dense layer's three; `numpy.matmul` into preallocated float32 arrays, "
            f"nothing else): **{profile['gemm_floor']:.2f} s** at {profile['gemm_gflops']:.0f} GFLOP/s. No "
            "implementation of these layers by these matrix products can take less than that per epoch; the "
            f"profiled epoch is {total / profile['gemm_floor']:.2f}x it.",
            "",
        ]
    if "torch_epoch" in profile:
        torch_epoch = profile["torch_epoch"]
        lines += [
            f"PyTorch's epoch of the same network, measured in the same command: {torch_epoch:.2f} s; the profiled "
            f"epoch (timers around every layer) is {total / torch_epoch:.2f}x it. 0.7 of PyTorch's epoch is "
            f"{0.7 * torch_epoch:.2f} s"
            + (
                f"; the products alone above take {profile['gemm_floor'] / (0.7 * torch_epoch):.2f}x that, and "
                f"PyTorch's epoch is {torch_epoch / profile['gemm_floor']:.2f}x their floor."
                if "gemm_floor" in profile
                else "."
            ),
            "",
        ]
    return lines


# -- the whole process ------------------------------------------------------------------------
def whole_process_section(whole, measured_by=None) -> list[str]:
    """The report's whole-process section: a heading, what was run, the table; ``measured_by`` (the command
    line of a run of this section alone) adds the date, machine and command."""
    epochs, batch = whole["epochs"], whole["batch"]
    return [
        *_whole_process_introduction(whole, measured_by),
        "```",
        _as_typed("ffnn", epochs, batch),
        _as_typed("torch", epochs, batch),
        "```",
        "",
        *_whole_process_table(whole),
        "",
        "The same pair outside this script, with public tools: `/usr/bin/time -v` on each command above (wall "
        "clock and peak memory), several times in turn.",
        "",
    ]


def _whole_process_introduction(whole, measured_by) -> list[str]:
    """The heading and what was run and timed, how; with ``measured_by``, the date, machine and command."""
    epochs, batch = whole["epochs"], whole["batch"]
    s_epochs, s_rounds = "s" * (epochs != 1), "s" * (whole["rounds"] != 1)
    return [
        f"{WHOLE_HEADING} ({epochs} epoch{s_epochs}, batch {batch}, as a user runs it)",
        "",
        f"One command from start to exit: load the IDX files, hold out 10 % for validation, train "
        f"784-128-128-128-128-10 ReLU with Adam lr {LR} in float32 for {epochs} epoch{s_epochs} "
        "with the validation set evaluated after each, evaluate the test set, write the summary and exit "
        "(train.py also draws its default figures and writes its history and checkpoint). Wall time of each process, "
        "time.perf_counter() around subprocess.run, each run in a fresh temporary folder; "
        f"{whole['rounds']} run{s_rounds} of each row interleaved (ffnn, ffnn with W&B, PyTorch, ffnn, ...) after "
        f"{whole['warmup']} uncounted round(s). `epochs' own seconds`: the sum of the seconds each process "
        "printed at the end of its epoch lines (the training of the epoch; not the validation pass); "
        "`beyond the epochs`: whole minus that sum, run by run (start-up, imports, data loading, validation, "
        "test, summary, figures, exit). `vs PyTorch`: the median of the ratios to PyTorch's run of the same "
        "round (lower is faster). PyTorch uses as many threads as cores.",
        "",
        *(
            [f"Measured {date.today().isoformat()} on {cpu_name()}, {os.cpu_count()} cores, by `{measured_by}`.", ""]
            if measured_by
            else []
        ),
    ]


def _as_typed(row, epochs, batch) -> str:
    """The command of a whole-process row as typed in the checkout's folder."""
    command, _ = whole_process_command(row, "DATA", "TMP", epochs, batch)
    command = [a[len(str(ROOT)) + 1 :] if a.startswith(str(ROOT) + os.sep) else a for a in command[1:]]
    return " ".join(["python", *command])


def _whole_process_table(whole) -> list[str]:
    """Per row the whole seconds (median, min, max), its epochs' and the rest, the ratio to PyTorch and the
    test accuracy; then the epochs alone of train.py and of the PyTorch script; then the rows that failed."""
    epochs, stats = whole["epochs"], whole_process_stats(whole)
    lines = [
        "| row | median s | min | max | epochs' own seconds | beyond the epochs | vs PyTorch | test acc |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row, stat in stats.items():
        versus = f"{stat['vs_torch']:.2f}x" if "vs_torch" in stat else ""
        lines.append(
            f"| {WHOLE_ROWS[row]} | {_seconds(stat['whole'])} | {stat['epochs'][1]:.2f} | {stat['beyond'][1]:.2f} | "
            f"{versus} | {stat['test_accuracy']:.4f} |"
        )
    for row in ("ffnn", "torch"):
        if row in stats:
            stat = stats[row]
            versus = f"{stat['epochs_vs_torch']:.2f}x" if "epochs_vs_torch" in stat else ""
            name = "train.py" if row == "ffnn" else "PyTorch script"
            lines.append(
                f"| {name}: its {epochs} epoch{'s' * (epochs != 1)} alone, as printed | {_seconds(stat['epochs'])} "
                f"| | | {versus} | |"
            )
    for row, error in whole.get("errors", {}).items():
        lines.append(f"| {WHOLE_ROWS[row]}: failed ({error[:80]}) | | | | | | | |")
    return lines


def _seconds(spread) -> str:
    """A (min, median, max) as the table's three columns: median, min, max."""
    return f"{spread[1]:.2f} | {spread[0]:.2f} | {spread[2]:.2f}"


def whole_process_targets(whole) -> list[str]:
    """The issue's two whole-process targets as rows of the Targets table (the W&B-disabled train.py row)."""
    stats = whole_process_stats(whole).get("ffnn")
    if not stats:
        return []
    epochs = whole["epochs"]
    rows = [target_row(f"{epochs}-epoch run: seconds beyond its epochs", stats["beyond"][1], 1.0, True, " s")]
    if "vs_torch" in stats:
        rows.append(target_row(f"{epochs}-epoch run: whole process / PyTorch's", stats["vs_torch"], 0.5, True, "x"))
    return rows


def splice_whole_process(text, whole, measured_by=None) -> str:
    """``text`` (a report) with its whole-process section and target rows replaced by ``whole``'s (or added:
    the section before ``## Targets``, the rows at the end of its table)."""
    lines = splice_section(text, WHOLE_HEADING, whole_process_section(whole, measured_by)).splitlines()
    heading = next((i for i, line in enumerate(lines) if line.startswith("## Targets")), None)
    if heading is not None:
        for row in whole_process_targets(whole):
            key = row[: row.index(" |", 2) + 2]
            found = next((i for i, line in enumerate(lines) if line.startswith(key)), None)
            if found is not None:
                lines[found] = row
                continue
            last = next((i for i in range(heading, len(lines)) if lines[i].startswith("|")), None)
            if last is None:
                continue
            while last + 1 < len(lines) and lines[last + 1].startswith("|"):
                last += 1
            lines.insert(last + 1, row)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")
