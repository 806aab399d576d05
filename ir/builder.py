"""The public graph builder: how a front end (the DFL compiler's lowering, or any other)
makes an IR graph without knowing the Node constructor's fields.

Ids are `n1`, `n2`, ... in the order nodes are added; a nested builder (a fixpoint's
body) shares the counter, so ids are unique across the whole graph and stable: the
same calls give the same graph. A node's `monotone` flag is its op's (`OPS`).

>>> from dfl.ir.types import Column, Schema, Type
>>> from dfl.ir.text import print_graph
>>> edge = Schema((Column("src", Type.INT), Column("dst", Type.INT)))
>>> b = GraphBuilder()
>>> b.relation("edge", ("input", "output"), edge)
>>> src = b.add("source", [], {"rel": "edge", "kind": "input"}, edge)
>>> b.add("sink", [src], {"rel": "edge"}, edge, stratum=1)
'n2'
>>> print(print_graph(b.graph()), end="")
dfl-ir 1
relation edge(src: int, dst: int) kinds=[input, output]
n1 = source() {rel="edge", kind="input"} : (src: int, dst: int)  # stratum 0
n2 = sink(n1) {rel="edge"} : (src: int, dst: int)  # stratum 1
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from dfl.errors import Span
from dfl.ir.annotations import Annotation
from dfl.ir.graph import OPS, Graph, Node, RelDecl
from dfl.ir.types import Schema


class GraphBuilder:
    """Declares relations and appends nodes; `graph()` is the result."""

    def __init__(self, stratum: int = 0, _counter: list[int] | None = None) -> None:
        self.stratum = stratum  # given to the nodes added from now on, unless a call says otherwise
        self.nodes: list[Node] = []
        self.relations: list[RelDecl] = []
        self._counter = _counter if _counter is not None else [0]

    def relation(self, name: str, kinds: Iterable[str], schema: Schema, init: Iterable[tuple] = (),
                 annotations: Iterable[Annotation] = (), derived: bool = False) -> None:
        """Declares a relation: `kinds` among input, output, rel, table, channel."""
        self.relations.append(RelDecl(name, tuple(kinds), schema, tuple(init), tuple(annotations), derived))

    def add(self, op: str, inputs: Iterable[str], attrs: Mapping[str, Any], schema: Schema,
            span: Span | None = None, annotations: Iterable[Annotation] = (), stratum: int | None = None) -> str:
        """Appends a node of `op` (a key of `OPS`) reading `inputs` (ids); returns its id."""
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}")
        self._counter[0] += 1
        nid = f"n{self._counter[0]}"
        self.nodes.append(Node(nid, op, tuple(inputs), tuple(attrs.items()), schema,
                               self.stratum if stratum is None else stratum, OPS[op].monotone, span,
                               tuple(annotations)))
        return nid

    def nested(self, stratum: int | None = None) -> "GraphBuilder":
        """A builder for a nested graph (a fixpoint's `body`), sharing this one's ids."""
        return GraphBuilder(self.stratum if stratum is None else stratum, self._counter)

    def schema(self, nid: str) -> Schema:
        """The output schema of a node added here."""
        for n in reversed(self.nodes):
            if n.id == nid:
                return n.schema
        raise KeyError(nid)

    def graph(self) -> Graph:
        return Graph(tuple(self.nodes), tuple(self.relations))
