"""What a graph's annotations ask for, read from the IR alone (annotations: ir/annotations.py).

- `partition_column(decl)`: the column `@partition(col)` on a declaration hashes its rows on;
- `device_of(node)`: the device `@device(d)` on the node's rule asks for;
- `program_values(g, name)`: the program's `@replicas` / `@slo`, the first one:
  declarations in order, then the rules' (on their nodes) in source order;
- `problems(g)`: what the verifier refuses.

Placement (`compiler/placement.py`) and the autoscaler's policy (`runtime/session.py`)
read these, never the AST, so a graph from an IR file places and scales as its program.
"""
from __future__ import annotations

from typing import Any

from dfl.ir.annotations import KNOWN, Annotation, find
from dfl.ir.expr import Lit
from dfl.ir.graph import Graph, Node, RelDecl


def partition_column(decl: RelDecl) -> int | None:
    """The column `@partition(col)` hashes the relation's rows on (a name among its columns)."""
    a = find(decl.annotations, "partition")
    col = a.positional() if a is not None else None
    names = decl.schema.names
    return names.index(col) if isinstance(col, str) and col in names else None


def device_of(node: Node) -> str | None:
    """The device the rule this node came from asks for with `@device(d)` (d a name)."""
    a = find(node.annotations, "device")
    if a is None or not a.args or not isinstance(a.args[0][1], str):
        return None
    return a.args[0][1]


def program_values(g: Graph, name: str) -> dict[str, Any] | None:
    """The first @name(...) of the program as {key: value}: declarations in order, then the
    rules' (their nodes', fixpoint bodies included) in source order; None when there is none."""
    for r in g.relations:
        a = find(r.annotations, name)
        if a is not None:
            return a.values()
    found = [(n.span, i, a) for i, (n, a) in enumerate(_node_annotations(g, name))]
    if not found:
        return None
    _, _, first = min(found, key=lambda t: (_position(t[0]), t[1]))
    return first.values()


def _node_annotations(g: Graph, name: str):
    for n in g.nodes:
        a = find(n.annotations, name)
        if a is not None:
            yield n, a
        for _, v in n.attrs:
            if isinstance(v, Graph):
                yield from _node_annotations(v, name)


def _position(span) -> tuple:
    return (0, span.file, span.line, span.col) if span is not None else (1, "", 0, 0)


def problems(g: Graph) -> list[str]:
    """What is wrong with the graph's annotations (the verifier reports the first): an
    unknown name, an argument that is neither a name nor a constant, a @partition that is
    not on a relation or names no column of it."""
    out = []
    for r in g.relations:
        for a in r.annotations:
            out += [f"relation {r.name}: {p}" for p in _problems(a)]
            if a.name == "partition" and partition_column(r) is None:
                out.append(f"relation {r.name}: {a} takes one column of {r.name} "
                           f"(columns: {', '.join(r.schema.names)})")

    def nodes(graph: Graph) -> None:
        for n in graph.nodes:
            for a in n.annotations:
                out.extend(f"node {n.id} ({n.op}): {p}" for p in _problems(a))
                if a.name == "partition":
                    out.append(f"node {n.id} ({n.op}): {a} annotates a relation, not a rule")
            for _, v in n.attrs:
                if isinstance(v, Graph):
                    nodes(v)

    nodes(g)
    return out


def _problems(a: Annotation) -> list[str]:
    if not isinstance(a, Annotation):
        return [f"{a!r} is not an annotation"]
    out = []
    if a.name not in KNOWN:
        out.append(f"unknown annotation @{a.name} (annotations are {', '.join('@' + k for k in KNOWN)})")
    for k, v in a.args:
        if not (k is None or isinstance(k, str)) or not (isinstance(v, str) or isinstance(v, Lit)):
            out.append(f"@{a.name}: argument {v!r} is neither a name nor a constant")
    return out
