"""The cpu backend's lowering table: one columnar implementation per IR op.

Each takes the node, its input tables and the run context, and returns a Table. Joins,
anti-joins, distinct, aggregates and lattice merges go through the generic native kernels
(`kernels.py`); scalar expressions through numpy (`vexpr.py`).
"""
from __future__ import annotations

from typing import Callable

import numba
import numpy as np

from dfl.ir.expr import Col
from dfl.ir.graph import Node
from dfl.ir.types import Type
from dfl.backends.cpu import kernels as K
from dfl.backends.cpu.index import PARALLEL_ROWS, fresh_index, index_of, join_side
from dfl.backends.cpu.range_agg import range_aggregate
from dfl.backends.columnar.table import DTYPES, Table, concat, factorize_columns, key_matrix, pack, unpack
from dfl.runtime import limits


def op_source(node: Node, ins: list[Table], ctx) -> Table:
    t = ctx.inputs.get((node.attr("kind"), node.attr("rel")))
    return t if t is not None else Table.empty(node.schema)


def op_values(node: Node, ins: list[Table], ctx) -> Table:
    return ctx.encode(node.attr("rows"), node.schema)


def op_param(node: Node, ins: list[Table], ctx) -> Table:
    return ctx.params[node.attr("name")]


def op_map(node: Node, ins: list[Table], ctx) -> Table:
    t = ins[0]
    exprs = node.attr("exprs")
    # a map that keeps every input column as it is keeps distinct rows distinct
    keeps_all = t.distinct and {e.index for e in exprs if isinstance(e, Col)} >= set(range(len(t.cols)))
    return Table([ctx.ev.eval(e, t) for e in exprs], t.n, distinct=keeps_all)


def op_filter(node: Node, ins: list[Table], ctx) -> Table:
    t = ins[0]
    m = ctx.ev.eval(node.attr("pred"), t)
    return t if m.all() else t.mask(m)


def op_flat_map(node: Node, ins: list[Table], ctx) -> Table:
    t = ins[0]
    gen = node.attr("gen")
    # distinct input rows: the output is distinct once each row keeps each element once
    rows, vals, once = ctx.ev.generate(gen, t, once=t.distinct)
    out = t.take(rows)
    out.cols.append(vals.astype(DTYPES[gen.type], copy=False))
    out.distinct = t.distinct and once
    return out


def _pairs(left: Table, right: Table, lk: tuple[int, ...], rk: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs with equal keys: probe the index a long-lived side keeps (a fixpoint
    relation, a loop-invariant input), else build one on the smaller side. Pairs past the
    memory limit raise LimitExceeded before they are allocated (counted first)."""
    row_bytes = limits.cpu_row_bytes(len(left.cols) + len(right.cols), 16)
    if not lk:  # a cross product: its size is known before anything is built
        limits.check_rows(left.n * right.n, row_bytes)
        return np.repeat(np.arange(left.n), right.n), np.tile(np.arange(right.n), left.n)

    idx, probe_left = join_side(left, right, lk, rk)
    if probe_left:
        return idx.probe(key_matrix([left.cols[i] for i in lk], left.n), row_bytes)
    ri, li = idx.probe(key_matrix([right.cols[i] for i in rk], right.n), row_bytes)
    return li, ri


def _fresh_index(t: Table, keys: tuple[int, ...]):
    return fresh_index(t, keys)


def op_join(node: Node, ins: list[Table], ctx) -> Table:
    left, right = ins
    claim = ctx.claims.get(node.id) if getattr(ctx, "claims", None) else None
    if claim is not None:  # feeds its fixpoint's relation: only the rows it lacks (claim_join.py)
        from dfl.backends.cpu.claim_join import claim_join

        t = claim_join(node, left, right, claim, ctx)
        if t is not None:
            return t
    li, ri = _pairs(left, right, node.attr("left_keys"), node.attr("right_keys"))
    # each output row is a different (left row, right row) pair: distinct inputs make it distinct
    return Table([c[li] for c in left.cols] + [c[ri] for c in right.cols], len(li),
                 distinct=left.distinct and right.distinct)


def op_anti_join(node: Node, ins: list[Table], ctx) -> Table:
    left, right = ins
    lk, rk = node.attr("left_keys"), node.attr("right_keys")
    if not lk:
        return left if right.n == 0 else left.take(np.empty(0, np.int64))
    idx = index_of(right, rk) if right.indexes is not None else _fresh_index(right, rk)
    gids = idx.gids(key_matrix([left.cols[i] for i in lk], left.n))
    return left.mask(gids < 0)


def op_union(node: Node, ins: list[Table], ctx) -> Table:
    return concat([t for t in ins if t.n], node.schema) if any(t.n for t in ins) else Table.empty(node.schema)


def distinct_rows(t: Table) -> Table:
    if not t.cols:
        return Table([], min(t.n, 1), distinct=True)
    if t.n == 0 or t.distinct:
        return t
    if not _has_unique_column(t):  # e.g. a row id: the rows are distinct already
        _, first = factorize_columns(t.cols, t.n)
        if len(first) != t.n:
            t = t.take(first)
    return Table(t.cols, t.n, t.indexes, distinct=True)


def _has_unique_column(t: Table) -> bool:
    """A cheap test first: one integer column whose values are all different (checked with
    a bitmap when its range is dense) makes every row different."""
    for c in t.cols:
        if c.dtype == np.int64 and t.n > 1024:
            lo, hi = int(c.min()), int(c.max())
            if hi - lo + 1 <= 16 * t.n and K.all_distinct_dense(c, lo, hi - lo + 1):
                return True
    return False


def op_distinct(node: Node, ins: list[Table], ctx) -> Table:
    return distinct_rows(ins[0])


def _group(ids: np.ndarray, vals: np.ndarray, g: int, func: str, t: Type, ctx,
           keep: np.ndarray | None = None) -> np.ndarray:
    """One aggregate per group id 0 .. g-1; with `keep`, only for those ids (the others
    are empty groups of a dense id range, whose values mean nothing)."""
    sel = (lambda a: a) if keep is None else (lambda a: a[keep])
    if func == "count":
        return sel(np.bincount(ids, minlength=g)).astype(np.int64)
    if func == "sum":
        if t == Type.FLOAT:
            return sel(_float_sum(ids, vals, g))
        return sel(_int_sum(ids, vals.astype(np.int64, copy=False), g))
    if func == "mean":
        counts = sel(np.bincount(ids, minlength=g))
        if t == Type.FLOAT:
            return sel(_float_sum(ids, vals, g)) / counts
        hi, lo = K.group_sum_i128(ids, vals.astype(np.int64), g)
        return _int_mean(sel(hi), sel(lo), counts)
    if t.text:  # by code-point order: reduce the ranks, then back to codes
        ranks = ctx.pool.ranks()
        order = np.argsort(ranks)
        return order[sel(K.group_reduce(ids, ranks[vals], g, func == "min"))]
    if t == Type.FLOAT:
        return sel(K.group_reduce(ids, vals, g, func == "min"))
    return sel(K.group_reduce(ids, vals.astype(np.int64, copy=False), g, func == "min")).astype(DTYPES[t], copy=False)


def _int_sum(ids: np.ndarray, vals: np.ndarray, g: int) -> np.ndarray:
    """Per-thread partial sums when the rows are many and the groups few enough that each
    thread's array stays small against the input."""
    parts = numba.get_num_threads()
    if parts > 1 and len(ids) >= PARALLEL_ROWS and g * parts <= len(ids) // 4:
        return K.group_sum_i_parallel(ids, vals, g, parts)
    return K.group_sum_i(ids, vals, g)


def _float_sum(ids: np.ndarray, vals: np.ndarray, g: int) -> np.ndarray:
    """Exactly rounded sums per group; a group whose sum is not finite (an overflow, an
    infinity, a nan) is summed again by the language's rules (stdlib/floatsum.py)."""
    out = K.group_sum_f(ids, vals, g)
    bad = ~np.isfinite(out)
    if bad.any():
        from dfl.stdlib.floatsum import exact_sum

        for k in np.nonzero(bad)[0]:
            out[k] = exact_sum(vals[ids == k].tolist())
    return out


def _int_mean(hi: np.ndarray, lo: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Exact int sum (128-bit hi, lo) / count, correctly rounded (as Python's int / int)."""
    small = lo.view(np.int64)
    out = small / counts
    # beyond 2**53 a float conversion would round twice: divide exactly in Python there
    big = (hi != (small >> 63)) | (np.abs(small) > (1 << 53))
    for i in np.nonzero(big)[0]:
        out[i] = ((int(hi[i]) << 64) + int(lo[i])) / int(counts[i])
    return out


def op_aggregate(node: Node, ins: list[Table], ctx) -> Table:
    # group ids, key and value columns per input row: the grouping's working memory
    limits.check_rows(ins[0].n, limits.cpu_row_bytes(len(node.attr("keys")) + len(node.attr("aggs")), 16))
    t = distinct_rows(ins[0])  # over the distinct combinations of matching tuples
    keys = [ctx.ev.eval(e, t) for e in node.attr("keys")]
    aggs = node.attr("aggs")
    keep = None  # with dense group ids: which of the span's ids have rows
    if keys and t.n:
        packed = pack(keys)
        if packed is not None and packed[1] <= 2 * t.n + 4096:
            # dense integer keys: the packed key is the group id, no factorizing pass;
            # empty ids are dropped at the end
            ids, g, radix = packed
            counts = np.bincount(ids, minlength=g)
            keep = np.flatnonzero(counts)
            out = [v.astype(k.dtype, copy=False) for v, k in zip(unpack(keep, radix), keys)]
        else:
            ids, first = factorize_columns(keys, t.n)
            g = len(first)
            out = [k[first] for k in keys]
    elif keys:
        ids, g, out = np.empty(0, np.int64), 0, [k[:0] for k in keys]
    else:
        g = 1 if t.n else 0
        ids = np.zeros(t.n, np.int64)
        out = []
    for func, e in aggs:
        if func == "count" and keep is not None:
            out.append(counts[keep].astype(np.int64))
            continue
        vals = ctx.ev.eval(e, t) if e is not None else None
        out.append(_group(ids, vals, g, func, e.type if e is not None else Type.INT, ctx, keep))
    return Table(out, len(keep) if keep is not None else g, distinct=True)


def op_range_aggregate(node: Node, ins: list[Table], ctx) -> Table:
    return range_aggregate(node, ins[0], ins[1], distinct_rows, ctx.ev)  # sorted, not joined: range_agg.py


def op_lattice_merge(node: Node, ins: list[Table], ctx) -> Table:
    return op_lattice_merge_table(ins[0], node.schema, ctx)


def op_lattice_merge_table(t: Table, schema, ctx) -> Table:
    k = schema.key_arity
    if t.n == 0:
        return t
    if k == 0:
        ids, first = np.zeros(t.n, np.int64), np.zeros(1, np.int64)
    else:
        ids, first = factorize_columns(t.cols[:k], t.n)
    g = len(first)
    cols = [c[first] for c in t.cols[:k]]
    for lat, c, typ in zip(schema.lattices, t.cols[k:], schema.types[k:]):
        cols.append(_group(ids, c, g, lat, typ, ctx))
    return Table(cols, g)


def op_result(node: Node, ins: list[Table], ctx) -> Table:
    return ctx.fixpoint_results[(node.inputs[0], node.attr("rel"))]


def op_passthrough(node: Node, ins: list[Table], ctx) -> Table:
    return ins[0]


def op_fixpoint(node: Node, ins: list[Table], ctx) -> Table:
    return ctx.fixpoint(node, ins)  # fixpoint.py, through the plan's Context (no import circle)


TABLE: dict[str, Callable[[Node, list[Table], object], Table]] = {
    "source": op_source, "values": op_values, "param": op_param, "map": op_map, "filter": op_filter,
    "flat_map": op_flat_map, "join": op_join, "anti_join": op_anti_join, "union": op_union,
    "distinct": op_distinct, "aggregate": op_aggregate, "lattice_merge": op_lattice_merge,
    "fixpoint": op_fixpoint, "result": op_result, "yield": op_passthrough, "sink": op_passthrough,
    "range_aggregate": op_range_aggregate,
    "persist": op_passthrough, "exchange": op_passthrough, "defer": op_passthrough,
}
