"""``python sweep.py wandb-report``: the assignment's W&B Report, built from the runs this tool logs.

DA6401 Assignment 1 is handed in as a W&B Report. This command writes that report's skeleton with
W&B's own report library (``wandb_workspaces.reports.v2``): one section per question, Q1 to Q10,
in the assignment's order, each with

* an H2 heading (``Q4. The sweep``, ...);
* a line saying what the panels show and the command that produced their runs;
* a panel grid whose run set holds exactly the runs that answer the question;
* a paragraph beginning with :data:`MARK` ("✍️ Your observations: …", "✍️ Your answer: …"): the
  student's own text, which the tool never writes.

Conventions:

* **Which runs a section shows.** Every panel grid's run set is filtered to one
  :class:`Selection`: the runs of a W&B sweep (``wandb agent`` gives its runs the sweep's id) or
  of a run group (``sweep.py`` puts an offline sweep's trials in the W&B group named after its
  Optuna study: the sweep's name, ``--study``, or ``<name>_from_<folder>`` with ``--from_sweep``).
  Q1, Q4–Q7 show question 4's sweep (``sweep.yaml``), Q3 the optimizers' comparison
  (``sweeps/optimizers.yaml``), Q8 ``sweeps/ce_vs_mse.yaml`` and Q10 ``sweeps/mnist_top3.yaml``.
  Without a sweep id or a group, Q1, Q3 and Q4–Q7 show the group named after their sweep file's
  sweep (``fashion_mnist_q4``, ``optimizers``), and Q8 and Q10, which start from question 4's
  sweep, the group ``<their sweep's name>_from_<G>`` when Q4's runs are the group ``G``
  (``ce_vs_mse_from_fashion_mnist_q4``: the study ``sweep.py sweeps/ce_vs_mse.yaml --from_sweep
  OUTPUT_DIR/G`` makes, :func:`from_search`), or their sweep's name (this project's presets) when
  Q4's runs are a W&B sweep. Q1 and Q7 show one run when ``--best_run`` names it (its id or its
  name), else the sweep's runs, best first.
* **Which keys the panels read.** Only keys a run of ``train.py`` logs (the test
  ``tests/test_wandb_report.py`` checks them against a real run): the per-epoch metrics
  (``train_loss``, ``val_accuracy``, ``val_loss``, x-axis ``epoch``), the summary
  (``test_accuracy``), the images (:data:`SAMPLES_KEY`, :data:`CONFUSION_IMAGE_KEY`), the
  interactive confusion matrix's table (:data:`CONFUSION_TABLE_KEY`), the configuration (the
  swept parameters, read from the sweep file through :func:`sweeping.spec.load`, never listed
  here), and W&B's own run attributes (``CreatedTimestamp``, the run's creation time, which
  wandb-workspaces spells ``Metric("CreatedTimestamp")`` and W&B stores as ``run:createdAt``).
* **Project.** The run sets name no project of their own: they show the report's project, as a
  panel grid added in W&B's editor does. So ``--dry_run`` needs no network, and the
  specification it writes is exactly the one ``report.save()`` sends (the ``spec`` of the
  ``upsertView`` mutation). Online, the project is looked up first, so a wrong entity or project
  fails with one line before anything is saved.
* **Errors.** Usage errors exit 2, a failure to save (no API key, network down, unknown entity or
  project, refused key) exits 1; each is one line, and the API key never appears in it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import click
import wandb_workspaces.reports.v2 as wr

from experiments.cli import OneLineErrors, fail
from experiments.errors import EXIT_INTERRUPTED
from tracking import SPLIT_TITLES, confusion_key

ROOT = Path(__file__).resolve().parents[1]
SEARCH_FILE = ROOT / "sweep.yaml"  # question 4's sweep
OPTIMIZERS_FILE = ROOT / "sweeps" / "optimizers.yaml"  # question 3: every optimizer from the same start
CE_VS_MSE_FILE = ROOT / "sweeps" / "ce_vs_mse.yaml"  # question 8
MNIST_FILE = ROOT / "sweeps" / "mnist_top3.yaml"  # question 10

SAMPLES_KEY = "samples"  # the classification plugin's log_images: one wandb.Image per class, captioned
CONFUSION_KEY = confusion_key("test")  # WandbRun.log_confusion: wandb.plot.confusion_matrix of the test set
CONFUSION_TABLE_KEY = f"{CONFUSION_KEY}_table"  # where wandb keeps that chart's table
CONFUSION_IMAGE_KEY = f"{CONFUSION_KEY}_image"  # the figure of the classification plugin (log_figures)
CONFUSION_CHART = "wandb/confusion_matrix/v1"  # the Vega preset wandb.plot.confusion_matrix draws with
CONFUSION_FIELDS = {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"}
EPOCH = "epoch"  # every per-epoch metric's step (WandbRun: define_metric("*", step_metric="epoch"))
CREATED = "CreatedTimestamp"  # wandb-workspaces' name of the run's creation time (W&B's "Created")
LOSS = "val_loss"
TEST_ACCURACY = "test_accuracy"

MARK = "✍️"  # starts every paragraph the student writes
ENTITY_PLACEHOLDER = "your-entity"  # --dry_run without --entity or WANDB_ENTITY
TITLE = "DA6401 Assignment 1"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")  # W&B entity and project names


@dataclass(frozen=True)
class Selection:
    """The runs one panel grid shows: those of the W&B sweep ``sweep`` (its id) if given, else of the
    run group ``group``; ``run`` narrows them to one run (its id or its name)."""

    sweep: str | None = None
    group: str | None = None
    run: str | None = None

    def filters(self) -> str:
        """The run set's filter, in wandb-workspaces' expression syntax."""
        if self.run:
            return f"Metric('ID') == {self.run!r} or Metric('Name') == {self.run!r}"
        if self.sweep:
            return f"Metric('Sweep') == {self.sweep!r}"
        return f"Metric('Group') == {self.group!r}" if self.group else ""

    def describe(self) -> str:
        if self.run:
            return f"run {self.run}"
        return f"W&B sweep {self.sweep}" if self.sweep else f"run group {self.group}"


@dataclass(frozen=True)
class Sources:
    """Everything the report is built from besides its entity, project and title."""

    parameters: list[str]  # question 4's swept parameters, in the sweep file's order
    metric: str  # the sweep's metric, e.g. val_accuracy
    search: Selection  # Q4-Q6
    best: Selection  # Q1, Q7: the best model's run, or the search's runs
    optimizers: Selection  # Q3
    ce_vs_mse: Selection  # Q8
    mnist: Selection  # Q10
    github: str | None = None  # Q9


# ---------------------------------------------------------------- building blocks


def layout(width: int = 12, height: int = 8) -> wr.Layout:
    """A panel's size in the grid's 24 columns; the panel grid places the panels without overlap."""
    return wr.Layout(x=0, y=0, w=width, h=height)


def runset(selection: Selection, name: str, metric: str, columns: Iterable[str] = ()) -> wr.Runset:
    """A run set of ``selection``'s runs, the best (highest ``metric``) first, with ``columns``
    (``config:<key>.value``, ``summary:<key>``) shown in its runs table beside the runs' names."""
    return wr.Runset(
        name=name,
        filters=selection.filters(),
        order=[wr.OrderBy(wr.SummaryMetric(metric), ascending=False)],
        visible_columns=list(columns),
    )


def columns(parameters: Iterable[str], *summary: str) -> list[str]:
    """Run-table columns: the configuration's ``parameters``, then the ``summary`` metrics."""
    return [f"config:{name}.value" for name in parameters] + [f"summary:{key}" for key in summary]


def code(snippet: str) -> wr.InlineCode:
    return wr.InlineCode(snippet)


def per_epoch(metric: str, title: str, **options) -> wr.LinePlot:
    return wr.LinePlot(title=title, x=EPOCH, y=[metric], layout=layout(), **options)


@dataclass
class Section:
    """One question of the report: its heading, what it asks, what the tool shows (text and inline
    code), the panels over ``runs`` (none for a question about the code), and what the student writes."""

    title: str
    asks: str
    shows: list
    yours: str
    yours_label: str = "Your observations"
    runs: Selection | None = None
    panels: list = field(default_factory=list)
    run_set: str = "Runs"
    columns: list[str] = field(default_factory=list)

    def blocks(self, metric: str) -> list:
        blocks = [wr.H2(self.title), wr.P(f"Asks: {self.asks}"), wr.P(self.shows)]
        if self.panels and self.runs is not None:
            run_set = runset(self.runs, self.run_set, metric, self.columns)
            blocks.append(wr.PanelGrid(runsets=[run_set], panels=self.panels))
        blocks.append(wr.P(f"{MARK} {self.yours_label}: {self.yours} …"))
        return blocks


# ---------------------------------------------------------------- the ten questions


def q1_samples(sources: Sources) -> Section:
    return Section(
        "Q1. One sample image per class",
        asks="plot one sample image of each class in a grid, logged with wandb.Image.",
        shows=[
            "Every image run logs ",
            code(SAMPLES_KEY),
            ", one wandb.Image per class captioned with its class (",
            code("python train.py -e 1"),
            " is the shortest such run). Shown: ",
            sources.best.describe(),
            ".",
        ],
        yours="optional; the panel answers the question, a sentence on the classes may add to it",
        runs=sources.best,
        run_set="Samples",
        panels=[wr.MediaBrowser(title="One image per class", media_keys=[SAMPLES_KEY], layout=layout(24, 10))],
    )


def q2_network(sources: Sources) -> Section:
    return Section(
        "Q2. The feed-forward network",
        asks="a network that takes the images and returns a probability distribution over the 10 classes, "
        "with the number of hidden layers and their size easy to change.",
        shows=[
            "-nhl and -sz set the depth and the width (one size for every layer, or one per layer); ",
            code("python train.py -nhl 3 -sz 256 128 64 -a tanh --summary"),
            " prints the network the options build, without training. The softmax of the output layer "
            "gives the probabilities of the 10 classes.",
        ],
        yours="how the code is organised, and how the network's depth and width are set",
        yours_label="Your answer",
    )


def q3_optimizers(sources: Sources) -> Section:
    return Section(
        "Q3. Backpropagation and the optimizers",
        asks="backpropagation with SGD, momentum, Nesterov, RMSProp, Adam and Nadam, and a way to add a new "
        "optimizer easily.",
        shows=[
            "Each optimizer (-o) is one file in optimizers/. Shown: every optimizer from the same start, ",
            code(f"python sweep.py {OPTIMIZERS_FILE.relative_to(ROOT)}"),
            f" ({sources.optimizers.describe()}).",
        ],
        yours="how backpropagation is written, and how a new optimizer is added",
        yours_label="Your answer",
        runs=sources.optimizers,
        run_set="Optimizers",
        columns=columns(["optimizer", "learning_rate"], sources.metric),
        panels=[
            per_epoch("train_loss", "Training loss per epoch, every optimizer"),
            per_epoch(sources.metric, f"{sources.metric} per epoch, every optimizer"),
        ],
    )


def q4_sweep(sources: Sources) -> Section:
    return Section(
        "Q4. The sweep",
        asks="use W&B sweeps to search the given hyperparameters with 10 % of the training data for "
        "validation, give the runs meaningful names, and explain the search strategy.",
        shows=[
            "The search space is ",
            code(SEARCH_FILE.name),
            f" ({', '.join(sources.parameters)}). Each run is named after the options it sets, e.g. "
            "hl_5_sz_128_bs_64_ac_ReLU_o_adam_lr_0.001 (hidden layers, size, batch size, activation, "
            f"optimizer, learning rate). Shown: {sources.search.describe()}; the run set lists every run's "
            "name and values.",
        ],
        yours="the search strategy you chose, and why",
        yours_label="Your answer",
        runs=sources.search,
        run_set="Sweep",
        columns=columns(sources.parameters, sources.metric),
        panels=[per_epoch(sources.metric, f"{sources.metric} per epoch, every run of the sweep")],
    )


def q5_created(sources: Sources) -> Section:
    return Section(
        "Q5. Accuracy against creation time",
        asks="W&B's plot of the validation accuracy against the time each run was created.",
        shows=["Each run's last ", code(sources.metric), f" against its creation time ({sources.search.describe()})."],
        yours="what the plot says about the search",
        runs=sources.search,
        run_set="Sweep",
        panels=[
            wr.ScatterPlot(
                title=f"{sources.metric} against the time each run was created",
                x=wr.Metric(CREATED),
                y=wr.SummaryMetric(sources.metric),
                running_ymax=True,
                layout=layout(24, 8),
            )
        ],
    )


def q6_parameters(sources: Sources) -> Section:
    axes = [wr.ParallelCoordinatesPlotColumn(metric=wr.Config(name)) for name in sources.parameters]
    axes.append(wr.ParallelCoordinatesPlotColumn(metric=wr.SummaryMetric(sources.metric)))
    return Section(
        "Q6. Parallel coordinates, correlations and parameter importance",
        asks="the parallel-coordinates plot and the correlation summary, the observations you draw from "
        "them, and a recommendation for reaching 95 % accuracy.",
        shows=[
            "Every swept parameter against the last ",
            code(sources.metric),
            "; the importance panel gives each parameter's importance and its correlation with it "
            f"({sources.search.describe()}).",
        ],
        yours="what the panels show about each parameter, and a recommendation for reaching 95 % accuracy",
        runs=sources.search,
        run_set="Sweep",
        panels=[
            wr.ParallelCoordinatesPlot(title="Parallel coordinates", columns=axes, layout=layout(24, 10)),
            wr.ParameterImportancePlot(with_respect_to=sources.metric, layout=layout(24, 10)),
        ],
    )


def q7_test_set(sources: Sources) -> Section:
    title = f"{SPLIT_TITLES['test']} confusion matrix"
    return Section(
        "Q7. The best model on the test set",
        asks="the best model's accuracy on the test set and its confusion matrix.",
        shows=[
            "The test set's confusion matrix, interactive (",
            code(CONFUSION_KEY),
            ") and as a figure, and the test accuracy. Shown: ",
            sources.best.describe(),
            "; train the best configuration with ",
            code("python train.py --val_fraction 0 --save_model"),
            " and name its run with --best_run.",
        ],
        yours="the test accuracy, and what the matrix says about the classes",
        runs=sources.best,
        run_set="Best model",
        columns=columns((), TEST_ACCURACY),
        panels=[
            wr.CustomChart(
                # id and name as fields of the run, as W&B's chart editor writes them
                query={"summaryTable": {"tableKey": CONFUSION_TABLE_KEY}, "id": None, "name": None},
                chart_name=CONFUSION_CHART,
                chart_fields=dict(CONFUSION_FIELDS),
                chart_strings={"title": title},
                layout=layout(12, 12),
            ),
            wr.MediaBrowser(title=title, media_keys=[CONFUSION_IMAGE_KEY], layout=layout(12, 12)),
            wr.BarPlot(title="Test accuracy", metrics=[TEST_ACCURACY], layout=layout(24, 6)),
        ],
    )


def q8_losses(sources: Sources) -> Section:
    return Section(
        "Q8. Cross-entropy against squared error",
        asks="compare the cross-entropy loss with the squared error loss, with plots.",
        shows=[
            "The three best configurations (this project's presets, or with --from_sweep your sweep's ranks "
            "1 to 3), each trained with both losses: ",
            code(producing_command(sources.ce_vs_mse, CE_VS_MSE_FILE)),
            f" ({sources.ce_vs_mse.describe()}). Each loss is drawn on its own scale: their values do not compare.",
        ],
        yours="the comparison in your words; the panels are the evidence",
        runs=sources.ce_vs_mse,
        run_set="Cross-entropy and squared error",
        columns=columns([*swept(CE_VS_MSE_FILE)[0], "rank"], sources.metric, TEST_ACCURACY),
        panels=[
            per_epoch(sources.metric, f"{sources.metric} per epoch"),
            per_epoch(LOSS, f"{LOSS} per epoch"),
            per_epoch(sources.metric, f"{sources.metric} per epoch, mean of each loss", groupby=wr.Config("loss")),
            wr.BarPlot(title="Test accuracy", metrics=[TEST_ACCURACY], layout=layout()),
        ],
    )


def producing_command(runs: Selection, sweep_file: Path) -> str:
    """The ``sweep.py`` command that makes the group ``runs`` shows: with ``--from_sweep
    outputs/sweeps/G`` for the group ``<name>_from_<G>`` (:func:`from_search`)."""
    command = f"python sweep.py {sweep_file.relative_to(ROOT)}"
    prefix = f"{sweep_name(sweep_file)}_from_"
    if runs.group and runs.group.startswith(prefix) and runs.group != prefix:
        command += f" --from_sweep outputs/sweeps/{runs.group.removeprefix(prefix)}"
    return command


def q9_code(sources: Sources) -> Section:
    if sources.github:
        shows: list = ["The code: ", wr.Link(sources.github, url=sources.github)]
    else:
        shows = [f"{MARK} Your GitHub link: … (or give --github URL)"]
    return Section(
        "Q9. The code",
        asks="a link to your GitHub repository.",
        shows=shows,
        yours="anything a reader needs to run the code",
        yours_label="Your notes",
    )


def q10_mnist(sources: Sources) -> Section:
    return Section(
        "Q10. Three recommendations for MNIST",
        asks="from what Fashion-MNIST taught, recommend three configurations for MNIST and report their accuracy.",
        shows=[
            "The Fashion-MNIST top three (the presets, or with --from_sweep your sweep's ranks 1 to 3), "
            "unchanged, on MNIST: ",
            code(producing_command(sources.mnist, MNIST_FILE)),
            f" ({sources.mnist.describe()}).",
        ],
        yours="why these three configurations, and what carried over from Fashion-MNIST",
        yours_label="Your answer",
        runs=sources.mnist,
        run_set="MNIST",
        columns=columns([*swept(MNIST_FILE)[0], "rank"], sources.metric, TEST_ACCURACY),
        panels=[
            wr.RunComparer(diff_only="split", layout=layout(24, 10)),
            per_epoch(sources.metric, f"{sources.metric} per epoch on MNIST"),
            wr.BarPlot(title="Test accuracy on MNIST", metrics=[TEST_ACCURACY], layout=layout()),
        ],
    )


QUESTIONS: list[Callable[[Sources], Section]] = [
    q1_samples,
    q2_network,
    q3_optimizers,
    q4_sweep,
    q5_created,
    q6_parameters,
    q7_test_set,
    q8_losses,
    q9_code,
    q10_mnist,
]


def build(entity: str, project: str, title: str, sources: Sources) -> wr.Report:
    """The report: a table of contents, then one section per question, Q1 to Q10."""
    blocks: list = [wr.TableOfContents()]
    for question in QUESTIONS:
        blocks.extend(question(sources).blocks(sources.metric))
    return wr.Report(
        entity=entity,
        project=project,
        title=title,
        description="DA6401 Assignment 1. The panels are built by `python sweep.py wandb-report`; "
        "the paragraphs marked ✍️ are yours to write.",
        blocks=blocks,
    )


def specification(report: wr.Report) -> dict:
    """The report as wandb-workspaces models it (``ReportViewspec``), as JSON: ``displayName``,
    ``description``, ``project`` and ``spec``, the blocks that ``report.save()`` sends."""
    return report._to_model().model_dump(mode="json", by_alias=True, exclude_none=True)


# ---------------------------------------------------------------- reading the sweep files


def sweep_name(path: Path) -> str:
    """The sweep's name (its file's ``name``, else its stem): the study, and so the W&B group of the
    trials, of ``sweep.py PATH`` without ``--study`` or ``--from_sweep``."""
    from sweeping import spec as specs

    return specs.load(path)[0].name


def swept(path: Path) -> tuple[list[str], str]:
    """The parameters the sweep file varies (values or a range, not a constant), and its metric."""
    from sweeping import spec as specs

    spec = specs.load(path)[0]
    return spec.varying, spec.metric


def selection(options: dict, key: str, default_group: str) -> Selection:
    """The runs the options ``<key>_sweep`` and ``<key>_group`` name (one of them at most); with
    neither, the run group ``default_group``."""
    sweep, group = options[f"{key}_sweep"], options[f"{key}_group"]
    if sweep and group:
        flag = "--sweep" if key == "sweep" else f"--{key}_sweep"
        raise click.UsageError(f"give {flag} or --{key}_group, not both")
    return Selection(sweep=sweep) if sweep else Selection(group=group or default_group)


def from_search(search: Selection, sweep_file: Path) -> str:
    """The default group of a sweep that starts from question 4's (Q8's ``ce_vs_mse``, Q10's
    ``mnist_top3``): when Q4's runs are the group ``G``, ``<its name>_from_<G>``, the study (and
    group) ``sweep.py SWEEP_FILE --from_sweep OUTPUT_DIR/G`` makes, as docs/wandb-report.md runs it;
    when they are a W&B sweep (no offline folder to start from), its name alone, the study of this
    project's presets."""
    from sweeping.definition import default_study_name

    return default_study_name(sweep_name(sweep_file), search.group)


# ---------------------------------------------------------------- online


def scrub(message: str) -> str:
    """One line of at most 300 characters, without the API key (nor anything shaped like one)."""
    line = " ".join(str(message).split())
    key = os.environ.get("WANDB_API_KEY")
    if key:
        line = line.replace(key, "***")
    line = re.sub(r"\b[0-9a-f]{40}\b", "***", line)
    return line[:300]


def base_url() -> str:
    """The W&B server wandb talks to: ``WANDB_BASE_URL``, else wandb's settings, else its default."""
    from wandb.sdk import wandb_setup

    return wandb_setup.singleton().settings.base_url


def has_credentials(host: str) -> bool:
    """Whether wandb finds an API key for ``host`` (environment, ``~/.netrc``, its settings) without
    asking for one: ``wandb.Api()`` would otherwise prompt at a terminal."""
    try:
        from wandb.sdk.lib import wbauth
    except ImportError:  # an older wandb: the places it reads
        from tracking.wandb_run import has_api_key

        return has_api_key()
    auth = wbauth.authenticate_session(host=host, source="sweep.py wandb-report", prompt=False, update_session=False)
    return auth is not None


class NoProject(Exception):
    """The report's project does not exist on W&B, or the key cannot read it."""


def log_in():
    """wandb's public API client; creating it checks the key with W&B (the ``Viewer`` query)."""
    import wandb

    return wandb.Api()


def check_project(entity: str, project: str) -> None:
    """Look the project up with wandb-workspaces' own ``ProjectInternalId`` query: a report on a project
    without runs would show nothing, so a missing one is an error (:class:`NoProject`)."""
    from wandb_workspaces._graphql import execute_graphql
    from wandb_workspaces.reports.v2 import gql

    found = execute_graphql(log_in(), gql.projectInternalId, {"entityName": entity, "projectName": project})
    if not (found or {}).get("project"):
        raise NoProject(
            f"no W&B project {entity}/{project} (or no access to it): run the sweeps online, or upload the "
            "offline runs with `wandb sync`, into that project first"
        )


def publish(report) -> str:
    """Save ``report`` to W&B and return its URL; :func:`fail` with one line on any failure."""
    host = base_url()
    try:
        if not has_credentials(host):
            fail(
                f"no W&B API key for {host}: run `wandb login` or set WANDB_API_KEY "
                "(a W&B account is needed to save a report; --dry_run needs none)",
                1,
            )
        check_project(report.entity, report.project)
        report.save()
        return report.url
    except KeyboardInterrupt:
        fail("interrupted: the report was not saved", EXIT_INTERRUPTED)
    except NoProject as error:
        fail(scrub(str(error)), 1)
    except Exception as error:  # wandb's client raises many kinds (auth, network, GraphQL, validation)
        fail(f"could not save the report to W&B at {host}: {scrub(str(error)) or type(error).__name__}", 1)


def write_json(data: dict, path: str) -> None:
    """``data`` as indented JSON to ``path`` ("-": standard output), then the path on its own line."""
    rendered = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if path == "-":
        click.echo(rendered, nl=False)
        return
    try:
        Path(path).write_text(rendered, encoding="utf-8")
    except OSError as error:
        fail(f"--dry_run {path}: cannot write it ({error.strerror})", 2)
    click.echo(path)


# ---------------------------------------------------------------- the command

HELP = """Build the assignment's W&B Report (DA6401 Assignment 1): one section per question, Q1 to Q10,
each with its panels over the runs that answer it and a paragraph marked ✍️ for your own text;
save it to W&B and print its URL.

\b
    python sweep.py wandb-report --entity E --sweep SWEEP_ID
    python sweep.py wandb-report --dry_run report.json

Needs a W&B account and the runs in the project (run the sweeps under `wandb agent`, or upload
sweep.py's offline runs with `wandb sync`). --dry_run writes the report's specification (JSON)
without any network or account. Q4-Q7 show the sweep of sweep.yaml: give its W&B sweep id with
--sweep, or the run group of sweep.py's run of it with --sweep_group (sweep.py's W&B group is its
study's name); default: the group named after the sweep (fashion_mnist_q4, sweep.yaml's name:). Q3
likewise (default: the group optimizers). Q8 and Q10 start from Q4's sweep: by default they show the group
ce_vs_mse_from_G and mnist_top3_from_G when Q4's runs are the group G, the studies of `python
sweep.py sweeps/ce_vs_mse.yaml --from_sweep outputs/sweeps/G` (and mnist_top3.yaml), or the groups
ce_vs_mse and mnist_top3 (this project's presets) when Q4's runs are a W&B sweep (--sweep).
--ce_vs_mse_group and --mnist_group override them. See docs/wandb-report.md.
"""


def from_search_help(sweep_file: Path) -> str:
    """What ``--help`` says of :func:`from_search`'s default for ``sweep_file``."""
    name, where = sweep_name(sweep_file), sweep_file.relative_to(ROOT)
    return (
        f"{name}_from_<G> when Q4's runs are the group G (the study of `sweep.py {where} --from_sweep "
        f"OUTPUT_DIR/G`), {name} (this project's presets) when they are a W&B sweep (--sweep)"
    )


def _name(ctx, param, value):
    if value is not None and not NAME.fullmatch(value):
        raise click.BadParameter(f"{value!r} is not a W&B name (letters, digits, _ . -)")
    return value


def dashed(name: str) -> list[str]:
    """``--a_b`` and its ``--a-b`` spelling, as the other commands accept both."""
    return [f"--{name}", *([f"--{name.replace('_', '-')}"] if "_" in name else [])]


def runs_options(key: str, questions: str, sweep_file: Path, default: str = "its name"):
    """``--<key>_sweep ID`` (``--sweep`` for question 4's) and ``--<key>_group NAME``: the runs of
    ``sweep_file``, as :func:`selection` reads them; ``default`` says which group it shows without
    either."""
    sweep_flag = "sweep" if key == "sweep" else f"{key}_sweep"
    where = sweep_file.relative_to(ROOT)

    def decorate(function):
        function = click.option(
            *dashed(f"{key}_group"),
            f"{key}_group",
            default=None,
            metavar="NAME",
            help=f"{questions}: the W&B run group (the study's name) of sweep.py's offline run of {where}; "
            f"default: {default}.",
        )(function)
        return click.option(
            *dashed(sweep_flag),
            f"{key}_sweep",
            default=None,
            metavar="ID",
            help=f"{questions}: the W&B sweep id of {where} run under `wandb agent`.",
        )(function)

    return decorate


@click.command(cls=OneLineErrors, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--entity",
    default=None,
    metavar="ENTITY",
    envvar="WANDB_ENTITY",
    show_envvar=True,
    callback=_name,
    help=f"W&B entity (user or team) the report and its runs belong to; required unless --dry_run "
    f"(there: {ENTITY_PLACEHOLDER!r}).",
)
@click.option(
    "--project",
    default=None,
    metavar="PROJECT",
    envvar="WANDB_PROJECT",
    show_envvar=True,
    callback=_name,
    help="W&B project of the runs, where the report is saved; default: train.py's --wandb_project.",
)
@click.option(
    "--title", default=TITLE, metavar="TEXT", show_default=True, help="The report's title (at most 128 characters)."
)
@runs_options("sweep", "Q4-Q7", SEARCH_FILE, "the name of --sweep_file's sweep (sweep.yaml: fashion_mnist_q4)")
@runs_options("optimizers", "Q3", OPTIMIZERS_FILE)
@runs_options("ce_vs_mse", "Q8", CE_VS_MSE_FILE, from_search_help(CE_VS_MSE_FILE))
@runs_options("mnist", "Q10", MNIST_FILE, from_search_help(MNIST_FILE))
@click.option(
    "--best_run",
    "--best-run",
    "best_run",
    default=None,
    metavar="RUN",
    help="Q1 and Q7: the best model's run, its W&B id (the run folder's wandb_run_id file) or its name; "
    "default: the runs of Q4's sweep, best first.",
)
@click.option("--github", default=None, metavar="URL", help="Q9: your repository's URL, written as a link.")
@click.option(
    "--sweep_file",
    "--sweep-file",
    "sweep_file",
    default=str(SEARCH_FILE),
    show_default="sweep.yaml",
    type=click.Path(exists=True, dir_okay=False),
    help="Question 4's sweep file: its varying parameters and its metric make Q4-Q6's panels.",
)
@click.option(
    "--dry_run",
    "--dry-run",
    "dry_run",
    default=None,
    metavar="PATH",
    help="Write the report's specification as JSON to PATH ('-': standard output) and print PATH; "
    "no network, no account.",
)
def command(entity, project, title, dry_run, sweep_file, github, best_run, **runs):
    """Check the options, read the sweep files, build the report; write it (--dry_run) or save it."""
    from experiments import sections
    from sweeping.spec import SpecError

    if dry_run is None and not entity:
        raise click.UsageError("--entity is required to save the report (or set WANDB_ENTITY; --dry_run needs none)")
    if not title.strip() or len(title.strip()) > 128:
        raise click.BadParameter("must be 1 to 128 characters", param_hint="'--title'")
    try:
        parameters, metric = swept(Path(sweep_file))
        search = selection(runs, "sweep", sweep_name(Path(sweep_file)))
        sources = Sources(
            parameters=parameters,
            metric=metric,
            search=search,
            best=Selection(run=best_run) if best_run else search,
            optimizers=selection(runs, "optimizers", sweep_name(OPTIMIZERS_FILE)),
            ce_vs_mse=selection(runs, "ce_vs_mse", from_search(search, CE_VS_MSE_FILE)),
            mnist=selection(runs, "mnist", from_search(search, MNIST_FILE)),
            github=github,
        )
    except SpecError as error:
        fail(str(error), 2)
    project = project or sections.TrackingConfig().wandb_project
    report = build(entity or ENTITY_PLACEHOLDER, project, title.strip(), sources)
    if dry_run is not None:
        write_json(specification(report), dry_run)
    else:
        click.echo(publish(report))
    if not best_run:  # after the output, so that an error stays the only line
        click.echo(f"note: without --best_run, Q1 and Q7 show every run of {search.describe()}, best first", err=True)
