"""One measurement in a process of its own, so that each has the machine and its own peak memory: the
parent runs ``bench/run.py --worker NAME BATCH``, the child measures and prints its result as its last
line, in JSON. NAME is a framework's row (``ffnn``, ``torch``, ``keras``, ``sklearn``, ``ffnn-cnn``,
``torch-cnn``), ``target-ffnn`` or ``target-torch`` (time to the target accuracy), ``profile`` or
``profile-cnn`` (where an epoch goes)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from bench.profiling import profile_cnn, profile_epoch
from bench.runners import ffnn, keras_tf, pytorch, sklearn_mlp
from bench.workload import RUN_SCRIPT, load

RUNNERS = {
    "ffnn": ffnn.run_ffnn,
    "torch": pytorch.run_torch,
    "keras": keras_tf.run_keras,
    "sklearn": sklearn_mlp.run_sklearn,
    "ffnn-cnn": ffnn.run_ffnn_cnn,
    "torch-cnn": pytorch.run_torch_cnn,
}


# -- the child ------------------------------------------------------------------------------
def worker(framework, batch, epochs, data_dir):
    data = load(data_dir)
    if framework == "profile":
        print(json.dumps(profile_epoch(data, batch)))
        return
    if framework == "profile-cnn":
        print(json.dumps(profile_cnn(data, batch)))
        return
    if framework.startswith("target-"):
        print(json.dumps(time_to_accuracy(framework[len("target-") :], data, batch)))
        return
    times, accuracy, extra = RUNNERS[framework](data, batch, epochs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "framework": framework,
                "batch": batch,
                "times": times,
                "test_accuracy": accuracy,
                "peak_mb": peak_mb,
                "n_train": len(data.x_train),
                **extra,
            }
        )
    )


def time_to_accuracy(framework, data, batch) -> dict:
    """Training seconds until the test accuracy first reaches TARGET_ACCURACY (checked after every epoch,
    untimed), at most TARGET_MAX_EPOCHS epochs; ffnn's MLP, or any other name PyTorch's."""
    train = ffnn.time_to_target if framework == "ffnn" else pytorch.time_to_target
    epoch, times = train(data, batch)
    return {
        "framework": framework,
        "batch": batch,
        "epochs": epoch,
        "seconds": sum(times) if epoch is not None else None,
    }


# -- the parent -----------------------------------------------------------------------------
def worker_process(name, batch, data_dir, epochs=None) -> subprocess.CompletedProcess:
    """Run ``bench/run.py --worker NAME BATCH`` (with ``--epochs`` if given) to its end, output captured."""
    command = [sys.executable, str(RUN_SCRIPT), "--worker", name, str(batch)]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    if data_dir:
        command += ["--data_dir", data_dir]
    return subprocess.run(command, capture_output=True, text=True)


def run_worker(name, batch, epochs, data_dir) -> dict | None:
    """Run one worker in its own process; its JSON result, or None (said) if it failed."""
    done = worker_process(name, batch, data_dir, epochs)
    if done.returncode != 0:
        print(f"{name} batch {batch} failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
        return None
    return _last_json_line(done)


def quiet_worker(name, batch, data_dir) -> dict | None:
    """Run one worker in its own process; its JSON result, or None (unsaid) if it failed."""
    done = worker_process(name, batch, data_dir)
    return _last_json_line(done) if done.returncode == 0 else None


def _last_json_line(done: subprocess.CompletedProcess) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])
