"""Semi-naive fixpoints whose iterations stay on the device.

The loop is the shared driver (backends/seminaive.py); its stores here hold a recursive
relation as device columns. A set relation is a DeviceRowSet (rowset.py): its rows and the hash
table over them grow in place, so adding a batch costs the batch: the rows the table lacks
are the delta. A
lattice relation (a min/max path, for instance) is a DeviceLattice (lattice.py): the
batch is merged per key (a device group-by with atomic min/max), then into the rows in
place; its delta is the keys that are new or improved. Nothing
crosses to the host between iterations but the deltas' sizes (the loop's end test).
"""
from __future__ import annotations

from dfl.ir.graph import Node
from dfl.ir.types import Schema
from dfl.backends.cuda.columns import DTable, concat, empty
from dfl.backends.cuda.ops import anti, lattice_merge
from dfl.backends.cuda.lattice import DeviceLattice
from dfl.backends.cuda.rowset import DeviceRowSet
from dfl.backends.seminaive import SemiNaive


class SetStore:
    """A set relation: a DeviceRowSet (rows and their hash table grow in place)."""

    def __init__(self, ctx, schema: Schema) -> None:
        self.ctx, self.schema = ctx, schema
        self.n0 = 0  # a zero-column relation: 0 or 1 rows
        self.set = DeviceRowSet(ctx.dev, schema) if schema.arity else None

    def add(self, t: DTable) -> DTable:
        if t.n == 0 and not self.ctx.dev.recording:
            return t
        if self.set is None:
            new = DTable([], 0 if self.n0 else min(t.n, 1), True)
            self.n0 = max(self.n0, new.n)
            return new
        return self.set.add(t)

    def full(self) -> DTable:
        return self.set.view() if self.set is not None else DTable([], self.n0, True)


class LatticeStore:
    """A lattice relation: the batch merged into its rows (one row per key); the delta is
    the rows that are new or whose value changed."""

    def __init__(self, ctx, schema: Schema) -> None:
        self.ctx, self.schema = ctx, schema
        self.rows = empty(ctx.dev, schema)
        self.rows.distinct = True

    def full(self) -> DTable:
        return self.rows

    def add(self, t: DTable) -> DTable:
        dev = self.ctx.dev
        if t.n == 0 and not dev.recording:
            return t
        merged = lattice_merge(self.ctx, concat(dev, [self.rows, t], self.schema), self.schema)
        keys = tuple(range(self.schema.arity))
        new = anti(dev, merged, self.rows, keys, keys) if self.rows.n or dev.recording else merged
        self.rows = merged
        return DTable(new.cols, new.n, True)


def _store(ctx, schema: Schema):
    if not schema.is_lattice:
        return SetStore(ctx, schema)
    # keyed lattices grow in place; one without key columns is a single row, merged whole
    return DeviceLattice(ctx, schema) if schema.key_arity else LatticeStore(ctx, schema)


def schemas_of(node: Node) -> dict[str, Schema]:
    return {n.attr("rel"): n.schema for n in node.attr("body").by_op("yield")}


def run_fixpoint(node: Node, ins: list[DTable], ctx) -> DTable:
    rels = node.attr("rels")
    schemas = schemas_of(node)
    stores = {rel: _store(ctx, schemas[rel]) for rel in rels}
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
