"""Semi-naive fixpoints whose iterations stay on the device.

The loop is the shared driver (backends/seminaive.py); its stores here hold a recursive
relation as device columns. A set relation adds a batch by deduplicating it and keeping the
rows its full relation lacks (a device anti-join on every column): those are the delta. A
lattice relation (a min/max path, for instance) merges the batch into its rows (a device
group-by with atomic min/max per key) and its delta is the rows that changed. Nothing
crosses to the host between iterations but the deltas' sizes (the loop's end test).
"""
from __future__ import annotations

from dfl.ir.graph import Node
from dfl.ir.types import Schema
from dfl.backends.cuda import hashing as H
from dfl.backends.cuda.columns import DTable, concat, empty
from dfl.backends.cuda.ops import anti, lattice_merge
from dfl.backends.seminaive import SemiNaive


class SetStore:
    def __init__(self, ctx, schema: Schema) -> None:
        self.ctx, self.schema = ctx, schema
        self.rows = empty(ctx.dev, schema)
        self.rows.distinct = True

    def add(self, t: DTable) -> DTable:
        dev = self.ctx.dev
        if t.n == 0 and not dev.recording:
            return t
        if self.schema.arity == 0:
            new = DTable([], 0 if self.rows.n else min(t.n, 1), True)
            self.rows = DTable([], max(self.rows.n, new.n), True)
            return new
        d = H.distinct(dev, t)
        keys = tuple(range(self.schema.arity))
        new = anti(dev, d, self.rows, keys, keys) if self.rows.n or dev.recording else d
        new = DTable(new.cols, new.n, True)
        if new.n:
            self.rows = DTable(concat(dev, [self.rows, new], self.schema).cols, self.rows.n + new.n, True)
        return new

    def full(self) -> DTable:
        return self.rows


class LatticeStore(SetStore):
    def add(self, t: DTable) -> DTable:
        dev = self.ctx.dev
        if t.n == 0 and not dev.recording:
            return t
        merged = lattice_merge(self.ctx, concat(dev, [self.rows, t], self.schema), self.schema)
        keys = tuple(range(self.schema.arity))
        new = anti(dev, merged, self.rows, keys, keys) if self.rows.n or dev.recording else merged
        self.rows = merged
        return DTable(new.cols, new.n, True)


def schemas_of(node: Node) -> dict[str, Schema]:
    return {n.attr("rel"): n.schema for n in node.attr("body").by_op("yield")}


def run_fixpoint(node: Node, ins: list[DTable], ctx) -> DTable:
    rels = node.attr("rels")
    schemas = schemas_of(node)
    stores = {rel: (LatticeStore if schemas[rel].is_lattice else SetStore)(ctx, schemas[rel]) for rel in rels}
    params = {f"ext:{ext}": t for ext, t in zip(node.attr("exts"), ins[len(rels):])}
    sub = ctx.child(params)
    loop = SemiNaive(node.attr("body"), rels, stores, params, lambda n, values: sub.eval(n, values),
                     size=lambda t: t.n, empty=lambda rel: empty(ctx.dev, schemas[rel]))
    iterations = loop.run(loop.seed(ins[:len(rels)]))
    ctx.stats["iterations"] = ctx.stats.get("iterations", 0) + iterations
    for rel in rels:
        v = stores[rel].full()
        ctx.fixpoint_results[(node.id, rel)] = DTable(v.cols, v.n)
    return DTable([], 0)
