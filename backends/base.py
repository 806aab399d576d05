"""The backend interface.

`Backend.compile(graph) -> Plan` runs whole ticks in one process: `Plan.run(inputs) ->
TickResult` on rows, `Plan.run_columns(tables)` on the host columnar layout
(backends/columnar). A backend that can run on the worker pool also gives an `Executor`
(`Backend.executor(graph)`): what the partitioned runtime (runtime/dist/) needs to run
one partition's share of a placed graph, node by node, with no import of the backend.
Both are reached by target name through backends/registry.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from dfl.ir.graph import Graph, Node
from dfl.ir.types import Schema

if TYPE_CHECKING:  # numpy's; a run on the interpreter never imports it (start-up: ~0.1 s)
    from dfl.backends.columnar.strings import StringPool
    from dfl.backends.columnar.table import Table

InputKey = tuple[str, str]  # (source kind, relation): ("input", "edge"), ("state", "seen"), ...


@dataclass
class TickResult:
    """What one tick produced: outputs (sinks), table states (persists), rows for the next tick."""

    sinks: dict[str, list[tuple]] = field(default_factory=dict)
    persists: dict[str, list[tuple]] = field(default_factory=dict)
    defers: dict[tuple[str, str], list[tuple]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def take(self, node, rows: list[tuple]) -> None:
        """Files the rows of an effect node (`sink`, `persist` or `defer`, ir/ops.py TICK_EFFECTS) where
        the tick's outcome keeps them: every backend and runner fills a TickResult this way."""
        if node.op == "sink":
            self.sinks[node.attr("rel")] = rows
        elif node.op == "persist":
            self.persists[node.attr("rel")] = rows
        else:
            self.defers[(node.attr("rel"), node.attr("mode"))] = rows



class Plan(Protocol):
    def run(self, inputs: dict[InputKey, list[tuple]]) -> TickResult: ...

    def run_columns(self, inputs: dict[InputKey, Table]) -> dict[str, Table]:
        """One tick on columnar inputs (strings as codes of the plan's string pool); the
        sinks as tables, unsorted."""
        ...


class ExecContext(Protocol):
    """One partition's evaluation state during a tick. The runtime reads and writes only
    these; the rest (kernels' caches, the evaluator) is the backend's."""

    stats: dict[str, int]
    fixpoint_results: dict[tuple[str, str], Table]  # (fixpoint node, relation) -> its rows

    def child(self, params: dict[str, Table]) -> "ExecContext":
        """The context a fixpoint body runs in, its `param` nodes reading `params`."""
        ...


class RelationStore(Protocol):
    """A recursive relation's rows across fixpoint iterations (a set, or a lattice keyed
    on its non-lattice columns)."""

    def add(self, t: Table) -> Table:
        """Adds rows; returns those that were new (or improved a lattice value): the delta."""
        ...

    def view(self) -> Table: ...

    def full(self) -> Table:
        """What the body's `full:R` param reads (the shared driver's name for the view)."""
        ...


class Executor(Protocol):
    """A backend's operators for the partitioned runtime, over the host columnar layout."""

    graph: Graph
    pool: StringPool  # the codes of every string column this executor's tables hold

    def context(self, inputs: dict[InputKey, Table]) -> ExecContext: ...

    def eval_node(self, node: Node, values: dict[str, Table], ctx: ExecContext) -> Table:
        """`node` on the values of its inputs (by node id); run-time errors as DflError."""
        ...

    def apply(self, node: Node, ins: list[Table], ctx: ExecContext) -> Table:
        """`node`'s kernel on inputs given directly (a self-join's sides may be different
        pieces of one node); run-time errors as DflError."""
        ...

    def distinct(self, t: Table) -> Table: ...

    def relation(self, schema: Schema) -> RelationStore:
        """A recursive relation's store: a lattice one when the schema has lattice columns."""
        ...

    def row_set(self, schema: Schema) -> RelationStore:
        """A set of rows (a streamed dedup's rows so far), whatever the schema."""
        ...

    def delta_nodes(self, body: Graph) -> set[str]:
        """The nodes of a fixpoint body that read a recursive relation: re-run each iteration."""
        ...

    def sorted(self, t: Table, schema: Schema) -> Table:
        """Rows in the output contract's order."""
        ...


class Backend(Protocol):
    name: str
    devices: tuple[str, ...]

    def compile(self, graph: Graph) -> Plan: ...
