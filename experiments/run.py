"""One training run, as ``train.py`` and every sweep trial make it: the lifecycle, and nothing else.

:func:`run` reads as its phases (:mod:`experiments.lifecycle`): start (load,
check, reporters, build, restore) -> before training -> fit -> summary and
test -> save -> figures -> finish, with the study plugins
(:mod:`experiments.plugins`) taking part through their hooks. Faults lose
nothing already computed: a diverged or interrupted (Ctrl-C, SIGTERM) run,
whatever phase it is in, still writes its history and summary (with the
phase named), closes the W&B run with a failure code and, with
``save_model``, saves the best weights. A stop after the last epoch waits
for the test pass (a second one does not).
Every epoch leaves ``checkpoint.npz`` in the run folder, from which
:func:`resume` continues the run bit for bit.
"""

from __future__ import annotations

from pathlib import Path

from . import lifecycle
from .naming import run_name
from .plugins import active
from .sections import RunConfig
from .session import RunResult

__all__ = ["resume", "run"]


def run(
    config: RunConfig,
    data=None,
    callbacks=(),
    group=None,
    tags=None,
    say=print,
    progress=True,
    resume_from=None,
    fold=None,
    name=None,
) -> RunResult:
    """One training run: build, fit, evaluate, report. ``data`` is loaded from ``config`` when not given;
    ``resume_from`` continues the run folder's checkpoint (use :func:`resume`). A plugin may run
    several runs in its place (k-fold: the folds are runs with ``fold=(index, parent folder)``).
    ``name`` names the run (default: :func:`~experiments.naming.run_name`; a sweep names its trials by what
    it varies). A configuration that cannot run raises :class:`ConfigError` before anything starts; errors other
    than divergence, Ctrl-C and SIGTERM propagate after every reporter is closed as failed."""
    plugins = active(config)
    takeover = next((p for p in plugins if p.replaces_run(config)), None)
    if takeover is not None:
        return takeover.run_instead(
            config,
            run,
            name=name or run_name(config),
            callbacks=callbacks,
            group=group,
            tags=tags,
            say=say,
            progress=progress,
        )
    ctx = lifecycle.start(
        config, data, plugins, group=group, tags=tags, say=say, resume_from=resume_from, fold=fold, name=name
    )
    try:
        if not ctx.resuming:
            lifecycle.guard(ctx, "before training", lambda: lifecycle.before_training(ctx, plugins))
        lifecycle.guard(ctx, "training", lambda: lifecycle.fit(ctx, plugins, callbacks, progress))
        lifecycle.guard(ctx, "testing", lambda: lifecycle.score(ctx, plugins), always=True)  # summary, test pass
        lifecycle.guard(ctx, "saving", lambda: lifecycle.save(ctx), always=True)
        lifecycle.guard(ctx, "saving", lambda: lifecycle.print_result(ctx), always=True)  # the result, said
        lifecycle.guard(ctx, "figures", lambda: lifecycle.draw(ctx, plugins))
    except BaseException:
        lifecycle.fail(ctx)
        raise
    return lifecycle.finish(ctx)


def resume(folder, changes: dict, **kwargs) -> RunResult:
    """Continue the run in ``folder`` from its last checkpoint with its own configuration;
    ``changes`` may raise ``epochs``, set ``wandb_mode`` or say where the data is from here
    (``data_dir``); nothing else, or the run would change."""
    folder = Path(folder)
    return run(lifecycle.resume_config(folder, changes), resume_from=folder, **kwargs)
