"""The documentation against the code: every documented command parses, every image is linked and exists.

Fast tier, nothing is trained or loaded. The commands are the ``python train.py ...``, ``python sweep.py
...`` and ``python evaluate.py ...`` lines of README.md and docs/**/*.md, in fenced code blocks and in
inline code spans (a span may run over several lines of a paragraph), with leading environment
assignments (``OPENBLAS_NUM_THREADS=1 python ...``), ``&&``/``;``/``&`` between commands, ``# comments``
and ``\\`` continuations. Each is checked by the real command-line parser:

* train.py: click parses it, then the configuration resolves as ``train.py --summary`` resolves it
  (``experiments.config.resolve`` of the explicit options; a preset must be in presets.yaml, and each of
  an ensemble preset's members resolves too); a ``--resume`` command is only parsed.
* sweep.py: click parses it; the sweep file exists and loads through ``sweeping.spec.load``; its swept
  keys, literal command flags and ``--set KEY=VALUE`` keys are train.py options with valid values
  (``sweeping.fixed_options.fixed_values``, what sweep.py checks before its first trial).
  ``sweep.py report DIR`` and ``sweep.py wandb-report ...`` are only parsed.
* evaluate.py: click parses it.

Rules for what a page writes as a placeholder (kept small and explicit):

* a synopsis is not a command: a line with ``[`` option brackets or ``...`` is skipped, and so is a bare
  ``python sweep.py`` (the program named in a sentence, no arguments);
* ``<anything>`` and the words in :data:`PLACEHOLDER_WORDS` (as a whole value or a path component, e.g.
  ``RUN_FOLDER/model.npz``) are placeholders: a placeholder path is replaced by a file or folder that
  exists; any other option given a placeholder value (``--preset NAME``, ``--fgsm_eps EPS``) is checked to
  be a real option and its value is not checked;
* paths the parser requires to exist (``--data_dir ../shared/data``, the model files of evaluate.py, a
  ``-d data/wine.csv`` file) are replaced by a file or folder that exists: the docs name folders of the
  author's machine; a ``--from_sweep`` folder by one whose top.json ranks three trials. A sweep file is
  not replaced: it must be in the repository.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ("train.py", "sweep.py", "evaluate.py")
PLACEHOLDER_WORDS = {
    "DATASET",
    "DIR",
    "EPS",
    "FILE",
    "K",
    "KEY",
    "MODEL",
    "NAME",
    "OUT",
    "OUTPUT_DIR",
    "RUN_FOLDER",
    "SWEEP_DIR",
    "VALUE",
}
MARK = "PLACEHOLDER"  # what ``<...>`` becomes before the line is split into words
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".gif")


# ---------------------------------------------------------------------------------------------------------
# finding the commands


@dataclass(frozen=True)
class Command:
    where: str  # page:line
    text: str  # the command as the page writes it (one command, no env assignments)
    program: str  # train.py | sweep.py | evaluate.py
    args: tuple[str, ...]


def pages() -> list[Path]:
    found = [ROOT / "README.md"] if (ROOT / "README.md").is_file() else []
    return found + sorted((ROOT / "docs").rglob("*.md"))


def snippets(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, code)`` of every line of a fenced block (continuations joined) and every inline
    code span (a paragraph's lines joined, so a span may cross a line break)."""
    lines = text.splitlines()
    fence: str | None = None
    paragraph: list[tuple[int, str]] = []

    def spans(block: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
        if not block:
            return
        joined, starts = "", []
        for number, line in block:
            starts.append((len(joined), number))
            joined += line + " "
        for match in re.finditer(r"(`+)(.+?)\1", joined):
            number = max(n for offset, n in starts if offset <= match.start())
            yield number, match.group(2).strip()

    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        opening = re.match(r"(`{3,}|~{3,})", stripped)
        if fence is None and opening:
            yield from spans(paragraph)
            paragraph, fence = [], opening.group(1)
            continue
        if fence is not None:
            if stripped.startswith(fence) and not stripped[len(fence) :].strip():
                fence = None
                if pending:
                    yield pending
                    pending = None
                continue
            code = stripped.removeprefix("$ ")
            if pending:
                pending = (pending[0], pending[1] + " " + code)
            else:
                pending = (number, code)
            if pending[1].endswith("\\"):
                pending = (pending[0], pending[1][:-1].rstrip())
            else:
                yield pending
                pending = None
            continue
        if stripped:
            paragraph.append((number, line))
        else:
            yield from spans(paragraph)
            paragraph = []
    yield from spans(paragraph)
    if pending:
        yield pending


def commands_in(code: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``(program, args)`` of each ``python X.py ...`` in one line of shell."""
    code = re.sub(r"<[^<>]*>", MARK, code)
    lexer = shlex.shlex(code, posix=True, punctuation_chars=True)
    lexer.commenters = "#"
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:  # an unclosed quote: not shell
        return
    segment: list[str] = []
    for word in [*words, ";"]:
        if word and set(word) <= set("&;|()"):
            while segment and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", segment[0]):
                segment.pop(0)  # OPENBLAS_NUM_THREADS=1 python ...
            if len(segment) >= 2 and re.fullmatch(r"(\S*/)?python3?(\.\d+)?", segment[0]):
                program = Path(segment[1]).name
                if program in PROGRAMS:
                    yield program, tuple(segment[2:])
            segment = []
        else:
            segment.append(word)


def documented_commands(paths=None) -> list[Command]:
    found = []
    for page in paths if paths is not None else pages():
        name = page.relative_to(ROOT) if page.is_relative_to(ROOT) else page
        for number, code in snippets(page.read_text(encoding="utf-8")):
            for program, args in commands_in(code):
                found.append(Command(f"{name}:{number}", shlex.join(["python", program, *args]), program, args))
    return found


def is_synopsis(command: Command) -> bool:
    """``python train.py [OPTIONS]``, ``--key=value ...``, or the program named with no arguments."""
    return not command.args or any("[" in arg or arg.endswith("...") for arg in command.args)


# ---------------------------------------------------------------------------------------------------------
# checking one command


def is_placeholder(word: str) -> bool:
    parts = [Path(part).stem if "." in part else part for part in word.split("/")]
    return MARK in word or any(part in PLACEHOLDER_WORDS for part in parts)


class Stand:
    """Existing stand-ins for the paths a parser requires to exist."""

    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "dir").mkdir(exist_ok=True)

    def file(self, suffix: str = ".npz") -> str:
        path = self.folder / f"file{suffix}"
        path.touch()
        return str(path)

    def dir(self) -> str:
        return str(self.folder / "dir")

    def sweep_dir(self) -> str:
        """A sweep folder whose top.json ranks three trials of the default configuration."""
        import json

        from experiments import presets

        folder = self.folder / "sweep"
        folder.mkdir(exist_ok=True)
        trial = {"config": presets.resolve({}).flat()}
        (folder / presets.TOP_FILE).write_text(json.dumps({"configurations": [trial] * 3}))
        return str(folder)

    def owns(self, path: str) -> bool:
        return Path(path).parent in (self.folder, self.folder / "dir")

    def path_for(self, kind: click.ParamType, original: str) -> str:
        if isinstance(kind, click.Path) and not kind.file_okay:
            return self.dir()
        return self.file(Path(original).suffix or ".npz")


def option_table(command: click.Command) -> dict[str, click.Parameter]:
    return {opt: p for p in command.params if isinstance(p, click.Option) for opt in (*p.opts, *p.secondary_opts)}


def stand_in_args(command: click.Command, args, stand: Stand, keep_positional: bool) -> list[str]:
    """``args`` with required-to-exist paths and placeholders replaced (see the module's docstring);
    unknown options are left for click to refuse. ``keep_positional``: a positional path stays as written
    (it must exist) unless it is a placeholder."""
    import datasets
    from experiments.cli import join_list_values

    options = option_table(command)
    positional = [p for p in command.params if isinstance(p, click.Argument)]
    out: list[str] = []
    words = []
    for word in join_list_values(list(args)):
        flag, equals, value = word.partition("=")
        words += [flag, value] if equals and flag.startswith("--") and flag in options else [word]
    i = 0
    while i < len(words):
        word = words[i]
        param = options.get(word)
        if param is not None and not param.is_flag and param.nargs == 1 and i + 1 < len(words):
            value, kind = words[i + 1], param.type
            if param.name == "from_sweep":  # a sweep folder of the author's: one with a ranked top.json
                value = stand.sweep_dir()
            elif isinstance(kind, click.Path) and (kind.exists or is_placeholder(value)):
                value = stand.path_for(kind, value)
            elif type(kind).__name__ == "DatasetName" and datasets.is_data_file(value):
                value = stand.file(Path(value).suffix)
            elif is_placeholder(value):
                i += 2  # a real option (it is in the table) with a placeholder value: not checked
                continue
            out += [word, value]
            i += 2
            continue
        if not word.startswith("-") and positional:
            kind = positional[0].type
            if isinstance(kind, click.Path) and ((kind.exists and not keep_positional) or is_placeholder(word)):
                word = stand.path_for(kind, word)
        out.append(word)
        i += 1
    return out


def parse(command: click.Command, name: str, args: list[str]) -> click.Context:
    args = [a for a in args if a not in ("-h", "--help")]  # --help would print and exit
    return command.make_context(name, args, resilient_parsing=False)


def check(command: Command, stand: Stand) -> None:
    """Raises (click.UsageError, ConfigError, SpecError, ...) when the documented command is wrong."""
    if command.program == "train.py":
        check_train(command.args, stand)
    elif command.program == "sweep.py":
        check_sweep(command.args, stand)
    else:
        import evaluate

        parse(evaluate.cli, "evaluate.py", stand_in_args(evaluate.cli, command.args, stand, keep_positional=False))


def check_train(args, stand: Stand) -> None:
    import train
    from experiments import presets
    from experiments.cli import explicit_options

    ctx = parse(train.cli, "train.py", stand_in_args(train.cli, args, stand, keep_positional=False))
    explicit = explicit_options(ctx)
    if explicit.pop("resume", None) is not None:
        return  # the run folder's own configuration: parse only
    explicit.pop("show_summary", None)
    presets.resolve(explicit)  # as train.py --summary does; an unknown preset is refused here
    for member in presets.ensemble_members(explicit):
        presets.resolve(explicit, {**member, "save_model": True})


def check_sweep(args, stand: Stand) -> None:
    import sweep
    from sweeping import spec as specs
    from sweeping.fixed_options import fixed_values

    if args[:1] in (("report",), ("wandb-report",)):
        from sweeping import redraw, wandb_report

        command = redraw.command if args[0] == "report" else wandb_report.command
        parse(command, f"sweep.py {args[0]}", stand_in_args(command, args[1:], stand, keep_positional=False))
        return
    ctx = parse(sweep.cli, "sweep.py", stand_in_args(sweep.cli, args, stand, keep_positional=True))
    sweep_file = ctx.params["sweep_file"]
    if stand.owns(sweep_file):
        return  # a placeholder (sweeps/<file>): parse only
    spec, literal = specs.load(sweep_file)
    overrides = [item for item in ctx.params["overrides"] if not is_placeholder(item)]
    fixed_values(spec, literal, overrides, None, ctx.params["wandb_mode"], sweep_file)


# ---------------------------------------------------------------------------------------------------------
# the tests


COMMANDS = documented_commands()
CHECKED = [c for c in COMMANDS if not is_synopsis(c)]


@pytest.fixture
def stand(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # sweep files and presets are named relative to the repository
    for variable in ("FFNN_DATA_DIR", "FFNN_SWEEP_STORAGE"):
        monkeypatch.delenv(variable, raising=False)
    return Stand(tmp_path)


@pytest.mark.parametrize("command", CHECKED, ids=[c.where for c in CHECKED])
def test_every_documented_command_is_accepted_by_its_parser(command, stand):
    try:
        check(command, stand)
    except (Exception, SystemExit) as error:  # any refusal is the finding
        message = error.format_message() if isinstance(error, click.ClickException) else str(error)
        pytest.fail(f"{command.where}: {command.text}\n  -> {type(error).__name__}: {message}", pytrace=False)


SAMPLE = """\
Intro `python train.py -e 2
-d digits` and `python3 evaluate.py <run>/model.npz --json`.

```bash
OPENBLAS_NUM_THREADS=1 python sweep.py sweep.yaml --seed 1 &   # a comment
python train.py -d digits \\
    -e 1
pip install x && python train.py --summary
python train.py [OPTIONS]
```
"""


def test_the_extractor_finds_fenced_inline_wrapped_and_continued_commands(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(SAMPLE)
    found = [(c.where.rpartition(":")[2], c.program, c.args) for c in documented_commands([page])]
    assert found == [
        ("1", "train.py", ("-e", "2", "-d", "digits")),
        ("2", "evaluate.py", (f"{MARK}/model.npz", "--json")),
        ("5", "sweep.py", ("sweep.yaml", "--seed", "1")),
        ("6", "train.py", ("-d", "digits", "-e", "1")),
        ("8", "train.py", ("--summary",)),
        ("9", "train.py", ("[OPTIONS]",)),
    ]
    assert [is_synopsis(c) for c in documented_commands([page])] == [False] * 5 + [True]


@pytest.mark.parametrize(
    "text",
    [
        "python train.py --no_such_flag 3",
        "python train.py -a no_such_activation",
        "python train.py --preset no_such_preset",
        "python train.py --resume outputs/<run> --no_such_flag 1",
        "python sweep.py sweeps/no_such_file.yaml",
        "python sweep.py sweep.yaml --set no_such_option=1",
        "python sweep.py sweep.yaml --count 0",
        "python sweep.py report outputs/sweeps/sweep --no_such_flag",
        "python evaluate.py RUN_FOLDER/model.npz --fgsm_eps 2",
        "python evaluate.py RUN_FOLDER/model.npz --no_such_flag",
    ],
)
def test_the_checker_refuses_a_renamed_flag_or_a_bad_value(text, stand, tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"```\n{text}\n```\n")
    (command,) = documented_commands([page])
    with pytest.raises((click.ClickException, ValueError)):
        check(command, stand)


@pytest.mark.parametrize(
    "text",
    [
        "python train.py -d digits -e 1 -nhl 2 -sz 32 16 --data_dir ../shared/data",
        "python train.py --preset NAME --data_dir ../shared/data",
        "python train.py --resume outputs/<run name> --epochs 20",
        "python sweep.py sweep.yaml --data_dir ../shared/data --set epochs=1",
        "python sweep.py report OUTPUT_DIR/<sweep>",
        "python evaluate.py <run>/model.npz RUN_FOLDER/model.npz -d data/wine.csv --fgsm_eps EPS --json",
    ],
)
def test_the_checker_accepts_valid_commands_with_placeholders(text, stand, tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"```\n{text}\n```\n")
    (command,) = documented_commands([page])
    check(command, stand)


HELPS = {  # the --help of each command -> the text its help is written from
    "train.py": ("train.py", "--help"),
    "sweep.py": ("sweep.py", "--help"),
    "sweep.py report": ("sweep.py", "report", "--help"),
    "evaluate.py": ("evaluate.py", "--help"),
}


def help_source(name: str) -> str:
    import evaluate
    import sweep
    import train
    from sweeping import redraw

    return {
        "train.py": train.cli,
        "sweep.py": sweep.cli,
        "sweep.py report": redraw.command,
        "evaluate.py": evaluate.cli,
    }[name].help or ""


@pytest.mark.parametrize("name", HELPS)
def test_help_shows_single_percent_signs_and_keeps_each_example_on_its_line(name):
    import subprocess
    import sys

    program, *args = HELPS[name]
    result = subprocess.run(
        [sys.executable, str(ROOT / program), *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "%%" not in result.stdout  # click prints help as written: no %-formatting to escape
    shown = {line.strip() for line in result.stdout.splitlines()}
    examples = [line.strip() for line in help_source(name).splitlines() if re.match(r"\s{4,}python3? ", line)]
    unwrapped = [example for example in examples if example not in shown]
    assert not unwrapped, f"{name} --help rewraps its examples (a \\b line before the block keeps it): {unwrapped}"


# images


def image_links(page: Path) -> Iterator[str]:
    text = page.read_text(encoding="utf-8")
    targets = re.findall(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    targets += re.findall(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    targets += re.findall(r"<img\b[^>]*\bsrc=[\"']([^\"']+)[\"']", text)
    for target in dict.fromkeys(targets):
        path = target.split("#")[0].split("?")[0]
        if path.lower().endswith(IMAGE_SUFFIXES) and not re.match(r"[a-z]+:", path):
            yield path


def test_every_linked_image_exists():
    from urllib.parse import unquote

    missing = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in pages()
        for target in image_links(page)
        if not ((ROOT if target.startswith("/") else page.parent) / unquote(target).lstrip("/")).is_file()
    ]
    assert not missing, "images linked but missing:\n" + "\n".join(missing)


def test_every_image_under_docs_is_linked_from_a_page():
    texts = [page.read_text(encoding="utf-8") for page in pages()]
    images = sorted(p for p in (ROOT / "docs").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    unlinked = [str(p.relative_to(ROOT)) for p in images if not any(p.name in text for text in texts)]
    assert not unlinked, "images under docs/ no page links:\n" + "\n".join(unlinked)
