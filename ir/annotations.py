"""Annotations on the IR: `@partition`, `@device`, `@slo`, `@replicas` as the program wrote them.

They travel on the graph, so placement and the autoscaler read them from the IR alone
(a second front end, or a service that receives a compiled graph, needs no AST):

- a declaration's annotations on its `RelDecl` (`@partition(col)` hashes that relation's rows);
- a rule's annotations on every `Node` lowered from it (`@device(d)` asks for a device);
- program-wide policy (`@replicas`, `@slo`) wherever it was written: `program_values`
  finds the first one, declarations first, then rules in source order.

An argument is a name (`@device(cuda)`: a `str`) or a constant (`@slo(p99_ms = 50)`: a
typed `Lit`), so a name and a quoted string stay apart, as they are in the source.

>>> a = Annotation("slo", (("p99_ms", Lit(50, Type.INT)),))
>>> str(a), a.values()
('@slo(p99_ms = 50)', {'p99_ms': 50})
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from dfl.ir.expr import Lit
from dfl.ir.types import Type

if TYPE_CHECKING:  # the graph imports this module: types only, no circle
    from dfl.ir.graph import Graph, Node, RelDecl

# every annotation the language knows; the checker and the verifier both read this
KNOWN = ("partition", "device", "slo", "replicas")

Arg = tuple[str | None, Any]  # (keyword or None for a positional, a name (str) or a Lit)


@dataclass(frozen=True)
class Annotation:
    name: str
    args: tuple[Arg, ...] = ()

    def values(self) -> dict[str, Any]:
        """The keyword arguments as {key: Python value} (names as str, constants unwrapped)."""
        return {k: plain(v) for k, v in self.args if k is not None}

    def positional(self) -> Any:
        """The one positional argument, as written (a name is a str, a constant a Lit); else None."""
        return self.args[0][1] if len(self.args) == 1 and self.args[0][0] is None else None

    def __str__(self) -> str:
        return f"@{self.name}(" + ", ".join(_arg_text(k, v) for k, v in self.args) + ")"


def plain(v: Any) -> Any:
    return v.value if isinstance(v, Lit) else v


def _arg_text(key: str | None, v: Any) -> str:
    if isinstance(v, Lit) and isinstance(v.value, str):
        text = '"' + v.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif isinstance(v, Lit) and isinstance(v.value, bool):
        text = "true" if v.value else "false"
    else:
        text = str(plain(v))
    return text if key is None else f"{key} = {text}"


def lit_of(value: Any) -> Lit:
    """A constant argument typed by its Python value (what the parser's constants hold)."""
    t = {bool: Type.BOOL, int: Type.INT, float: Type.FLOAT, str: Type.STR}.get(type(value))
    if t is None:
        raise ValueError(f"an annotation argument must be a name or a constant, not {value!r}")
    return Lit(value, t)


def find(anns: Iterable[Annotation], name: str) -> Annotation | None:
    return next((a for a in anns if a.name == name), None)


def partition_column(decl: "RelDecl") -> int | None:
    """The column `@partition(col)` hashes the relation's rows on (a name among its columns)."""
    a = find(decl.annotations, "partition")
    col = a.positional() if a is not None else None
    names = decl.schema.names
    return names.index(col) if isinstance(col, str) and col in names else None


def device_of(node: "Node") -> str | None:
    """The device the rule this node came from asks for with `@device(d)` (d a name)."""
    a = find(node.annotations, "device")
    if a is None or not a.args or not isinstance(a.args[0][1], str):
        return None
    return a.args[0][1]


def program_values(g: "Graph", name: str) -> dict[str, Any] | None:
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


def _node_annotations(g: "Graph", name: str):
    from dfl.ir.graph import Graph

    for n in g.nodes:
        a = find(n.annotations, name)
        if a is not None:
            yield n, a
        for _, v in n.attrs:
            if isinstance(v, Graph):
                yield from _node_annotations(v, name)


def _position(span) -> tuple:
    return (0, span.file, span.line, span.col) if span is not None else (1, "", 0, 0)


def problems(g: "Graph") -> list[str]:
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
    from dfl.ir.graph import Graph

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
