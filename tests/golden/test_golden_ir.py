"""Golden IR text of every example, and the IR's round-trips and invariants on each.

The program and its expected IR sit side by side: examples/<name>/prog.dfl and
tests/golden/ir/<name>.ir. After an intended change: `pytest tests/golden --update-golden`.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import dfl
from dfl.compiler.lower import lower
from dfl.ir import json_io, text
from dfl.ir.verify import verify

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "ir"
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/prog.dfl"))


def _program(name: str) -> dfl.api.Program:
    rel = f"examples/{name}/prog.dfl"  # a relative name keeps the golden text path-independent
    return dfl.compile((ROOT / rel).read_text(encoding="utf-8"), rel)


def test_there_are_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("name", EXAMPLES)
def test_golden_ir(name, request):
    prog = _program(name)
    got = text.print_graph(prog.graph)
    for agent, at in sorted(prog.agents.items()):  # each agent type is a graph of its own
        got += f"\n# agent {agent}\n" + text.print_graph(at.program.graph)
    path = GOLDEN / f"{name}.ir"
    if request.config.getoption("--update-golden"):
        path.write_text(got, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}: run pytest tests/golden --update-golden"
    assert got == path.read_text(encoding="utf-8"), f"IR of {name} changed; if intended, --update-golden"


@pytest.mark.parametrize("name", EXAMPLES)
def test_roundtrips_and_verifies(name):
    prog = _program(name)
    for g in (lower(prog.checked), prog.graph):
        verify(g)
        assert text.parse_graph(text.print_graph(g)) == g
        assert json_io.loads(json_io.dumps(g)) == g
