"""No import circles between the modules of the `dfl` package.

Every import counts, lazy ones inside functions too: a circle hidden behind a late import
still ties the modules together (one cannot be read, tested or replaced without the
other). The graph is built from the source with `ast`, the folders mapped to packages as
pyproject.toml maps them, and networkx finds the circles.
"""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent


def modules() -> dict[str, Path]:
    """Module name -> file, for every .py of the package (as pyproject.toml's package-dir maps it)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package_dir: dict[str, str] = config["package-dir"]
    out: dict[str, Path] = {}
    for package in config["packages"]:
        # a package without its own entry lives under its nearest mapped parent
        parent = max((p for p in package_dir if package == p or package.startswith(p + ".")), key=len)
        folder = Path(package_dir[parent], *package[len(parent):].split(".")[1:])
        for f in sorted((ROOT / folder).glob("*.py")):
            out[package if f.stem == "__init__" else f"{package}.{f.stem}"] = f
    return out


def import_graph(mods: dict[str, Path]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for name, path in mods.items():
        package = name if path.stem == "__init__" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                # `from pkg import submodule` imports the submodule; other names come from base
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:  # a name inside a module: the module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    g.add_edge(name, t)
    return g


def test_the_package_is_found() -> None:
    mods = modules()
    assert {"dfl.api", "dfl.ir.graph", "dfl.ir.ops", "dfl.lang.parser", "dfl.backends.cpu.plan"} <= set(mods)


def test_no_import_circles() -> None:
    g = import_graph(modules())
    circles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_a_circle_is_found(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def f():\n    from dfl.x import b\n", encoding="utf-8")  # a late import counts
    b.write_text("from dfl.x.a import f\n", encoding="utf-8")
    g = import_graph({"dfl.x.a": a, "dfl.x.b": b})
    assert [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1] == [["dfl.x.a", "dfl.x.b"]]
