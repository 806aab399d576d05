"""The IR: a typed dataflow graph of immutable operator nodes (DESIGN.md, The IR).

The top-level graph is acyclic and describes one tick. A recursive stratum is one
`fixpoint` node holding its body as a nested Graph over `param` nodes (`full:R`,
`delta:R`, `ext:S`); `result` nodes pick each relation out of a fixpoint.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from dfl.errors import Span
from dfl.ir import digraph
from dfl.ir.annotations import Annotation
from dfl.ir.ops import OPS, OpSpec  # noqa: F401  (re-exported: the op table's old home)
from dfl.ir.types import Schema, storage_of


@dataclass(frozen=True)
class Node:
    id: str
    op: str
    inputs: tuple[str, ...]
    attrs: tuple[tuple[str, Any], ...]
    schema: Schema
    stratum: int = 0
    monotone: bool = True
    span: Span | None = None
    annotations: tuple[Annotation, ...] = ()  # the annotations of the rule it was lowered from

    def attr(self, key: str, default: Any = None) -> Any:
        for k, v in self.attrs:
            if k == key:
                return v
        return default

    def with_attrs(self, **changes: Any) -> "Node":
        d = dict(self.attrs)
        d.update(changes)
        return replace(self, attrs=tuple(d.items()))


@dataclass(frozen=True)
class RelDecl:
    """A declared relation as the runtime needs it: its name, kinds and schema."""

    name: str
    kinds: tuple[str, ...]
    schema: Schema
    init: tuple[tuple, ...] = ()  # a table's rows at tick 0 (its facts)
    annotations: tuple[Annotation, ...] = ()  # its declaration's, e.g. @partition(col)
    # an input or channel the program also gives rows (facts or rules): its file may be
    # absent. Set only there, the one place a run reads it.
    derived: bool = False

    @property
    def storage(self) -> str:
        return storage_of(self.kinds)


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    relations: tuple[RelDecl, ...] = ()
    _index: dict = field(default=None, compare=False, repr=False, hash=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n.id: n for n in self.nodes})

    def node(self, node_id: str) -> Node:
        return self._index[node_id]

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._index

    def relation(self, name: str) -> RelDecl:
        for r in self.relations:
            if r.name == name:
                return r
        raise KeyError(name)

    def by_op(self, op: str) -> list[Node]:
        return [n for n in self.nodes if n.op == op]

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                out.setdefault(i, []).append(n.id)
        return out

    def successors(self) -> dict[str, list[str]]:
        """Node id -> the ids of the nodes that read it (ir/digraph.py's adjacency)."""
        return digraph.successors((n.id for n in self.nodes), ((i, n.id) for n in self.nodes for i in n.inputs))

    def with_nodes(self, nodes: Iterable[Node]) -> "Graph":
        return Graph(tuple(nodes), self.relations)

    def topo_sorted(self) -> "Graph":
        """The same graph with nodes in a deterministic topological order."""
        order = digraph.topo_order(self.successors(), key=_natural_key)
        return self.with_nodes(self.node(i) for i in order)


def _natural_key(node_id: str) -> tuple:
    """Orders ids like n2 before n10."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", node_id))
