"""Experiments: a run's configuration, its lifecycle and the study plugins.

* :mod:`experiments.options` and :mod:`experiments.config`: the typed sections
  of a configuration, parsed from the flat names users type; presets; the run
  name; the click options.
* :mod:`experiments.run` (``run``, ``resume``) over :mod:`experiments.lifecycle`
  (the phases, each guarded) and :mod:`experiments.session` (data, reporters,
  result, signals).
* :mod:`experiments.plugins`: one module per study, in a registry.
* :mod:`experiments.build`, :mod:`experiments.preflight`,
  :mod:`experiments.model_files` (saved models and ensembles), :mod:`experiments.cli`.

Importing this package sets ``NUMPY_MADVISE_HUGEPAGE=0`` unless the environment already
says otherwise (it only takes effect when NumPy is not yet imported, as in the scripts). NumPy
asks the kernel for transparent huge pages on every large array; where the kernel defragments
synchronously for such requests (``/sys/kernel/mm/transparent_hugepage/defrag`` = ``madvise``,
a common default), each new array of the training set's size stalls: measured on this project's
machine, 0.44 s against 0.08 s to convert the Fashion-MNIST training images to float32, about
0.8 s of a 3-epoch run's 5, with epochs no faster for it (bench/REPORT.md, whole process).
"""

import os

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
