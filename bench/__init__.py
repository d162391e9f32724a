"""The benchmark: this project against PyTorch, Keras/TensorFlow and scikit-learn (`python bench/run.py`;
what it measures and how: run.py's docstring). One job per module:

- workload.py: the one workload every framework trains, and what every part shares
- runners/: one module per framework, training and timing that workload in a worker process
- worker.py: one measurement in a process of its own, the parent's side and the child's
- profiling.py: where an epoch of ffnn's MLP and of its CNN goes
- matmul.py: the machine's matmul peak and the matrix products of one training step alone
- overheads.py: W&B logging per epoch, `train.py --help`, a train.py run's peak memory
- process.py: the whole-process timing of train.py and of its PyTorch peer
- sections.py: the Markdown sections that are also measured alone (`--only`) and spliced into a report
- report.py: the whole of bench/REPORT.md
- suite.py: the full run and the `--only` runs, in order
"""
