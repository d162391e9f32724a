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
