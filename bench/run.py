"""Benchmark: this project against PyTorch, Keras/TensorFlow and scikit-learn's MLPClassifier.

    python bench/run.py --data_dir ../shared/data

Same machine, same run, same data (the 54,000-image Fashion-MNIST training
split), same network (784-128-128-128-128-10, ReLU, softmax cross-entropy),
Adam at 1e-3 (epsilon 1e-8 everywhere), float32, batch sizes 16, 64 and 256.
Each (framework, batch size) runs in its own process: one warm-up epoch, then
--epochs timed epochs (the median is reported), then the test accuracy, and
the process's peak resident memory; every such run is repeated --rounds times,
interleaved with the others, and the round with the fastest median is kept
(the machine is shared: the same run measured 0.66 and 1.50 s/epoch). The single-precision matmul peak of this
machine is measured in the same run with a large numpy.matmul, and the
achieved GFLOP/s of every framework is computed from the same FLOP count:
per sample and layer, 2*in*out for the forward product, as much for the
weight gradient and for the input gradient (not needed for the first layer).
Also measured: the time each framework needs to reach 88 % test accuracy at
batch 64 (training time only, the test set evaluated after each epoch), a
small CNN (the tool's `--arch cnn`) against the same network in PyTorch, the
cost of evaluating the validation set and of W&B offline logging per epoch,
and the start-up time of `train.py --help`. PyTorch runs with as many threads
as cores, float32, its own shuffled index batches (no DataLoader workers).

Whole process: the 3-epoch, batch-64 job as a user runs it, `python train.py
--data_dir DATA -e 3 -nhl 4 -sz 128 -b 64 -o adam -lr 0.001 --wandb_mode
disabled --output_dir TMP` (load, train, validate after each epoch, test,
summary, figures, exit), timed from outside with time.perf_counter() around
subprocess.run, against the same job written as a PyTorch script
(`python bench/run.py --torch_job TMP --data_dir DATA`), and train.py with W&B
offline; --rounds runs of each, interleaved, after --whole_warmup uncounted
ones; min, median, max, and the epochs' own seconds as each prints them.
Only this section, spliced into an existing report:
`python bench/run.py --data_dir DATA --only whole_process --rounds 5`.
Results go to bench/REPORT.md (table, machine, versions, command).

This file is the command line; the benchmark's modules, one job each, are listed in bench/__init__.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the project's packages, bench too

from bench.workload import BATCHES, FRAMEWORKS, ROOT, WHOLE_BATCH, WHOLE_EPOCHS


def arguments() -> argparse.Namespace:
    """The command line's options, --data_dir made absolute (the workers run in other folders)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=None, help="Folder with the Fashion-MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=3, help="Timed epochs per run (after one warm-up)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument("--cnn_epochs", type=int, default=1, help="Timed CNN epochs per framework (0: no CNN rows)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="Runs of every MLP row, interleaved; the one with the fastest median epoch is kept. Also the runs "
        "of every whole-process row, interleaved; their median is reported",
    )
    parser.add_argument(
        "--only",
        choices=["whole_process", "cnn_profile"],
        help="Measure only this section and splice it (and its Targets rows) into the existing --output",
    )
    parser.add_argument("--whole_epochs", type=int, default=WHOLE_EPOCHS, help="Epochs of the whole-process job")
    parser.add_argument("--whole_batch", type=int, default=WHOLE_BATCH, help="Batch size of the whole-process job")
    parser.add_argument(
        "--whole_warmup", type=int, default=1, help="Uncounted rounds of the whole-process rows before the --rounds"
    )
    parser.add_argument(
        "--torch_job",
        metavar="OUTPUT_DIR",
        help="Run the PyTorch whole-process job itself (--data_dir, --whole_epochs, --whole_batch) and exit; "
        "its summary.json goes to OUTPUT_DIR",
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "REPORT.md"))
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data_dir:
        args.data_dir = str(Path(args.data_dir).resolve())
    return args


def main():
    """Each process imports only what it runs: the PyTorch job is timed as a whole (bench/process.py), and
    a worker's peak memory is reported."""
    args = arguments()
    if args.torch_job:
        from bench.runners.pytorch import torch_job

        torch_job(args.data_dir, args.whole_epochs, args.whole_batch, args.torch_job)
        return
    if args.worker:
        from bench.worker import worker

        worker(args.worker[0], int(args.worker[1]), args.epochs, args.data_dir)
        return
    from bench import suite

    if args.only == "cnn_profile":
        suite.cnn_profile_only(args)
    elif args.only == "whole_process":
        suite.whole_process_only(args)
    else:
        suite.full_run(args)


if __name__ == "__main__":
    main()
