"""Semi-naive fixpoints on columns: relations that grow in place, with their indexes.

A relation of a recursive stratum lives in growing column arrays and a hash set of its
rows (packed_set.py: one integer per row where they fit), a lattice relation in a map from
its key to its merged values (dense_keys.py: an array over a small key range). Each iteration
inserts the derived rows; the rows that were new (or whose value improved) are the next
delta. Join indexes on a relation grow with it instead of being rebuilt. The loop itself is
the shared driver (backends/seminaive.py): these relations are its stores, and body nodes
that read no `full:`/`delta:` param run once, before the loop.
"""
from __future__ import annotations

import numpy as np

from dfl.ir.graph import Node
from dfl.ir.types import Schema
from dfl.backends.cpu.dense_keys import DenseKeys
from dfl.backends.cpu.claim_join import claims_of
from dfl.backends.cpu.rowset import HashKeys, RowSet
from dfl.backends.cpu.packed_set import PackedSet
from dfl.backends.columnar.table import DTYPES, Table, key_matrix
from dfl.backends.seminaive import SemiNaive
from dfl.runtime import limits


class Growing:
    """Columns with spare capacity at the end (amortised appends)."""

    def __init__(self, schema: Schema) -> None:
        self.types = schema.types
        self.cols = [np.empty(64, DTYPES[t]) for t in self.types]
        self.n = 0
        self.indexes: dict = {}

    def append(self, cols: list[np.ndarray], n: int) -> None:
        need = self.n + n
        if self.cols and need > len(self.cols[0]):
            cap = max(need, 2 * len(self.cols[0]))
            # a fixpoint's growth: the grown columns, and the row set beside them, must fit
            limits.check_rows(cap, limits.cpu_row_bytes(2 * len(self.cols) + 2))
            grown = []
            for c in self.cols:
                g = np.empty(cap, c.dtype)
                g[:self.n] = c[:self.n]
                grown.append(g)
            self.cols = grown
        for c, new in zip(self.cols, cols):
            c[self.n:need] = new
        self.n = need

    def view(self) -> Table:
        return Table([c[:self.n] for c in self.cols], self.n, self.indexes)


class SetRelation:
    def __init__(self, schema: Schema) -> None:
        self.data = Growing(schema)
        # rows packed into one integer while they fit (packed_set.py), else hashed as rows
        self.set: PackedSet | RowSet = PackedSet(schema.arity)
        self.arity = schema.arity

    def add(self, t: Table) -> Table:
        """Inserts t's rows; returns those that were new (the next delta)."""
        if t.n == 0:
            return t
        if self.arity == 0:
            if self.data.n:
                return Table([], 0)
            self.data.n = 1
            return Table([], 1)
        km = key_matrix(t.cols, t.n)
        new = self.set.insert(km)
        if new is None:  # a row too wide to pack: every row held moves to a hashed row set
            held = self.data.view()
            self.set = RowSet(self.arity)
            self.set.insert(key_matrix(held.cols, held.n))
            new = self.set.insert(km)
        if len(new) == 0:
            return t.take(new)
        delta = t.take(new) if len(new) != t.n else t
        self.data.append(delta.cols, delta.n)
        return Table(list(delta.cols), delta.n)

    def view(self) -> Table:
        return self.data.view()

    full = view  # the driver's name for it


class LatticeRelation:
    """One row per key; lattice columns merged (min or max) as candidates arrive.

    Keys live in a key map (dense_keys.DenseKeys, or rowset.HashKeys; store index = row
    number) with their typed columns beside it;
    values in one matrix per storage dtype (int64, float64), pre-filled with the identity of
    their merge (+inf for min, -inf for max) so a key is "new" exactly when it improves."""

    def __init__(self, schema: Schema) -> None:
        self.k = schema.key_arity
        self.schema = schema
        # one int (or string code) key column: positions in an array while its range is dense
        dense = self.k == 1 and DTYPES[schema.types[0]] == np.int64
        self.keys: DenseKeys | HashKeys = DenseKeys() if dense else HashKeys(self.k)
        self.keycols = Growing(Schema(schema.columns[:self.k]))
        lat = schema.columns[self.k:]
        self.groups = []  # (dtype, lattice column positions, is_min, matrix)
        for dt in (np.int64, np.float64):
            js = [j for j, c in enumerate(lat) if DTYPES[c.type] == dt]
            if js:
                is_min = np.array([lat[j].lattice == "min" for j in js], np.bool_)
                self.groups.append([dt, js, is_min, np.empty((0, len(js)), dt)])
        self.indexes: dict = {}
        self._ensure(self.keys.capacity())

    def _ensure(self, cap: int) -> None:
        for g in self.groups:
            dt, js, is_min, mat = g
            if mat.shape[0] < cap:
                grown = np.empty((cap, len(js)), dt)
                grown[:mat.shape[0]] = mat
                hi = np.iinfo(np.int64).max if dt == np.int64 else np.inf
                lo = np.iinfo(np.int64).min if dt == np.int64 else -np.inf
                grown[mat.shape[0]:] = np.where(is_min, hi, lo)
                g[3] = grown

    def add(self, t: Table) -> Table:
        if t.n == 0:
            return t
        km = key_matrix(t.cols[:self.k], t.n)
        if not self.keys.fit(km):  # the keys went sparse: hash them from now on
            self.keys = HashKeys.of(self.keys.key_rows(0, self.keys.count))
            self.keys.fit(km)
        self._ensure(self.keys.capacity())
        start = self.keys.count
        changed = []
        for dt, js, is_min, mat in self.groups:
            cand = np.stack([t.cols[self.k + j].astype(dt) for j in js], axis=1)
            changed.append(self.keys.update(mat, km, cand, is_min))
        end = self.keys.count
        if end > start:  # the new keys' typed columns, from the stored key bits
            new = self.keys.key_rows(start, end)
            cols = [new[:, j].view(np.float64) if DTYPES[ty] == np.float64 else new[:, j].astype(DTYPES[ty])
                    for j, ty in enumerate(self.schema.types[:self.k])]
            self.keycols.append(cols, end - start)
        idx = _union(changed, self.keys.count)
        if len(idx):
            for key in [k for k in self.indexes if any(c >= self.k for c in k)]:
                del self.indexes[key]  # an index on a lattice column is stale once a value improved
        return self.view().take(idx)

    def view(self) -> Table:
        n = self.keys.count
        cols = [c[:n] for c in self.keycols.cols]
        lat = [None] * (self.schema.arity - self.k)
        for dt, js, is_min, mat in self.groups:
            for a, j in enumerate(js):
                lat[j] = mat[:n, a]
        return Table(cols + lat, n, self.indexes)

    full = view  # the driver's name for it


def _union(changed: list[np.ndarray], count: int) -> np.ndarray:
    """The sorted union of each value group's changed store indices (each already sorted):
    one group is its own answer; several are merged through a mask, not a sort."""
    if not changed:
        return np.empty(0, np.int64)
    if len(changed) == 1:
        return changed[0]
    mask = np.zeros(count, np.bool_)
    for c in changed:
        mask[c] = True
    return np.flatnonzero(mask)


def schemas_of(node: Node) -> dict[str, Schema]:
    return {n.attr("rel"): n.schema for n in node.attr("body").by_op("yield")}


def new_store(schema: Schema) -> SetRelation | LatticeRelation:
    return LatticeRelation(schema) if schema.is_lattice else SetRelation(schema)


def _keep_indexes(t: Table) -> None:
    if t.indexes is None:
        t.indexes = {}  # read every iteration: its join indexes are worth keeping


def fixpoint_loop(node: Node, exts: list[Table], ctx, claim: bool = False) -> SemiNaive[Table]:
    """The shared driver over this backend's stores for one fixpoint, its ext: inputs given
    (also what the distributed runtime drives, one loop per partition). With `claim` (one
    process only), joins feeding a relation emit only rows it lacks (claim_join.py)."""
    schemas = schemas_of(node)
    stores = {rel: new_store(schemas[rel]) for rel in node.attr("rels")}
    params = {f"ext:{ext}": t for ext, t in zip(node.attr("exts"), exts)}
    for t in params.values():
        _keep_indexes(t)
    sub = ctx.child(params)
    if claim:
        sub.claims = {jid: (c, stores[c.rel]) for jid, c in claims_of(node.attr("body"), schemas).items()}
    return SemiNaive(node.attr("body"), node.attr("rels"), stores, params,
                     lambda n, values: sub.eval(n, values), size=lambda t: t.n,
                     empty=lambda rel: Table.empty(schemas[rel]), on_fixed=_keep_indexes, probe=ctx.profile)


def _ext(node: Node, ins: list[Table], ext: str) -> Table:
    """The fixpoint input holding the static relation `ext` (after the recursive ones)."""
    return ins[len(node.attr("rels")) + list(node.attr("exts")).index(ext)]


def run_fixpoint(node: Node, ins: list[Table], ctx) -> Table:
    from dfl.backends.cpu.special import (closure_of, min_labels_of, run_closure, run_min_labels,
                                          run_shortest_paths, shortest_paths_of)

    rels = node.attr("rels")
    # the kernel follows the shape the compiler found (compiler/passes/recursion_shapes.py)
    spec = closure_of(node)
    if spec is not None:
        from dfl.backends.cpu.ops import distinct_rows

        init, edges = ins[0], _ext(node, ins, spec.ext)
        ctx.fixpoint_results[(node.id, rels[0])] = run_closure(spec, distinct_rows(init), edges)
        ctx.stats["closures"] = ctx.stats.get("closures", 0) + 1
        return Table([], 0)
    sp = shortest_paths_of(node)
    if sp is not None:
        from dfl.backends.cpu.ops import op_lattice_merge_table

        init = op_lattice_merge_table(ins[0], schemas_of(node)[rels[0]], ctx)
        res = run_shortest_paths(sp, init, _ext(node, ins, sp.ext))
        if res is not None:
            ctx.fixpoint_results[(node.id, rels[0])] = res
            ctx.stats["shortest_paths"] = ctx.stats.get("shortest_paths", 0) + 1
            return Table([], 0)
    ml = min_labels_of(node)
    if ml is not None:
        from dfl.backends.cpu.ops import op_lattice_merge_table

        init = op_lattice_merge_table(ins[0], schemas_of(node)[rels[0]], ctx)
        res = run_min_labels(ml, init, [_ext(node, ins, e) for e, _, _ in ml.edges])
        if res is not None:
            ctx.fixpoint_results[(node.id, rels[0])] = res
            ctx.stats["min_labels"] = ctx.stats.get("min_labels", 0) + 1
            return Table([], 0)
    loop = fixpoint_loop(node, ins[len(rels):], ctx, claim=True)
    iterations = loop.run(loop.seed(ins[:len(rels)]))
    ctx.stats["iterations"] = ctx.stats.get("iterations", 0) + iterations
    for rel in rels:
        v = loop.stores[rel].full()
        ctx.fixpoint_results[(node.id, rel)] = Table(v.cols, v.n)
    return Table([], 0)
