"""The runtime and the compiler reach backends only through backends/registry.py: no module
under runtime/ or compiler/ (nor the API and CLI commands) imports dfl.backends.cpu or
dfl.backends.interp, at module level or lazily inside a function. A second backend then
runs on the worker pool without a second copy of the runtime (backends/base.Executor)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("dfl.backends.cpu", "dfl.backends.interp")
CHECKED = [*sorted((ROOT / "runtime").rglob("*.py")), *sorted((ROOT / "compiler").rglob("*.py")),
           ROOT / "dfl" / "api.py", ROOT / "dfl" / "commands.py"]


def backend_imports(source: str, module: str) -> list[tuple[int, str]]:
    """(line, imported name) for each import of a forbidden backend package in `source`,
    the text of module `module` (dotted; relative imports resolve against it)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, `level` steps up
                pkg = module.split(".")[:-node.level]
                base = ".".join(pkg + ([base] if base else []))
            # `from dfl.backends import cpu` imports the package too
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                found.append((node.lineno, name))
                break
    return found


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(("dfl",) + (rel[1:] if rel[0] == "dfl" else rel))


def test_the_checked_folders_exist():
    assert len(CHECKED) > 20 and all(p.exists() for p in CHECKED)


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_backend_package_is_imported(path: Path):
    found = backend_imports(path.read_text(encoding="utf-8"), _module(path))
    where = ", ".join(f"{path.relative_to(ROOT)}:{line} imports {name}" for line, name in found)
    assert not found, f"{where}: ask backends/registry.py (get, executor) instead"


@pytest.mark.parametrize("source", [
    "from dfl.backends.cpu.plan import CpuPlan\n",
    "import dfl.backends.interp\n",
    "from dfl.backends import cpu\n",
    "def f():\n    from dfl.backends.cpu.fixpoint import SetRelation\n",
    "from ...backends.cpu import ops\n",
])
def test_the_check_finds_every_form_of_import(source: str):
    assert backend_imports(source, "dfl.runtime.dist.worker")


@pytest.mark.parametrize("source", [
    "from dfl.backends import registry\n",
    "from dfl.backends.columnar.table import Table\n",
    "from dfl.backends.base import Executor\n",
    "import dfl.backends.cpuish\n",
])
def test_the_registry_and_the_neutral_modules_are_allowed(source: str):
    assert not backend_imports(source, "dfl.runtime.dist.worker")
