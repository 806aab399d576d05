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
from dfl.ir.graph import Graph, Node
from dfl.runtime.dist.batches import partition_of, split


class DistFixpoint:
    def __init__(self, node: Node, part: int, parts: int, ins: list[Table], ctx: ExecContext, ex: Executor) -> None:
        self.node, self.part, self.parts, self.ctx, self.ex = node, part, parts, ctx, ex
        self.rels: list[str] = list(node.attr("rels"))
        self.cols: dict[str, int] = dict(node.attr("iterate"))  # relation -> owner column
        body: Graph = node.attr("body")
        self.body = body
        self.schemas = {n.attr("rel"): n.schema for n in body.by_op("yield")}
        self.replica = {r: ex.relation(self.schemas[r]) for r in self.rels}
        self.params: dict[str, Table] = {}
        for ext, t in zip(node.attr("exts"), ins[len(self.rels):]):
            if t.indexes is None:
                t.indexes = {}  # read every iteration: its join indexes are worth keeping
            self.params[f"ext:{ext}"] = t
        self.sub = ctx.child(self.params)
        self.variant = ex.delta_nodes(body)
        self.fixed: dict[str, Table] = {}
        for n in body.nodes:  # nodes that read no recursive relation: once
            if n.id not in self.variant:
                self.fixed[n.id] = ex.eval_node(n, self.fixed, self.sub)
                if self.fixed[n.id] is not None and self.fixed[n.id].indexes is None:
                    self.fixed[n.id].indexes = {}
        self.yields = [(n.attr("rel"), n.id) for n in body.by_op("yield")]
        # the initial rows arrive hashed on the owner column: this partition's own
        self.delta = {r: self.replica[r].add(t) for r, t in zip(self.rels, ins)}
        self.iterations = 0

    def deltas(self) -> dict[str, Table]:
        return self.delta

    def step(self, others: dict[str, list[Table]]) -> dict[str, list[Table]]:
        """Merges the other partitions' deltas into the replica, then derives from this
        partition's delta; returns, per relation, the derived rows by owner partition."""
        for r, tables in others.items():
            for t in tables:
                self.replica[r].add(t)
        self.iterations += 1
        for r in self.rels:
            self.params[f"full:{r}"] = self.replica[r].view()
            self.params[f"delta:{r}"] = self.delta[r]
        values = dict(self.fixed)
        for n in self.body.nodes:
            if n.id in self.variant:
                values[n.id] = self.ex.eval_node(n, values, self.sub)
        out: dict[str, list[Table]] = {}
        for r, nid in self.yields:
            t = values[nid]
            types = self.schemas[r].types
            out[r] = split(t, partition_of(t, (self.cols[r],), types, self.ex.pool, self.parts), self.parts)
        return out

    def merge(self, received: dict[str, list[Table]]) -> dict[str, Table]:
        """The rows derived for this partition's keys: the new (or improved) ones are its
        next delta."""
        for r in self.rels:
            tables = [t for t in received.get(r, []) if t.n]
            if not tables:
                self.delta[r] = Table.empty(self.schemas[r])
                continue
            t = tables[0] if len(tables) == 1 else Table(
                [np.concatenate([x.cols[j] for x in tables]) for j in range(self.schemas[r].arity)],
                sum(x.n for x in tables))
            self.delta[r] = self.replica[r].add(t)
        return self.delta

    def results(self) -> dict[str, Table]:
        """The rows this partition owns, per relation."""
        out = {}
        for r in self.rels:
            v = self.replica[r].view()
            mine = partition_of(v, (self.cols[r],), self.schemas[r].types, self.ex.pool, self.parts) == self.part
            out[r] = Table([c[mine] for c in v.cols], int(np.count_nonzero(mine)))
        return out
