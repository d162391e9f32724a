"""One module per framework, each training and timing the benchmark's workload (bench/workload.py) in a
worker process: ``run_*(data, batch, epochs)`` returns the timed epochs' seconds, the test accuracy and
extra fields for the worker's JSON line."""
