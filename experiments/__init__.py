"""Experiments: a run's configuration, its lifecycle and the study plugins, in three floors. A module
imports only from its own floor or the floors below (``tests/test_layering.py`` keeps it so).

Schema (knows no plugin):

* :mod:`experiments.options`: how an option is declared and converted;
* :mod:`experiments.sections`: the core's typed sections and :class:`~experiments.sections.RunConfig`;
* :mod:`experiments.errors`: :class:`~experiments.errors.ConfigError`, the exit codes and the one line
  each error ends with.

Study (knows the schema, not the assembly):

* :mod:`experiments.plugin`: what a plugin is (its hooks), :class:`~experiments.plugin.RunContext`;
* :mod:`experiments.plugins`: one module per study, and the registry;
* :mod:`experiments.session`, :mod:`experiments.build`, :mod:`experiments.preflight`: what a run opens,
  builds and checks.

Assembly (puts it together):

* :mod:`experiments.config`: every section (the core's and the plugins'), parsed from flat names;
* :mod:`experiments.presets`, :mod:`experiments.naming`: where values come from, what a run is called;
* :mod:`experiments.run` over :mod:`experiments.lifecycle` (the phases, each guarded);
* :mod:`experiments.ensemble`, :mod:`experiments.model_files` (saved models), :mod:`experiments.cli`.
"""
