r"""Tables and figures of the studies, from their sweep folders (``python sweep.py
sweeps/study_*.yaml`` writes one per study under ``--output_dir``):

    python scripts/study_figures.py table OUTPUT_DIR/study_stopping --config preset --summary test_accuracy
    python scripts/study_figures.py learning_rates OUTPUT_DIR/study_learning_rates docs/results/learning_rates.png
    python scripts/study_figures.py architecture OUTPUT_DIR/study_architecture_grid docs/results/architecture_grid.png
    python scripts/study_figures.py search OUTPUT_DIR docs/results/search_methods.png
    python scripts/study_figures.py ablation OUTPUT_DIR/study_ablation_seeds docs/results/ablation.png
    python scripts/study_figures.py vanishing OUTPUT_DIR/study_vanishing_dynamics docs/results/vanishing_dynamics.png
    python scripts/study_figures.py elastic docs/results/elastic.png --data_dir ../shared/data

The figures of studies 1-16 and 24-35 (titles left out here; see each figure):

    python scripts/study_figures.py curves OUTPUT_DIR/study_scaling docs/results/scaling_curves.png --by scaling \
        --by optimizer --metric batch_loss --metric val_accuracy --log batch_loss --batches 844
    python scripts/study_figures.py curves OUTPUT_DIR/study_vanishing docs/results/vanishing_curves.png --by \
        activation --by norm --metric batch_loss --metric val_accuracy --log batch_loss
    python scripts/study_figures.py curves OUTPUT_DIR/study_norm docs/results/norm_curves.png --by norm --metric \
        train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py scatter OUTPUT_DIR/study_dropout docs/results/dropout_accuracy.png --x dropout \
        --y test_accuracy --hue weight_decay
    python scripts/study_figures.py curves OUTPUT_DIR/study_architectures docs/results/architectures_curves.png \
        --by arch --metric train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py curves OUTPUT_DIR/study_cnn_optimizers docs/results/cnn_optimizers_curves.png \
        --by optimizer --metric train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py curves OUTPUT_DIR/study_activations docs/results/activations_curves.png --by \
        activation --metric train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py scatter OUTPUT_DIR/study_cnn_design docs/results/cnn_design.png --x \
        seconds_per_epoch --y test_accuracy --hue preset --log_x
    python scripts/study_figures.py weights OUTPUT_DIR/study_regularisers docs/results/regularisers_weights.png \
        --by preset
    python scripts/study_figures.py scatter OUTPUT_DIR/study_search_dropout docs/results/search_dropout.png --x \
        learning_rate --y test_accuracy --hue dropout --note batch_size --log_x
    python scripts/study_figures.py curves OUTPUT_DIR/study_converge_optimizers \
        docs/results/converge_optimizers.png --by optimizer --metric train_loss --metric val_accuracy --log \
        train_loss
    python scripts/study_figures.py stops OUTPUT_DIR/study_norm_stopping docs/results/norm_stopping.png --line norm \
        --stop min_delta --metric train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py curves OUTPUT_DIR/study_pretrain_converge docs/results/pretrain_converge.png \
        --by pretrain --metric train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py confusions OUTPUT_DIR/study_pretrain_converge \
        docs/results/pretrain_confusions.png --by pretrain
    python scripts/study_figures.py curves OUTPUT_DIR/study_deep_autoencoder \
        docs/results/deep_autoencoder_curves.png --by pretrain --metric train_loss --metric val_accuracy --log \
        train_loss
    python scripts/study_figures.py architecture OUTPUT_DIR/study_architecture_activation \
        docs/results/architecture_ReLU.png --where activation=ReLU --range 0.6 0.88 (and sigmoid)
    python scripts/study_figures.py curves OUTPUT_DIR/study_init docs/results/init_curves.png --by activation --by \
        weight_init --metric train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py curves OUTPUT_DIR/study_tabular_scaling docs/results/tabular_scaling_curves.png \
        --by scaling --by optimizer --metric train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py curves OUTPUT_DIR/study_perceptron docs/results/perceptron_curves.png --by \
        preset --metric train_accuracy --metric val_accuracy
    python evaluate.py <first k models> --data_dir ../shared/data --json > ens_k.txt (k = 2..5); python \
        scripts/study_figures.py ensemble ens_2.txt ens_3.txt ens_4.txt ens_5.txt --out \
        docs/results/ensembles_members.png
    python scripts/study_figures.py curves OUTPUT_DIR/study_pretrain docs/results/pretrain_curves.png --by pretrain \
        --metric train_loss --metric val_accuracy --log train_loss
    python scripts/study_figures.py scatter OUTPUT_DIR/study_ablation docs/results/ablation_grid.png \
        --x learning_rate --y val_accuracy --hue optimizer --style dropout --log_x

Pictures a run draws itself (``activation_maps*.png``, ``fgsm.png``, ``importance.png``,
``first_layer_weights.png``, ``latent.png``, ``confusion_matrix.png``) are copied from its folder.

Every number comes from the runs' own ``config.json``, ``summary.json`` and ``history.json``, or the
study's ``trials.csv``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import click
import numpy as np
from matplotlib.ticker import MaxNLocator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sweeping import study_figures  # noqa: E402
from tracking.figure import fit_to_contents, new_figure, plain_log_labels  # noqa: E402
from tracking.files import save_figure  # noqa: E402


def runs(folder: Path) -> list[dict]:
    """Every run of a sweep folder: ``{"config", "summary", "history", "folder"}``."""
    return study_figures.load_runs(folder)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


@click.group(context_settings={"token_normalize_func": lambda name: name.replace("_", "-")})
def cli() -> None:
    """Tables and figures of the studies."""


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--config", "config_keys", multiple=True, help="Configuration keys as columns.")
@click.option("--summary", "summary_keys", multiple=True, help="Summary keys as columns.")
def table(folder: Path, config_keys, summary_keys) -> None:
    """A markdown table: one row per run of FOLDER."""
    header = [*config_keys, *summary_keys]
    click.echo("| " + " | ".join(header) + " |")
    click.echo("|" + " --- |" * len(header))
    for run in runs(folder):
        row = [run["config"].get(k, "") for k in config_keys] + [run["summary"].get(k, "") for k in summary_keys]
        click.echo("| " + " | ".join(_cell(v) for v in row) + " |")


FOLDER = click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
OUT = click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
BY = click.option("--by", "label_keys", multiple=True, required=True, help="Configuration keys that label a run.")
TITLE = click.option("--title", default="", help="The figure's title.")


@cli.command()
@FOLDER
@OUT
@BY
@TITLE
@click.option("--metric", "metrics", multiple=True, required=True, help="History keys (one panel each), or batch_loss.")
@click.option("--log", "log", multiple=True, help="Metrics drawn on a log scale.")
@click.option("--batches", "batch_limit", type=int, default=None, help="batch_loss: only the first N batches.")
def curves(folder: Path, out: Path, label_keys, title: str, metrics, log, batch_limit) -> None:
    """Per-epoch (or per-batch) curves of every run, one panel per metric."""
    study_figures.curves(runs(folder), metrics, label_keys, out, title, log=log, batch_limit=batch_limit)


@cli.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@TITLE
def ensemble(reports, out: Path, title: str) -> None:
    """Members against their ensembles, from ``evaluate.py MODELS --json`` outputs (one file per ensemble;
    the JSON is the output's last line)."""
    found = []
    for path in reports:
        lines = Path(path).read_text().strip().splitlines()
        try:
            report = json.loads(lines[-1]) if lines else None
        except ValueError:
            report = None
        if not isinstance(report, dict) or "accuracy" not in (report.get("members") or [{}])[0]:
            raise click.BadParameter(f"{path}: its last line is not an `evaluate.py --json` report of classifiers")
        found.append(report)
    study_figures.ensemble_bars(found, out, title)


@cli.command()
@FOLDER
@OUT
@TITLE
@click.option("--line", "line_key", required=True, help="Configuration key: one curve per value.")
@click.option(
    "--stop", "stop_key", required=True, help="Configuration key of the stopping rule: one marker shape per value."
)
@click.option("--metric", "metrics", multiple=True, required=True, help="History keys, one panel each.")
@click.option("--log", "log", multiple=True, help="Metrics drawn on a log scale.")
def stops(folder: Path, out: Path, title: str, line_key: str, stop_key: str, metrics, log) -> None:
    """Curves that share their start, with a marker where each run's stopping rule ended it."""
    study_figures.stopping_points(runs(folder), line_key, stop_key, metrics, out, title, log=log)


@cli.command()
@FOLDER
@OUT
@TITLE
@click.option("--x", "x_key", required=True, help="Configuration (or summary) key on the x axis.")
@click.option("--y", "y_key", required=True, help="Summary key on the y axis.")
@click.option("--hue", "hue_key", default=None, help="Configuration key: one colour per value.")
@click.option("--log_x", is_flag=True, help="Log scale on x.")
@click.option("--note", "note_key", default=None, help="Configuration key written next to each point.")
@click.option("--style", "style_key", default=None, help="Configuration key: one marker and line style per value.")
def scatter(folder: Path, out: Path, title: str, x_key: str, y_key: str, hue_key, log_x: bool, note_key, style_key):
    """A summary value of every run against a configuration value."""
    study_figures.scatter(
        runs(folder), x_key, y_key, hue_key, out, title, log_x=log_x, note_key=note_key, style_key=style_key
    )


@cli.command()
@FOLDER
@OUT
@BY
@TITLE
def weights(folder: Path, out: Path, label_keys, title: str) -> None:
    """Histograms of each run's first-layer weights (saved models), with the share of near-zero weights."""
    study_figures.weights(runs(folder), label_keys, out, title)


@cli.command()
@FOLDER
@OUT
@BY
@TITLE
@click.option(
    "--classes", default="fashion_mnist", show_default=True, help="The data set whose class names label the axes."
)
def confusions(folder: Path, out: Path, label_keys, title: str, classes: str) -> None:
    """The runs' test confusion matrices side by side."""
    import datasets

    names = datasets.DATASETS[classes].class_names
    study_figures.confusions(runs(folder), label_keys, names, out, title)


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def learning_rates(folder: Path, out: Path) -> None:
    """Training loss per epoch, one panel per optimizer and one curve per rate; a diverged run ends in
    an x at the top of its panel, at the epoch it diverged in."""
    import matplotlib

    by_optimizer: dict[str, list[dict]] = defaultdict(list)
    for run in runs(folder):
        by_optimizer[run["config"]["optimizer"]].append(run)
    optimizers = [name for name in ("sgd", "momentum", "adam") if name in by_optimizer]
    fig = new_figure(4.2 * len(optimizers) + 1.6, 3.6)
    axes = fig.subplots(1, len(optimizers), sharey=True, squeeze=False)[0]
    rates = sorted({run["config"]["learning_rate"] for run in runs(folder)})
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(rates)))
    top, diverged = 0.0, False
    for ax, name in zip(axes, optimizers):
        for run in sorted(by_optimizer[name], key=lambda r: r["config"]["learning_rate"]):
            rate, history = run["config"]["learning_rate"], run["history"]
            colour = colours[rates.index(rate)]
            epochs = [row["epoch"] for row in history]
            losses = [row["train_loss"] for row in history]
            top = max([top, *[v for v in losses if np.isfinite(v)]])
            ax.plot(epochs, losses, "-o", color=colour, markersize=3, label=f"{rate:g}")
            if run["summary"].get("status") == "diverged":
                diverged = True
                where = ax.get_xaxis_transform()  # x in epochs, y at the top of the panel
                ax.plot(
                    [len(history) + 1], [1.0], "x", color=colour, markersize=9, mew=2, transform=where, clip_on=False
                )
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    plain_log_labels(axes[0])  # shared: one call labels all panels
    axes[0].set_ylabel("training loss, log scale" + (" (x: diverged in that epoch)" if diverged else ""))
    handles, labels = axes[-1].get_legend_handles_labels()
    axes[-1].legend(
        handles, labels, title="learning rate", loc="upper left", bbox_to_anchor=(1.04, 1.0), fontsize=8, frameon=False
    )
    fig.subplots_adjust(left=0.07, right=1 - 1.4 / (4.2 * len(optimizers) + 1.6), bottom=0.14, top=0.82, wspace=0.08)
    fig.suptitle(
        "Training loss by learning rate, one panel per optimizer (Fashion-MNIST, 3 × 128 ReLU, 5 epochs"
        + ("; no run diverged)" if not diverged else ")"),
        fontsize=11,
    )
    save_figure(fit_to_contents(fig), out)


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--where", "where", default=None, help="KEY=VALUE: only the runs with this configuration value.")
@click.option("--title", default="Depth × width, 5 epochs: validation accuracy, parameters, seconds per epoch")
@click.option("--range", "value_range", type=(float, float), default=None, help="The colour scale's low and high.")
def architecture(folder: Path, out: Path, where: str | None, title: str, value_range) -> None:
    """Heat map of validation accuracy over depth x width, each cell with its parameter count and
    its mean epoch time."""
    found = runs(folder)
    if where:
        key, _, value = where.partition("=")
        found = [r for r in found if str(r["config"].get(key)) == value]
    depths = sorted({r["config"]["num_layers"] for r in found})
    widths = sorted({r["config"]["hidden_size"] for r in found})
    accuracy = np.full((len(depths), len(widths)), np.nan)
    notes = [["" for _ in widths] for _ in depths]
    for r in found:
        i, j = depths.index(r["config"]["num_layers"]), widths.index(r["config"]["hidden_size"])
        summary = r["summary"]
        accuracy[i, j] = summary.get("best_val_accuracy", np.nan)
        notes[i][j] = f"{summary['n_params'] / 1000:,.0f}k\n{summary['seconds_per_epoch']:.1f} s"
    fig = new_figure(1.25 * len(widths) + 2.2, 0.9 * len(depths) + 1.4)
    ax = fig.add_axes((0.13, 0.14, 0.68, 0.74))
    low, high = value_range or (None, None)  # one scale for figures meant to be compared
    image = ax.imshow(accuracy, cmap="viridis", aspect="auto", vmin=low, vmax=high)
    for i in range(len(depths)):
        for j in range(len(widths)):
            if np.isfinite(accuracy[i, j]):
                light = image.norm(accuracy[i, j]) < 0.5  # white text on the dark half of the colour scale
                ax.text(
                    j,
                    i,
                    f"{accuracy[i, j]:.4f}\n{notes[i][j]}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if light else "black",
                )
    ax.set_xticks(range(len(widths)), [str(w) for w in widths])
    ax.set_yticks(range(len(depths)), [str(d) for d in depths])
    ax.set_xlabel("hidden units per layer")
    ax.set_ylabel("hidden layers")
    colour_bar = fig.add_axes((0.84, 0.14, 0.025, 0.74))
    fig.colorbar(image, cax=colour_bar, label="best validation accuracy")
    ax.set_title(title, fontsize=10)
    save_figure(fit_to_contents(fig), out)


@cli.command()
@click.argument("output_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def search(output_dir: Path, out: Path) -> None:
    """Best validation accuracy found so far against trials used, per search method and repeat
    (study folders ``search_<method>_s<seed>``, each with its ``trials.csv``)."""
    colours = {"grid": "tab:blue", "random": "tab:orange", "bayes": "tab:green", "hyperband": "tab:red"}
    fig = new_figure(7.5, 4.2)
    ax = fig.add_axes((0.1, 0.13, 0.62, 0.77))
    lowest = np.inf
    for method, colour in colours.items():
        for seed, style in ((0, "-"), (1, "--")):
            path = output_dir / f"search_{method}_s{seed}" / "trials.csv"
            if not path.is_file():
                continue
            with open(path) as handle:
                rows = sorted(csv.DictReader(handle), key=lambda row: int(row["number"]))
            values = [float(row["value"]) if row["state"] == "complete" and row["value"] else np.nan for row in rows]
            best = np.fmax.accumulate(np.where(np.isnan(values), -np.inf, values))
            if np.isfinite(best).any():
                lowest = min(lowest, float(best[np.isfinite(best)].min()))
            ax.step(range(1, len(best) + 1), best, style, where="post", color=colour, label=f"{method}, seed {seed}")
    ax.set_xlabel("trials used")
    ax.set_ylabel("best validation accuracy so far")
    if np.isfinite(lowest):  # every step in view, from the first trial's value up
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, lowest - 0.01), high)
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)
    ax.set_title("Search methods at equal budget (24 trials, 3 epochs each)", fontsize=10)
    save_figure(fit_to_contents(fig), out)


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def ablation(folder: Path, out: Path) -> None:
    """Change in test accuracy against the baseline, mean ± standard deviation over the seeds, and the
    markdown table of the same numbers."""
    by_preset: dict[str, dict[int, float]] = defaultdict(dict)
    for r in runs(folder):
        by_preset[r["config"]["preset"]][r["config"]["seed"]] = r["summary"].get("test_accuracy", np.nan)
    base = by_preset.pop("ablation_baseline")
    seeds = sorted(base)
    names = sorted(by_preset, key=lambda p: np.mean([by_preset[p][s] - base[s] for s in seeds]))
    deltas = [np.array([by_preset[p][s] - base[s] for s in seeds]) for p in names]
    click.echo(f"| change | test accuracy (mean ± sd over {len(seeds)} seeds) | Δ vs baseline (points) |")
    click.echo("| --- | --- | --- |")
    base_values = np.array([base[s] for s in seeds])
    click.echo(f"| baseline | {base_values.mean():.4f} ± {base_values.std(ddof=1):.4f} | |")
    for p, d in zip(names, deltas):
        values = np.array([by_preset[p][s] for s in seeds])
        click.echo(
            f"| {p.removeprefix('ablation_')} | {values.mean():.4f} ± {values.std(ddof=1):.4f} | "
            f"{100 * d.mean():+.2f} ± {100 * d.std(ddof=1):.2f} |"
        )
    fig = new_figure(7.0, 0.38 * len(names) + 1.3)
    ax = fig.add_axes((0.28, 0.16, 0.68, 0.74))
    means = [100 * d.mean() for d in deltas]
    errors = [100 * d.std(ddof=1) for d in deltas]
    ax.barh(range(len(names)), means, xerr=errors, color=["tab:red" if m < 0 else "tab:green" for m in means])
    ax.set_yticks(range(len(names)), [p.removeprefix("ablation_").replace("_", " ") for p in names])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("Δ test accuracy vs the baseline, points (mean ± sd, paired by seed)")
    ax.set_title(f"One change at a time (baseline {100 * base_values.mean():.2f} %)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    save_figure(fit_to_contents(fig), out)


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def vanishing(folder: Path, out: Path) -> None:
    """Each layer's gradient norm per epoch, one panel per activation, on one log scale."""
    import matplotlib

    found = sorted(runs(folder), key=lambda r: r["config"]["activation"] != "sigmoid")
    fig = new_figure(4.3 * len(found) + 1.5, 3.8)
    axes = fig.subplots(1, len(found), sharey=True, squeeze=False)[0]
    for ax, r in zip(axes, found):
        keys = sorted({k for row in r["history"] for k in row if k.startswith("grad_norm/")})
        for k, key in enumerate(keys):
            ax.plot(
                [row["epoch"] for row in r["history"]],
                [row[key] for row in r["history"]],
                "-o",
                markersize=3,
                label=key.removeprefix("grad_norm/"),
                color=matplotlib.colormaps["viridis"](k / max(len(keys) - 1, 1)),
            )
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{r['config']['activation']}, test accuracy {r['summary']['test_accuracy']:.4f}", fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
    plain_log_labels(axes[0])  # shared: one call labels both panels
    axes[0].set_ylabel("mean ||dL/dW|| per weight matrix (log scale)")
    handles, labels = axes[-1].get_legend_handles_labels()
    axes[-1].legend(
        handles, labels, loc="upper left", bbox_to_anchor=(1.04, 1.0), fontsize=7, frameon=False, title="layer"
    )
    fig.subplots_adjust(left=0.08, right=1 - 1.3 / (4.3 * len(found) + 1.5), bottom=0.14, top=0.82, wspace=0.06)
    fig.suptitle("Fashion-MNIST, 8 hidden layers of 128, Adam 0.001: gradient norm per layer and epoch", fontsize=11)
    save_figure(fit_to_contents(fig), out)


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True, help="The seed whose runs are drawn.")
def stopping(folder: Path, out: Path, seed: int) -> None:
    """Training loss and validation accuracy per epoch of each stopping rule (one seed), each curve
    ending where its rule stopped it."""
    found = sorted((r for r in runs(folder) if r["config"]["seed"] == seed), key=lambda r: r["config"]["preset"])
    fig = new_figure(10.5, 3.8)
    loss_ax, acc_ax = fig.subplots(1, 2)
    for r in found:
        epochs = [row["epoch"] for row in r["history"]]
        label = r["config"]["preset"].removeprefix("stop_").replace("_", " ")
        (line,) = loss_ax.plot(epochs, [row["train_loss"] for row in r["history"]], "-", label=label)
        acc_ax.plot(epochs, [row["val_accuracy"] for row in r["history"]], "-", color=line.get_color())
        acc_ax.plot(epochs[-1:], [r["history"][-1]["val_accuracy"]], "o", color=line.get_color())
    loss_ax.set_yscale("log")
    plain_log_labels(loss_ax)
    loss_ax.set_ylabel("training loss (log scale)")
    acc_ax.set_ylabel("validation accuracy (dot: stopped)")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    acc_ax.legend(
        *loss_ax.get_legend_handles_labels(),
        title="stopping rule",
        loc="upper left",
        bbox_to_anchor=(1.04, 1.0),
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(
        f"Stopping rules, default network, seed {seed}: one trajectory, {len(found)} stopping points", fontsize=11
    )
    fig.subplots_adjust(left=0.09, right=0.8, bottom=0.14, top=0.88, wspace=0.25)
    save_figure(fit_to_contents(fig), out)


@cli.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data_dir", "--data-dir", type=click.Path(file_okay=False), default=None)
@click.option("--alpha", default=34.0, show_default=True)
@click.option("--sigma", default=4.0, show_default=True)
def elastic(out: Path, data_dir, alpha: float, sigma: float) -> None:
    """The first training image of each MNIST and Fashion-MNIST class, and three elastic distortions
    of each (``--elastic ALPHA --elastic_sigma SIGMA``, drawn as the training step draws them)."""
    import datasets
    from experiments.plugins.augment import elastic_distort

    rows = []
    for name in ("mnist", "fashion_mnist"):
        data = datasets.load(name, data_dir, 0.0, 0)
        pixels = data.preprocessing.invert(data.x_train)
        first = [int(np.flatnonzero(data.y_train == k)[0]) for k in range(10)]
        rng = np.random.default_rng(0)
        rows += [pixels[first]] + [elastic_distort(pixels[first], (28, 28), alpha, sigma, rng) for _ in range(3)]
    fig = new_figure(10, 8.2)
    axes = fig.subplots(len(rows), 10)
    for r, row in enumerate(rows):
        for c in range(10):
            axes[r, c].imshow(row[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=255)
            axes[r, c].set_axis_off()
        axes[r, 0].set_title("original" if r % 4 == 0 else "distorted", fontsize=7, loc="left")
    fig.suptitle(f"Elastic distortions, alpha {alpha:g}, sigma {sigma:g} (Simard et al. 2003)", fontsize=11)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93, hspace=0.35, wspace=0.05)
    save_figure(fit_to_contents(fig), out)


if __name__ == "__main__":
    cli()
