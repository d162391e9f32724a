"""`sweep.py wandb-report`: the assignment's W&B Report (wandb-workspaces), written offline with
--dry_run and saved to a stand-in W&B server that answers the GraphQL requests `report.save()` makes."""

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from sweeping import spec as specs
from sweeping.wandb_report import command
from tests.conftest import ROOT

QUESTIONS = [f"Q{number}." for number in range(1, 11)]
FAKE_KEY = "0123456789abcdef0123456789abcdef01234567"  # 40 characters, as W&B's keys
NO_WANDB_ENV = {"WANDB_ENTITY": None, "WANDB_PROJECT": None, "WANDB_API_KEY": None}
RUN_ATTRIBUTES = {"createdAt", "name", "displayName", "sweep", "group", "state", "tags"}  # W&B's own, per run


# ------------------------------------------------------------------ helpers


def dry_run(tmp_path, *args) -> dict:
    """The specification `--dry_run` writes, read back."""
    path = tmp_path / "report.json"
    result = CliRunner(env=NO_WANDB_ENV).invoke(command, ["--dry_run", str(path), *args])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(path)
    return json.loads(path.read_text())


def sections(specification: dict) -> dict[str, list[dict]]:
    """The report's blocks by question: ``{"Q1. ...": [blocks after that heading], ...}``."""
    found: dict[str, list[dict]] = {}
    current = None
    for block in specification["spec"]["blocks"]:
        if block["type"] == "heading" and block["level"] == 2:
            current = "".join(child["text"] for child in block["children"])
            found[current] = []
        elif current is not None:
            found[current].append(block)
    return found


def text_of(block: dict) -> str:
    return "".join(child.get("text", "") for child in block.get("children", []))


def grids(blocks: list[dict]) -> list[dict]:
    return [block["metadata"] for block in blocks if block["type"] == "panel-grid"]


def panels(grid: dict) -> list[dict]:
    return grid["panelBankSectionConfig"]["panels"]


def filters(grid: dict) -> list[tuple[str, str, str]]:
    """``(section, name, value)`` of every filter of the grid's run sets."""
    return [
        (item["key"]["section"], item["key"]["name"], item["value"])
        for run_set in grid["runSets"]
        for item in run_set["filters"]["filters"]
    ]


def normalised(spec: dict) -> dict:
    """``spec`` without the random ids wandb-workspaces gives panels (``__id__``) and run sets (``id``)."""
    if isinstance(spec, dict):
        return {key: normalised(value) for key, value in spec.items() if key not in ("__id__", "id")}
    if isinstance(spec, list):
        return [normalised(value) for value in spec]
    return spec


def accessor(text: str) -> tuple[str, str]:
    """``config:epochs.value`` -> ``("config", "epochs")``, ``summary:x`` -> ``("summary", "x")``,
    ``run:createdAt`` -> ``("run", "createdAt")``."""
    section, name = text.split(":", 1)
    return section, name.removesuffix(".value") if section == "config" else name


def panel_keys(panel: dict) -> list[tuple[str, str]]:
    """``(where, key)`` of every key a panel reads: ``history`` (per epoch), ``summary``, ``config``
    or ``run`` (W&B's own attributes). An unknown panel type fails: every panel is checked."""
    config, kind = panel["config"], panel["viewType"]
    if kind == "Run History Line Plot":
        keys = [("history", config["xAxis"]), *[("history", metric) for metric in config["metrics"]]]
        if "groupBy" in config:
            keys.append(("config", config["groupBy"].removesuffix(".value")))
        return keys
    if kind == "Scatter Plot":
        return [accessor(config["xAxis"]), accessor(config["yAxis"])]
    if kind == "Parallel Coordinates Plot":
        return [accessor(column["accessor"]) for column in config["columns"]]
    if kind == "Parameter Importance":
        return [("summary", config["targetKey"])]
    if kind == "Media Browser":
        return [("summary", key) for key in config["mediaKeys"]]
    if kind == "Bar Chart":
        return [("summary", metric) for metric in config["metrics"]]
    if kind == "Vega2":
        query = json.dumps(config["userQuery"])
        tables = re.findall(r'"name": "tableKey", "value": "([^"]+)"', query)
        assert tables, query
        return [("summary", table) for table in tables]
    if kind == "Run Comparer":
        return []
    raise AssertionError(f"a panel of unknown type {kind!r}: teach panel_keys what it reads")


def run_set_keys(grid: dict) -> list[tuple[str, str]]:
    """The keys the grid's run sets sort by, filter on and show as columns."""
    keys = []
    for run_set in grid["runSets"]:
        keys += [accessor(column) for column in run_set["runFeed"]["columnOrder"]]
        keys += [(item["key"]["section"], item["key"]["name"]) for item in run_set["sort"]["keys"]]
        keys += [(item["key"]["section"], item["key"]["name"]) for item in run_set["filters"]["filters"]]
    return keys


def every_key(specification: dict) -> set[tuple[str, str]]:
    keys = set()
    for blocks in sections(specification).values():
        for grid in grids(blocks):
            keys.update(run_set_keys(grid))
            for panel in panels(grid):
                keys.update(panel_keys(panel))
    return keys


# ------------------------------------------------------------------ the specification


def test_one_section_per_question_in_order_each_with_a_place_for_the_students_text(tmp_path):
    found = sections(dry_run(tmp_path))
    assert [title.split()[0] for title in found] == QUESTIONS
    for title, blocks in found.items():
        assert any(text_of(block).startswith("✍️ Your") for block in blocks), title
        assert text_of(blocks[0]).startswith("Asks: "), title
    with_panels = {title.split()[0] for title, blocks in found.items() if grids(blocks)}
    assert with_panels == {"Q1.", "Q3.", "Q4.", "Q5.", "Q6.", "Q7.", "Q8.", "Q10."}  # Q2, Q9: the code


QUESTIONS_OF = {  # the sweep file whose runs each panel grid shows
    "sweep.yaml": ("Q1.", "Q4.", "Q5.", "Q6.", "Q7."),
    "sweeps/optimizers.yaml": ("Q3.",),
    "sweeps/ce_vs_mse.yaml": ("Q8.",),
    "sweeps/mnist_top3.yaml": ("Q10.",),
}


def documented_groups() -> dict[str, str]:
    """``{sweep file: W&B group}`` of the ``python sweep.py FILE ...`` commands docs/wandb-report.md tells
    the user to run: the study each makes (``--study``, else sweep.py's default), which sweep.py makes
    its trials' group."""
    import shlex

    from sweeping.definition import default_study_name

    groups = {}
    for line in (ROOT / "docs" / "wandb-report.md").read_text().splitlines():
        words = shlex.split(line) if line.startswith("python sweep.py ") else []
        if len(words) < 3 or words[2] not in QUESTIONS_OF:
            continue
        given = {words[k]: words[k + 1] for k in range(3, len(words) - 1) if words[k].startswith("--")}
        name = specs.load(ROOT / words[2])[0].name
        groups.setdefault(words[2], given.get("--study") or default_study_name(name, given.get("--from_sweep")))
    return groups


def groups_shown(tmp_path, *args) -> dict[str, str]:
    """``{question: the run group its grid shows}`` of the report ``args`` make."""
    found = {title.split()[0]: grids(blocks) for title, blocks in sections(dry_run(tmp_path, *args)).items()}
    shown = {}
    for question, question_grids in found.items():
        for grid in question_grids:
            ((section, key, value),) = filters(grid)
            assert (section, key) == ("run", "group"), (question, filters(grid))
            shown[question] = value
    return shown


def test_by_default_each_grid_shows_the_runs_of_the_documented_commands(tmp_path):
    """docs/wandb-report.md runs Q8's and Q10's sweeps with --from_sweep outputs/sweeps/fashion_mnist_q4:
    their study, so their group, is ce_vs_mse_from_fashion_mnist_q4; the report finds them there."""
    groups = documented_groups()
    assert set(groups) == set(QUESTIONS_OF), groups
    assert groups["sweeps/ce_vs_mse.yaml"] == "ce_vs_mse_from_fashion_mnist_q4"
    expected = {question: groups[path] for path, questions in QUESTIONS_OF.items() for question in questions}
    assert groups_shown(tmp_path) == expected


def test_q8_and_q10_follow_the_group_of_q4(tmp_path):
    shown = groups_shown(tmp_path, "--sweep_group", "quick_try")
    assert {q: shown[q] for q in ("Q3.", "Q4.", "Q8.", "Q10.")} == {
        "Q3.": "optimizers",
        "Q4.": "quick_try",
        "Q8.": "ce_vs_mse_from_quick_try",
        "Q10.": "mnist_top3_from_quick_try",
    }
    other = tmp_path / "small.yaml"  # another question-4 sweep file: its name is Q4's group
    other.write_text(
        "program: train.py\nmethod: random\nmetric: {name: val_accuracy, goal: maximize}\n"
        "name: small_q4\nparameters:\n  learning_rate: {values: [0.01, 0.001]}\n"
    )
    (tmp_path / "other").mkdir()
    shown = groups_shown(tmp_path / "other", "--sweep_file", str(other))
    assert (shown["Q4."], shown["Q8."], shown["Q10."]) == (
        "small_q4",
        "ce_vs_mse_from_small_q4",
        "mnist_top3_from_small_q4",
    )


def test_with_a_wandb_sweep_for_q4_q8_and_q10_default_to_their_sweeps_names(tmp_path):
    found = {title.split()[0]: grids(blocks) for title, blocks in sections(dry_run(tmp_path, "--sweep", "abc")).items()}
    assert filters(found["Q8."][0]) == [("run", "group", "ce_vs_mse")]
    assert filters(found["Q10."][0]) == [("run", "group", "mnist_top3")]


def test_the_group_options_override_the_defaults(tmp_path):
    shown = groups_shown(tmp_path, "--sweep_group", "q4", "--ce_vs_mse_group", "ce_vs_mse", "--mnist_group", "m")
    assert (shown["Q4."], shown["Q8."], shown["Q10."]) == ("q4", "ce_vs_mse", "m")


def test_q8_and_q10_name_the_command_that_made_their_runs(tmp_path):
    found = {title.split()[0]: blocks for title, blocks in sections(dry_run(tmp_path)).items()}
    for question, path in (("Q8.", "sweeps/ce_vs_mse.yaml"), ("Q10.", "sweeps/mnist_top3.yaml")):
        text = " ".join(text_of(block) for block in found[question])
        assert f"python sweep.py {path} --from_sweep outputs/sweeps/fashion_mnist_q4" in text, text
    found = {title.split()[0]: blocks for title, blocks in sections(dry_run(tmp_path, "--sweep", "abc")).items()}
    assert "python sweep.py sweeps/ce_vs_mse.yaml (run group ce_vs_mse)" in " ".join(map(text_of, found["Q8."]))


def test_help_says_the_default_groups():
    result = CliRunner(env=NO_WANDB_ENV).invoke(command, ["--help"], terminal_width=200)
    text = " ".join(result.output.split())
    assert result.exit_code == 0
    assert "ce_vs_mse_from_<G> when Q4's runs are the group G" in text
    assert "mnist_top3_from_<G> when Q4's runs are the group G" in text


def test_sweep_id_best_run_and_github_options(tmp_path):
    url = "https://github.com/someone/da6401-assignment1"
    found = sections(
        dry_run(tmp_path, "--sweep", "abc123xy", "--best_run", "7zq1k0pd", "--mnist_sweep", "m1n1st00", "--github", url)
    )
    by_question = {title.split()[0]: blocks for title, blocks in found.items()}
    for question in ("Q4.", "Q5.", "Q6."):
        assert filters(grids(by_question[question])[0]) == [("run", "sweep", "abc123xy")], question
    for question in ("Q1.", "Q7."):  # the run's id (W&B's "name") or its display name
        assert filters(grids(by_question[question])[0]) == [
            ("run", "name", "7zq1k0pd"),
            ("run", "displayName", "7zq1k0pd"),
        ], question
    assert filters(grids(by_question["Q10."])[0]) == [("run", "sweep", "m1n1st00")]
    links = [child for block in by_question["Q9."] for child in block.get("children", []) if child.get("url")]
    assert [link["url"] for link in links] == [url]


def test_parallel_coordinates_and_the_sweep_table_follow_the_sweep_file(tmp_path):
    spec = dry_run(tmp_path)
    sweep, _ = specs.load(ROOT / "sweep.yaml")
    varying = sweep.varying
    by_question = {title.split()[0]: grids(blocks) for title, blocks in sections(spec).items()}
    (coordinates, importance) = panels(by_question["Q6."][0])
    assert [column["accessor"] for column in coordinates["config"]["columns"]] == [
        *[f"config:{name}.value" for name in varying],
        f"summary:{sweep.metric}",
    ]
    assert importance["config"]["targetKey"] == sweep.metric
    (scatter,) = panels(by_question["Q5."][0])
    assert scatter["config"]["xAxis"] == "run:createdAt"  # W&B's "Created": Metric("CreatedTimestamp")
    assert scatter["config"]["yAxis"] == f"summary:{sweep.metric}"
    # another sweep file: its own parameters, nothing hard-coded
    other = tmp_path / "small.yaml"
    other.write_text(
        "program: train.py\nmethod: random\nmetric: {name: val_loss, goal: minimize}\n"
        "parameters:\n  dropout: {values: [0.0, 0.2]}\n  learning_rate: {min: 0.0001, max: 0.01}\n"
        "  epochs: {value: 3}\n"
    )
    (tmp_path / "other").mkdir()
    spec = dry_run(tmp_path / "other", "--sweep_file", str(other))
    q6 = next(grids(blocks) for title, blocks in sections(spec).items() if title.startswith("Q6."))
    columns = [column["accessor"] for column in panels(q6[0])[0]["config"]["columns"]]
    assert columns == ["config:dropout.value", "config:learning_rate.value", "summary:val_loss"]
    assert filters(q6[0]) == [("run", "group", "small")]


def test_the_specification_reads_back_in_wandb_workspaces(tmp_path):
    import wandb_workspaces.reports.v2 as wr
    from wandb_workspaces.reports.v2 import internal

    spec = dry_run(tmp_path, "--entity", "someone", "--project", "elsewhere", "--title", "My report")
    report = wr.Report._from_model(internal.ReportViewspec.model_validate(spec))
    assert (report.entity, report.project, report.title) == ("someone", "elsewhere", "My report")
    headings = [str(block.text) for block in report.blocks if isinstance(block, wr.H2)]
    assert [heading.split()[0] for heading in headings] == QUESTIONS
    grids_read = [block for block in report.blocks if isinstance(block, wr.PanelGrid)]
    assert sum(len(grid.panels) for grid in grids_read) == sum(
        len(panels(grid)) for blocks in sections(spec).values() for grid in grids(blocks)
    )


def test_dry_run_defaults_without_entity_and_to_standard_output():
    result = CliRunner(env=NO_WANDB_ENV).invoke(command, ["--dry_run", "-"])
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)
    assert spec["project"] == {"entityName": "your-entity", "name": "da6401-assignment1"}
    result = CliRunner(env={**NO_WANDB_ENV, "WANDB_ENTITY": "team", "WANDB_PROJECT": "p"}).invoke(
        command, ["--dry_run", "-"]
    )
    assert json.loads(result.stdout)["project"] == {"entityName": "team", "name": "p"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], ["--entity is required"]),
        (["--entity", "a b"], ["--entity", "not a W&B name"]),
        (["--entity", "me", "--sweep", "abc", "--sweep_group", "sweep"], ["--sweep or --sweep_group"]),
        (["--dry_run", "-", "--title", "x" * 129], ["--title", "128"]),
        (["--dry_run", "no/such/folder/report.json"], ["--dry_run", "cannot write"]),
        (["--dry_run", "-", "--sweep_file", "README.md"], ["README.md"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, words, tmp_path):
    result = CliRunner(env=NO_WANDB_ENV).invoke(command, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]


# ------------------------------------------------------------------ against what a run logs


@pytest.fixture(scope="module")
def logged(tmp_path_factory) -> dict[str, set[str]]:
    """The keys one real, tiny train.py run logs to W&B (offline): ``history`` (per epoch, media
    included), ``summary`` and ``config``, read from its .wandb file with `wandb leet inspect`."""
    folder = tmp_path_factory.mktemp("run")
    env = {**os.environ, "WANDB_DIR": str(folder), "WANDB_SILENT": "true", "OPENBLAS_NUM_THREADS": "1"}
    args = ["-d", "digits", "-e", "1", "-nhl", "1", "-sz", "16", "--wandb_mode", "offline", "--output_dir", "out"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (run,) = (folder / "wandb").glob("offline-run-*")
    leet = [str(Path(sys.executable).parent / "wandb"), "leet", "inspect", "--json"]
    inspect = subprocess.run([*leet, "--summary", str(run)], capture_output=True, text=True, timeout=60, check=True)
    summary = json.loads(inspect.stdout)
    records = subprocess.run([*leet, str(run)], capture_output=True, text=True, timeout=60, check=True)
    history: set[str] = set()
    for line in records.stdout.splitlines():
        record = json.loads(line)
        if record.get("type") == "history":
            history.update(key.split(".")[0] for key in record["history"]["item"])  # media: "key._type", ...
    return {"history": history, "summary": set(summary["summary"]), "config": set(summary["config"])}


@pytest.mark.slow
def test_every_panel_reads_only_keys_a_run_logs(tmp_path, logged):
    keys = every_key(dry_run(tmp_path, "--best_run", "someone"))
    assert keys  # the walk found the panels
    assert ("summary", "samples") in keys and ("summary", "confusion_matrix_table") in keys
    missing = set()
    for where, key in keys:
        known = RUN_ATTRIBUTES if where == "run" else logged[where]
        if key not in known:
            missing.add((where, key))
    assert not missing, f"panels read keys no run logs: {sorted(missing)}"


# ------------------------------------------------------------------ online, against a stand-in W&B


class StandIn(BaseHTTPRequestHandler):
    """W&B's GraphQL endpoint as far as `report.save()` needs it: the ``Viewer`` query (each
    ``wandb.Api()`` checks the key), ``ProjectInternalId`` (the command's look-up of the project),
    ``GetProjects`` (save() creates a missing project) and the ``upsertView`` mutation."""

    requests: list[dict]
    mode = "ok"  # "bad_key": every request refused; "no_project": the project does not exist

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path != "/graphql":  # wandb-core's telemetry
            return self.answer(200, {})
        self.requests.append(body)
        query, variables = body.get("query", ""), body.get("variables") or {}
        if self.mode == "bad_key":
            return self.answer(401, {"errors": [{"message": "user is not logged in"}]})
        if "viewer" in query:
            return self.answer(200, {"data": {"viewer": {"id": "VXNlcjox", "entity": "someone"}}})
        if "ProjectInternalId" in query:
            found = None if self.mode == "no_project" else {"id": "UHJvamVjdDox", "internalId": "1"}
            return self.answer(200, {"data": {"project": found}})
        if "GetProjects" in query:
            node = {
                "__typename": "Project",
                "id": "UHJvamVjdDox",
                "name": "proj",
                "entityName": variables["entity"],
                "createdAt": "2026-01-01T00:00:00",
                "isBenchmark": False,
                "user": None,
            }
            page = {"pageInfo": {"endCursor": None, "hasNextPage": False}, "edges": [{"node": node}]}
            return self.answer(200, {"data": {"models": page}})
        if "upsertView" in query:
            view = {
                "id": "VmlldzoxMjM0NQ==",
                "type": variables["type"],
                "name": variables["name"],
                "displayName": variables["displayName"],
                "description": variables["description"],
                "project": {
                    "id": "UHJvamVjdDox",
                    "name": variables["projectName"],
                    "entityName": variables["entityName"],
                },
                "spec": variables["spec"],
                "updatedAt": "2026-01-01T00:00:00",
            }
            return self.answer(200, {"data": {"upsertView": {"view": view, "inserted": True}}})
        return self.answer(200, {"errors": [{"message": f"the stand-in does not know {query[:60]!r}"}]})

    def answer(self, status: int, payload: dict) -> None:
        out = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture
def wandb_server():
    handler = type("Handler", (StandIn,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def report_online(tmp_path, url, *args, key=FAKE_KEY):
    """`python sweep.py wandb-report ARGS` against the W&B at ``url``, in a home of its own (no ~/.netrc)."""
    env = {**os.environ, "WANDB_BASE_URL": url, "WANDB_DIR": str(tmp_path), "HOME": str(tmp_path)}
    env.update({"WANDB_CONFIG_DIR": str(tmp_path / "config"), "WANDB_API_KEY": key or ""})
    for name in ("WANDB_ENTITY", "WANDB_PROJECT", "WANDB_MODE"):
        env.pop(name, None)
    if not key:
        env.pop("WANDB_API_KEY")
    return subprocess.run(
        [sys.executable, str(ROOT / "sweep.py"), "wandb-report", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def operation(request: dict) -> str:
    """The GraphQL operation's name: ``Viewer``, ``upsertView``, ..."""
    found = re.search(r"(query|mutation)\s+(\w+)", request["query"])
    assert found, request["query"]
    return found.group(2)


def test_save_sends_the_dry_run_specification_and_prints_the_reports_url(tmp_path, wandb_server):
    handler, url = wandb_server
    args = ["--entity", "someone", "--project", "proj", "--sweep", "abc123xy", "--title", "DA6401 Assignment 1"]
    result = report_online(tmp_path, url, *args)
    assert result.returncode == 0, result.stderr
    operations = [operation(request) for request in handler.requests]
    assert {"Viewer", "ProjectInternalId", "GetProjects", "upsertView"} <= set(operations), operations
    assert operations.index("ProjectInternalId") < operations.index("upsertView")
    (upsert,) = [request["variables"] for request in handler.requests if operation(request) == "upsertView"]
    assert (upsert["entityName"], upsert["projectName"], upsert["type"]) == ("someone", "proj", "runs")
    assert upsert["displayName"] == "DA6401 Assignment 1" and upsert["id"] is None
    expected = dry_run(tmp_path, *args)
    assert normalised(json.loads(upsert["spec"])) == normalised(expected["spec"])
    assert upsert["description"] == expected["description"]
    assert result.stdout.strip() == f"{url}/someone/proj/reports/DA6401-Assignment-1--VmlldzoxMjM0NQ=="
    assert FAKE_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("mode", "key", "words"),
    [
        ("no_project", FAKE_KEY, ["no W&B project someone/proj", "wandb sync"]),
        ("bad_key", FAKE_KEY, ["could not save the report", "not logged in"]),
        ("ok", None, ["no W&B API key", "wandb login"]),
    ],
)
def test_failures_online_are_one_line_exit_1_and_never_show_the_key(tmp_path, wandb_server, mode, key, words):
    handler, url = wandb_server
    handler.mode = mode
    result = report_online(tmp_path, url, "--entity", "someone", "--project", "proj", key=key)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.stderr and FAKE_KEY not in result.stdout + result.stderr
    assert not [request for request in handler.requests if operation(request) == "upsertView"]
