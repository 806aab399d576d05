"""The cpu backend's executor for the worker pool (backends/base.Executor): its kernels,
row sets and delta plans, reached by the partitioned runtime through the registry."""
from __future__ import annotations

from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import Table
from dfl.backends.seminaive import variant_nodes
from dfl.backends.cpu.fixpoint import LatticeRelation, SetRelation
from dfl.backends.cpu.ops import distinct_rows
from dfl.backends.cpu.plan import Context, apply, eval_node, sorted_table
from dfl.backends.cpu.vexpr import Evaluator
from dfl.ir.graph import Graph, Node
from dfl.ir.types import Schema


class CpuExecutor:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.pool = StringPool()
        self.ev = Evaluator(self.pool)

    def context(self, inputs: dict[tuple[str, str], Table]) -> Context:
        # no fused chains: a partition's values are read node by node (exchanges, steps)
        return Context(self.pool, self.ev, inputs, chains={}, inner=frozenset())

    def eval_node(self, node: Node, values: dict[str, Table], ctx: Context) -> Table:
        return eval_node(node, values, ctx)

    def apply(self, node: Node, ins: list[Table], ctx: Context) -> Table:
        return apply(node, ins, ctx)

    def distinct(self, t: Table) -> Table:
        return distinct_rows(t)

    def relation(self, schema: Schema) -> SetRelation | LatticeRelation:
        return LatticeRelation(schema) if schema.is_lattice else SetRelation(schema)

    def row_set(self, schema: Schema) -> SetRelation:
        return SetRelation(schema)

    def delta_nodes(self, body: Graph) -> set[str]:
        return variant_nodes(body)

    def sorted(self, t: Table, schema: Schema) -> Table:
        return sorted_table(t, schema, self.pool)
