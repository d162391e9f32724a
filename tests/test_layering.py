"""The layering, read from the source: the core never sees the command line, W&B, Optuna,
plotting, the reporting, sweeping or experiment layers, or a script; scripts stay thin."""

import ast
import subprocess
import sys

import pytest

from tests.conftest import ROOT

CORE = ("nn", "optimizers", "datasets")
FORBIDDEN_IN_CORE = {
    "wandb",
    "click",
    "optuna",
    "matplotlib",
    "tracking",
    "sweeping",
    "experiments",
    "train",
    "sweep",
    "evaluate",
    "torch",
    "jax",
    "tensorflow",
    "keras",
    "autograd",
}
# keras is allowed in exactly one place: the download of last resort, imported only when it runs.
ALLOWED = {("datasets/sources.py", "keras")}
SCRIPTS = ("train.py", "sweep.py")


def imported_roots(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("package", CORE)
def test_the_core_imports_nothing_from_the_layers_above(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {root}"
        for path in files
        for line, root in imported_roots(path)
        if root in FORBIDDEN_IN_CORE and (str(path.relative_to(ROOT)), root) not in ALLOWED
    ]
    assert not offences, offences


def test_the_boundary_check_would_catch_an_offence(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom wandb import init\nimport experiments.run\n")
    assert [root for _, root in imported_roots(bad) if root in FORBIDDEN_IN_CORE] == ["wandb", "experiments"]


def test_no_library_module_imports_a_script():
    library = [
        p
        for folder in ("nn", "optimizers", "datasets", "tracking", "experiments", "sweeping", "bench")
        for p in (ROOT / folder).rglob("*.py")
    ]
    offences = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in library
        for line, root in imported_roots(p)
        if root in ("train", "sweep", "evaluate")
    ]
    assert not offences, offences


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_thin_shells(script):
    lines = (ROOT / script).read_text().splitlines()
    assert len(lines) <= 150, f"{script} has {len(lines)} lines: move the logic into the library"


def test_importing_the_core_loads_no_reporting_or_autodiff_package():
    code = (
        "import sys, nn, optimizers, datasets; "
        "bad = {'wandb', 'click', 'optuna', 'matplotlib', 'torch', 'jax', 'tensorflow', 'keras'} & set(sys.modules);"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# The import graph of the library, every import counted: module level, inside functions (lazy) and under
# TYPE_CHECKING. A package's own __init__ is a module like the others; the implicit import of a parent
# package by its submodules is not an arrow (Python initialises the parent first, whatever it imports).
LIBRARY = ("nn", "optimizers", "datasets", "tracking", "experiments", "sweeping", "bench")


def module_files(root, packages=LIBRARY) -> dict[str, object]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def import_graph(root, packages=LIBRARY) -> dict[str, set[str]]:
    """``{module: the library modules it imports}``; ``from package import name`` is an arrow to the
    submodule ``package.name`` when there is one, to the package otherwise."""
    modules = module_files(root, packages)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
                ]
            else:
                continue
            graph[name].update(t for t in map(known, targets) if t and t != name)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            step = next(successors, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_library_has_no_import_circle():
    assert circles(import_graph(ROOT)) == []


def test_the_circle_check_finds_a_lazy_circle(tmp_path):
    package = tmp_path / "experiments"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def later():\n    from .c import thing\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from experiments.a import x\n"
    )
    (package / "d.py").write_text("from experiments import a\n")
    graph = import_graph(tmp_path, ("experiments",))
    assert graph["experiments.d"] == {"experiments.a"}
    assert circles(graph) == [["experiments.a", "experiments.b", "experiments.c"]]


# experiments/ in three floors: a module imports from its own floor or the floors below, never above.
FLOORS = {
    "schema": ("options", "sections", "errors"),
    "study": ("plugin", "plugins", "session", "build", "preflight"),
    "assembly": ("config", "presets", "naming", "lifecycle", "run", "ensemble", "model_files", "cli"),
}
FLOOR_OF = {name: level for level, names in enumerate(FLOORS.values()) for name in names}


def floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOOR_OF.get(parts[1]) if parts[0] == "experiments" and len(parts) > 1 else None


def test_every_module_of_experiments_has_a_floor():
    modules = [name for name in module_files(ROOT, ("experiments",)) if name != "experiments"]
    assert [name for name in modules if floor(name) is None] == []


def test_no_floor_of_experiments_imports_one_above_it():
    floors = list(FLOORS)
    offences = [
        f"{module} ({floors[floor(module)]}) imports {target} ({floors[floor(target)]})"
        for module, targets in import_graph(ROOT).items()
        if floor(module) is not None
        for target in targets
        if floor(target) is not None and floor(target) > floor(module)
    ]
    assert offences == []


def long_functions(root, limit: int = 60) -> list[str]:
    """Functions (methods, nested functions) longer than ``limit`` lines, ``def`` to last line, outside tests."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in ("tests", ".venv", "site", "outputs", "wandb") or relative.parts[0].startswith("."):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{relative}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_sixty_lines():
    assert long_functions(ROOT) == []


def test_the_length_check_counts_from_def_to_the_last_line(tmp_path):
    (tmp_path / "module.py").write_text("def short():\n    return 1\n\n\ndef long():\n" + "    x = 1\n" * 60)
    assert long_functions(tmp_path) == ["module.py:5 long (61 lines)"]
