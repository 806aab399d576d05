"""Distributed semi-naive evaluation of a recursive stratum that is not partition-local
(placement.py decides; e.g. shortest paths, whose derived key comes from the edge, or a
closure that joins two recursive atoms).

Each recursive relation R is owned by partitions: a row belongs to partition
hash(row[c_R]) mod N. Every partition keeps a replica of all of R (the `full` side of the
body's joins) and the delta of the rows it owns. One iteration, driven by the driver:

1. `step`: each partition takes the deltas the others found (merging them into its
   replica), then evaluates the body's delta variants over its own delta and the replica,
   and splits the derived rows by owner;
2. `merge`: each owner adds the rows sent to it to its replica; those that were new (or
   improved a lattice value) are its next delta.

The driver stops when no partition has a delta: the termination check. Every delta row is
processed by exactly one partition, so each derivation happens once, as in one process.
At the end each partition keeps the rows it owns: the result is partitioned by c_R.
"""
from __future__ import annotations

import numpy as np

from dfl.backends.base import ExecContext, Executor
from dfl.backends.columnar.table import Table
from dfl.backends.seminaive import SemiNaive
from dfl.ir.graph import Node
from dfl.runtime.dist.batches import partition_of, split


def _keep_indexes(t: Table) -> None:
    if t.indexes is None:
        t.indexes = {}  # read every round: its join indexes are worth keeping


class DistFixpoint:
    """One partition's side of the rounds: the shared semi-naive driver
    (backends/seminaive.py) over this partition's replica, its two halves (`derive`,
    `merge`) called apart because the derived rows cross partitions between them."""

    def __init__(self, node: Node, part: int, parts: int, ins: list[Table], ctx: ExecContext,
                 ex: Executor) -> None:
        self.node, self.part, self.parts, self.ctx, self.ex = node, part, parts, ctx, ex
        self.rels: list[str] = list(node.attr("rels"))
        self.cols: dict[str, int] = dict(node.attr("iterate"))  # relation -> owner column
        self.schemas = {n.attr("rel"): n.schema for n in node.attr("body").by_op("yield")}
        params = {f"ext:{ext}": t for ext, t in zip(node.attr("exts"), ins[len(self.rels):])}
        for t in params.values():
            _keep_indexes(t)
        sub = ctx.child(params)
        # the driver's stores are this partition's replica of every relation
        self.loop = SemiNaive(node.attr("body"), self.rels, {r: ex.relation(self.schemas[r]) for r in self.rels},
                              params, lambda n, values: ex.eval_node(n, values, sub), size=lambda t: t.n,
                              empty=lambda r: Table.empty(self.schemas[r]), on_fixed=_keep_indexes)
        # the initial rows arrive hashed on the owner column: this partition's own
        self.delta = self.loop.seed(ins[:len(self.rels)])
        self.iterations = 0

    def deltas(self) -> dict[str, Table]:
        return self.delta

    def step(self, others: dict[str, list[Table]]) -> dict[str, list[Table]]:
        """Merges the other partitions' deltas into the replica, then derives from this
        partition's delta; returns, per relation, the derived rows by owner partition."""
        for r, tables in others.items():
            for t in tables:
                self.loop.stores[r].add(t)
        self.iterations += 1
        out: dict[str, list[Table]] = {}
        for r, t in self.loop.derive(self.delta).items():
            types = self.schemas[r].types
            out[r] = split(t, partition_of(t, (self.cols[r],), types, self.ex.pool, self.parts), self.parts)
        return out

    def merge(self, received: dict[str, list[Table]]) -> dict[str, Table]:
        """The rows derived for this partition's keys: the new (or improved) ones are its
        next delta."""
        mine: dict[str, Table] = {}
        for r in self.rels:
            tables = [t for t in received.get(r, []) if t.n]
            if tables:
                mine[r] = tables[0] if len(tables) == 1 else Table(
                    [np.concatenate([x.cols[j] for x in tables]) for j in range(self.schemas[r].arity)],
                    sum(x.n for x in tables))
        self.delta = self.loop.merge(mine)
        return self.delta

    def results(self) -> dict[str, Table]:
        """The rows this partition owns, per relation."""
        out = {}
        for r in self.rels:
            v = self.loop.stores[r].full()
            mine = partition_of(v, (self.cols[r],), self.schemas[r].types, self.ex.pool, self.parts) == self.part
            out[r] = Table([c[mine] for c in v.cols], int(np.count_nonzero(mine)))
        return out
