"""The cuda backend's lowering table: one device implementation per IR op.

Each takes the node, its input device tables and the run context, and returns a device
table; nothing comes back to the host but counters (the size of an output before it is
allocated) and what host functions need (pipeline.py). `exchange` is a pass-through in one
process: the columns stay where they are.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import Node
from dfl.ir.types import Column, Schema, Type
from dfl.backends.columnar.table import DTYPES
from dfl.backends.cuda import hashing as H
from dfl.backends.cuda.columns import DTable, concat, empty, full, gather, mask_rows, take
from dfl.backends.cuda.device import Device, kernel
from dfl.backends.cuda.group import reduce
from dfl.backends.cuda.pipeline import eval_exprs, run_steps
from dfl.runtime import limits


cuda = None  # numba.cuda, bound when a kernel is first compiled (device.Kernel): importing
#              this module imports no numba.cuda (a machine without it, or the simulator set later)

_TYPE_OF = {np.dtype(np.int64): Type.INT, np.dtype(np.float64): Type.FLOAT, np.dtype(np.bool_): Type.BOOL}


def types_of(t: DTable) -> list[Type]:
    """Column types for expression kernels (a string column is its int64 codes)."""
    return [_TYPE_OF[np.dtype(c.dtype)] for c in t.cols]


def op_source(node: Node, ins: list[DTable], ctx) -> DTable:
    t = ctx.inputs.get((node.attr("kind"), node.attr("rel")))
    return t if t is not None else empty(ctx.dev, node.schema)


def op_values(node: Node, ins: list[DTable], ctx) -> DTable:
    return ctx.upload(ctx.encode(node.attr("rows"), node.schema))


def op_param(node: Node, ins: list[DTable], ctx) -> DTable:
    return ctx.params[node.attr("name")]


def op_map(node: Node, ins: list[DTable], ctx) -> DTable:
    return run_steps(ctx, [("map", list(node.attr("exprs")))], ins[0], types_of(ins[0]))


def op_filter(node: Node, ins: list[DTable], ctx) -> DTable:
    t = ins[0]
    out = run_steps(ctx, [("filter", node.attr("pred"))], t, types_of(t))
    out.distinct = t.distinct
    return out


@kernel
def k_range_count(lo, hi, counts, total):
    i = cuda.grid(1)
    if i < lo.shape[0]:
        c = hi[i] - lo[i]
        if c < 0:
            c = 0
        counts[i] = c
        if c > 0:
            cuda.atomic.add(total, 0, c)


@kernel
def k_range_emit(lo, counts, cursor, rows, vals):
    i = cuda.grid(1)
    if i < lo.shape[0] and counts[i] > 0:
        at = cuda.atomic.add(cursor, 0, counts[i])
        for j in range(counts[i]):
            rows[at + j] = i
            vals[at + j] = lo[i] + j


@kernel
def k_list_count(ids, lens, counts, total):
    i = cuda.grid(1)
    if i < ids.shape[0]:
        c = lens[ids[i]]
        counts[i] = c
        if c > 0:
            cuda.atomic.add(total, 0, c)


@kernel
def k_list_emit(ids, offsets, counts, flat, cursor, rows, vals):
    i = cuda.grid(1)
    if i < ids.shape[0] and counts[i] > 0:
        at = cuda.atomic.add(cursor, 0, counts[i])
        o = offsets[ids[i]]
        for j in range(counts[i]):
            rows[at + j] = i
            vals[at + j] = flat[o + j]


def _generate(node: Node, t: DTable, ctx):
    """(row of each element, the elements) of the node's generator, on the device."""
    dev: Device = ctx.dev
    gen = node.attr("gen")
    args = eval_exprs(ctx, list(gen.args), t, types_of(t))
    n = t.n
    counts = dev.empty(n, np.int64)
    total = full(dev, 1, 0, np.int64)
    cursor = full(dev, 1, 0, np.int64)
    if gen.op == "range":
        dev.launch(k_range_count, n, args[0], args[1], counts, total)
        m = dev.scalar(total)
        limits.check_rows(m, limits.cpu_row_bytes(len(t.cols) + 1, 8))
        rows, vals = dev.empty(m, np.int64), dev.empty(m, np.int64)
        dev.launch(k_range_emit, n, args[0], counts, cursor, rows, vals)
        return rows, vals, m
    # a host generator (split): once per distinct argument combination, spread on the device
    from dfl.stdlib.builtins import BUILTINS

    ids, firsts, g = H.group_ids(dev, args, n)
    uniq = [dev.to_host(gather(dev, a, firsts, g)) for a in args]
    py = [ctx.pool.decode(u) if e.type.text else u.tolist() for u, e in zip(uniq, gen.args)]
    impl = BUILTINS[gen.op].impl
    lists = [list(impl(*combo)) for combo in zip(*py)]
    lens = np.array([len(x) for x in lists], np.int64)
    offsets = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64) if g else np.zeros(0, np.int64)
    flat_py = [v for x in lists for v in x]
    if gen.type.text:
        flat = ctx.pool.encode(flat_py) if flat_py else np.empty(0, np.int64)
    else:
        flat = np.asarray(flat_py, DTYPES[gen.type]) if flat_py else np.empty(0, DTYPES[gen.type])
    dev.launch(k_list_count, n, ids, dev.to_device(lens), counts, total)
    m = dev.scalar(total)
    rows, vals = dev.empty(m, np.int64), dev.empty(m, DTYPES[gen.type])
    dev.launch(k_list_emit, n, ids, dev.to_device(offsets), counts, dev.to_device(flat), cursor, rows, vals)
    return rows, vals, m


def op_flat_map(node: Node, ins: list[DTable], ctx) -> DTable:
    t = ins[0]
    rows, vals, m = _generate(node, t, ctx)
    out = take(ctx.dev, t, rows, m)
    out.cols.append(vals)
    return out


def op_join(node: Node, ins: list[DTable], ctx) -> DTable:
    left, right = ins
    lk, rk = node.attr("left_keys"), node.attr("right_keys")
    dev: Device = ctx.dev
    row_bytes = limits.cpu_row_bytes(len(left.cols) + len(right.cols), 16)
    check = lambda total: limits.check_rows(total, row_bytes)  # noqa: E731
    lcols, rcols = [left.cols[i] for i in lk], [right.cols[i] for i in rk]
    if right.n <= left.n:  # build on the smaller side, probe with the other (fused: one pass)
        li, ri, m = H.pairs(dev, rcols, right.n, lcols, left.n, check)
    else:
        ri, li, m = H.pairs(dev, lcols, left.n, rcols, right.n, check)
    return DTable([gather(dev, c, li, m) for c in left.cols] + [gather(dev, c, ri, m) for c in right.cols], m,
                  distinct=left.distinct and right.distinct)


@kernel
def k_is_zero(counts, out):
    i = cuda.grid(1)
    if i < counts.shape[0]:
        out[i] = counts[i] == 0


def op_anti_join(node: Node, ins: list[DTable], ctx) -> DTable:
    left, right = ins
    return anti(ctx.dev, left, right, node.attr("left_keys"), node.attr("right_keys"))


def anti(dev: Device, left: DTable, right: DTable, lk, rk) -> DTable:
    """left's rows with no row of right equal on the keys."""
    if not lk:
        return left if right.n == 0 else take(dev, left, dev.empty(0, np.int64), 0)
    ht, _ = H.build(dev, [right.cols[i] for i in rk], right.n)
    _, _, counts, _ = H.probe_counts(dev, ht, [left.cols[i] for i in lk], left.n)
    none = dev.empty(left.n, np.bool_)
    dev.launch(k_is_zero, left.n, counts, none)
    return mask_rows(dev, left, none)


def op_union(node: Node, ins: list[DTable], ctx) -> DTable:
    return concat(ctx.dev, ins, node.schema)


def op_distinct(node: Node, ins: list[DTable], ctx) -> DTable:
    return H.distinct(ctx.dev, ins[0])


def op_aggregate(node: Node, ins: list[DTable], ctx) -> DTable:
    dev: Device = ctx.dev
    limits.check_rows(ins[0].n, limits.cpu_row_bytes(len(node.attr("keys")) + len(node.attr("aggs")), 16))
    t = H.distinct(dev, ins[0])  # over the distinct combinations of matching tuples
    tys = types_of(t)
    keys = eval_exprs(ctx, list(node.attr("keys")), t, tys)
    if keys:
        ids, firsts, g = H.group_ids(dev, keys, t.n)
        out = [gather(dev, k, firsts, g) for k in keys]
    else:
        g = 1 if t.n else 0
        ids = full(dev, t.n, 0, np.int64)
        out = []
    aggs = node.attr("aggs")
    vals = eval_exprs(ctx, [e for _, e in aggs if e is not None], t, tys)
    it = iter(vals)
    for func, e in aggs:
        v = next(it) if e is not None else None
        out.append(reduce(dev, func, ids, v, t.n, g, e.type if e is not None else Type.INT,
                          ctx.ranks(), ctx.order()))
    return DTable(out, g, distinct=True)


def op_range_aggregate(node: Node, ins: list[DTable], ctx) -> DTable:
    """The join, filter and aggregate that compiler/passes/range_aggregates.py replaced, on the
    device: the same rows as the cpu's sorted plan, with the join's memory (no device sort yet)."""
    left, right = ins
    nl = len(left.cols)
    ltypes, rtypes = types_of(left), types_of(right)
    value = node.attr("value")
    ((func, arg),) = node.attr("aggs")
    both = Schema(tuple(Column(f"c{i}", t) for i, t in enumerate(ltypes + rtypes)))
    pair = Node(f"{node.id}.join", "join", node.inputs, (("left_keys", node.attr("left_keys")),
                                                         ("right_keys", node.attr("right_keys"))), both)
    tests = [Fn(c, (Col(nl + value, rtypes[value]), b), Type.BOOL)  # a bound reads left columns: the same indices
             for c, b in zip(node.attr("cmp"), node.attr("bound"))]
    pred = tests[0] if len(tests) == 1 else Fn("and", tuple(tests), Type.BOOL)
    kept = Node(f"{node.id}.filter", "filter", (pair.id,), (("pred", pred),), both)
    keys = tuple(Col(i, t) for i, t in enumerate(ltypes))
    agg = Node(node.id, "aggregate", (kept.id,), (("keys", keys), ("aggs", (
        (func, None if arg is None else Col(nl + arg.index, arg.type)),))), node.schema)
    out = op_aggregate(agg, [op_filter(kept, [op_join(pair, ins, ctx)], ctx)], ctx)
    if node.attr("empty") != "zero":
        return out
    # a count or sum of no row is 0: the left rows without an answer, with a 0 (as lower.py does)
    k = tuple(range(nl))
    missing = Node(f"{node.id}.empty", "anti_join", (node.inputs[0], node.id), (("left_keys", k), ("right_keys", k)),
                   Schema(both.columns[:nl]))
    zero = Node(f"{node.id}.zero", "map", (missing.id,), (("exprs", keys + (Lit(0, Type.INT),)),), node.schema)
    zeros = op_map(zero, [op_anti_join(missing, [left, out], ctx)], ctx)
    return op_union(Node(f"{node.id}.all", "union", (node.id, zero.id), (), node.schema), [out, zeros], ctx)


def op_lattice_merge(node: Node, ins: list[DTable], ctx) -> DTable:
    return lattice_merge(ctx, ins[0], node.schema)


def lattice_merge(ctx, t: DTable, schema) -> DTable:
    dev: Device = ctx.dev
    k = schema.key_arity
    if t.n == 0 and not dev.recording:
        return t
    if k == 0:
        g = 1 if t.n else 0
        ids, firsts = full(dev, t.n, 0, np.int64), full(dev, g, 0, np.int64)
    else:
        ids, firsts, g = H.group_ids(dev, t.cols[:k], t.n)
    cols = [gather(dev, c, firsts, g) for c in t.cols[:k]]
    for lat, c, typ in zip(schema.lattices, t.cols[k:], schema.types[k:]):
        cols.append(reduce(dev, lat, ids, c, t.n, g, typ, ctx.ranks(), ctx.order()))
    return DTable(cols, g, distinct=True)


def op_result(node: Node, ins: list[DTable], ctx) -> DTable:
    return ctx.fixpoint_results[(node.inputs[0], node.attr("rel"))]


def op_passthrough(node: Node, ins: list[DTable], ctx) -> DTable:
    return ins[0]


def op_fixpoint(node: Node, ins: list[DTable], ctx) -> DTable:
    return ctx.fixpoint(node, ins)  # fixpoint.py, through the plan's context (no import circle)


TABLE: dict[str, Callable[[Node, list[DTable], object], DTable]] = {
    "source": op_source, "values": op_values, "param": op_param, "map": op_map, "filter": op_filter,
    "flat_map": op_flat_map, "join": op_join, "anti_join": op_anti_join, "union": op_union,
    "distinct": op_distinct, "aggregate": op_aggregate, "lattice_merge": op_lattice_merge,
    "fixpoint": op_fixpoint, "result": op_result, "yield": op_passthrough, "sink": op_passthrough,
    "range_aggregate": op_range_aggregate,
    "persist": op_passthrough, "exchange": op_passthrough, "defer": op_passthrough,
}
