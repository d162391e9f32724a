"""Experiments: a run's configuration (defaults in one place), building, running, reporting.

* :mod:`experiments.config`: every option with its type, default and help;
  presets; the run name. The command lines are generated from it.
* :mod:`experiments.build`: model, loss and optimizer from a configuration.
* :mod:`experiments.run`: one training run (load, build, fit with the
  callbacks, evaluate, report, save) -> :class:`experiments.run.RunResult`.
* :mod:`experiments.classify`: what a classification run reports on its
  test set (one module per experiment kind).
* :mod:`experiments.cli`: click plumbing shared by ``train.py`` and ``sweep.py``.
"""
