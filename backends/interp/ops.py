"""The interpreter's lowering table: one function per IR op, (node, input relations) -> Rel.

Written to be obviously correct: it defines the semantics every other backend is tested against.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from operator import itemgetter
from typing import Any, Callable

from dfl.ir.graph import Node
from dfl.ir.types import Type
from dfl.backends.interp.exprs import compile_expr, filter_function, row_function
from dfl.backends.interp.relation import Rel, key_fn
from dfl.runtime import limits
from dfl.ir.values import wrap64
from dfl.stdlib.floatsum import exact_sum


def op_values(node: Node, ins: list[Rel], ctx) -> Rel:
    return Rel(list(node.attr("rows")))


def op_map(node: Node, ins: list[Rel], ctx) -> Rel:
    return Rel(ctx.compiled(node, "exprs", row_function)(ins[0].rows))


def op_filter(node: Node, ins: list[Rel], ctx) -> Rel:
    return Rel(ctx.compiled(node, "pred", filter_function)(ins[0].rows))


def op_flat_map(node: Node, ins: list[Rel], ctx) -> Rel:
    g = ctx.compiled(node, "gen", compile_expr)
    room = limits.room_rows(limits.py_row_bytes(node.schema.arity))
    if room is None:
        return Rel([r + (v,) for r in ins[0] for v in g(r)])
    out: list[tuple] = []
    for r in ins[0]:
        vals = g(r)  # a range or a list: its length is known before its rows are made
        if len(out) + len(vals) > room:
            raise limits.exceeded(len(out) + len(vals), limits.py_row_bytes(node.schema.arity), at_least=True)
        out.extend(r + (v,) for v in vals)
    return Rel(out)


def op_join(node: Node, ins: list[Rel], ctx) -> Rel:
    left, right = ins
    lk, rk = node.attr("left_keys"), node.attr("right_keys")
    row_bytes = limits.py_row_bytes(node.schema.arity)
    if not lk:  # a cross product: its size is known before anything is built
        limits.check_rows(len(left) * len(right), row_bytes)
    # rows that fit under the memory limit: checked once per outer row, so a join that
    # would pass it stops within one outer row's matches of the limit
    room = limits.room_rows(row_bytes)
    out: list[tuple] = []
    # probe the side that has (or is cheaper to give) an index; iterate the other
    if right.has_index(rk) or (not left.has_index(lk) and len(left) <= len(right)):
        idx, kf = right.index(rk), key_fn(lk)
        for l in left:
            for r in idx.get(kf(l), ()):
                out.append(l + r)
            if room is not None and len(out) > room:
                raise limits.exceeded(len(out), row_bytes, at_least=True)
    else:
        idx, kf = left.index(lk), key_fn(rk)
        for r in right:
            for l in idx.get(kf(r), ()):
                out.append(l + r)
            if room is not None and len(out) > room:
                raise limits.exceeded(len(out), row_bytes, at_least=True)
    return Rel(out)


def op_anti_join(node: Node, ins: list[Rel], ctx) -> Rel:
    left, right = ins
    idx, kf = right.index(node.attr("right_keys")), key_fn(node.attr("left_keys"))
    return Rel([l for l in left if not idx.get(kf(l))])


def op_union(node: Node, ins: list[Rel], ctx) -> Rel:
    return Rel([r for rel in ins for r in rel])


def op_distinct(node: Node, ins: list[Rel], ctx) -> Rel:
    return Rel(list(dict.fromkeys(ins[0])))


def op_lattice_merge(node: Node, ins: list[Rel], ctx) -> Rel:
    k = node.attr("key_arity")
    merges = [min if l == "min" else max for l in node.attr("lattices")]
    best: dict[tuple, tuple] = {}
    for r in ins[0]:
        key = r[:k]
        old = best.get(key)
        best[key] = r if old is None else key + tuple(m(a, b) for m, a, b in zip(merges, old[k:], r[k:]))
    return Rel(list(best.values()))


def _sum(vals: list, t: Type) -> Any:
    if t == Type.FLOAT:
        return exact_sum(vals)  # exactly rounded: independent of row order
    return wrap64(sum(vals))


def _mean(vals: list, t: Type) -> float:
    if t == Type.FLOAT:
        return exact_sum(vals) / len(vals)
    return sum(vals) / len(vals)


AGG_FUNCS: dict[str, Callable[[list, Type], Any]] = {
    "count": lambda vals, t: len(vals),
    "sum": _sum,
    "min": lambda vals, t: min(vals),
    "max": lambda vals, t: max(vals),
    "mean": _mean,
}


def op_aggregate(node: Node, ins: list[Rel], ctx) -> Rel:
    # each input row's key tuple and its place in a group's list: the grouping's working memory
    limits.check_rows(len(ins[0]), limits.py_row_bytes(len(node.attr("keys")) + 1))
    keys = [compile_expr(e) for e in node.attr("keys")]
    aggs = [(f, None if e is None else compile_expr(e), None if e is None else e.type) for f, e in node.attr("aggs")]
    groups: dict[tuple, list[tuple]] = {}
    for r in dict.fromkeys(ins[0]):  # over the distinct combinations of matching tuples
        groups.setdefault(tuple(k(r) for k in keys), []).append(r)
    out = []
    for key, rows in groups.items():
        vals = []
        for func, f, t in aggs:
            vals.append(AGG_FUNCS[func]([f(r) for r in rows] if f else rows, t))
        out.append(key + tuple(vals))
    return Rel(out)


def op_range_aggregate(node: Node, ins: list[Rel], ctx) -> Rel:
    """For each distinct left row, the aggregate over the distinct right rows of its key whose
    `value` column compares by each of `cmp` with the left row's `bound` expressions: the
    aggregate over filter(join(left, right)) that compiler/passes/range_aggregates.py
    replaced. Each key's rows sorted by value, the qualifying ones are a slice found by
    bisection (what bisect finds is what the comparison keeps: `v < b` for the first
    bisect_left(vs, b) values)."""
    left, right = ins
    ((func, e),) = node.attr("aggs")
    arg = (lambda r: r) if e is None else compile_expr(e)
    value, tests = node.attr("value"), [(c, compile_expr(b)) for c, b in zip(node.attr("cmp"), node.attr("bound"))]
    rkey, lkey = key_fn(node.attr("right_keys")), key_fn(node.attr("left_keys"))
    groups: dict[tuple, list[tuple]] = {}
    for r in dict.fromkeys(right):
        if r[value] == r[value]:  # a NaN compares with nothing
            groups.setdefault(rkey(r), []).append(r)
    sorted_groups = {}
    for k, rows in groups.items():
        rows.sort(key=itemgetter(value))
        sorted_groups[k] = ([r[value] for r in rows], [arg(r) for r in rows])
    out = []
    zero = node.attr("empty") == "zero"  # a count or sum over no row is 0 (else: no row)
    for l in dict.fromkeys(left):
        g = sorted_groups.get(lkey(l))
        bs = [b(l) for _, b in tests]
        if g is None or any(b != b for b in bs):
            if zero:
                out.append(l + (0,))
            continue
        vs, args = g
        lo, hi = 0, len(vs)
        for (cmp, _), b in zip(tests, bs):
            if cmp in ("lt", "le"):
                hi = min(hi, (bisect_left if cmp == "lt" else bisect_right)(vs, b))
            else:
                lo = max(lo, (bisect_right if cmp == "gt" else bisect_left)(vs, b))
        if lo < hi or zero:  # a count or sum of no row: 0
            out.append(l + (AGG_FUNCS[func](args[lo:hi], None if e is None else e.type),))
    return Rel(out)


def op_source(node: Node, ins: list[Rel], ctx) -> Rel:
    rows = list(ctx.inputs.get((node.attr("kind"), node.attr("rel")), ()))
    floats = [i for i, t in enumerate(node.schema.types) if t == Type.FLOAT]
    return Rel(_one_nan(rows, floats) if floats else rows)


def _one_nan(rows: list[tuple], floats: list[int]) -> list[tuple]:
    """Rows read from files or given by the caller hold a NaN object of their own each:
    Python's sets tell them apart, so two `nan` rows would not dedup (the cpu target's do,
    comparing bits). Every NaN becomes the one `math.nan`, as computed values already are
    (exprs.py)."""
    out = rows
    for k, r in enumerate(rows):
        if any(r[i] != r[i] for i in floats):
            if out is rows:
                out = list(rows)
            out[k] = tuple(math.nan if i in floats and v != v else v for i, v in enumerate(r))
    return out


def op_param(node: Node, ins: list[Rel], ctx) -> Rel:
    return ctx.params[node.attr("name")]


def op_result(node: Node, ins: list[Rel], ctx) -> Rel:
    return ctx.fixpoint_results[(node.inputs[0], node.attr("rel"))]


def op_passthrough(node: Node, ins: list[Rel], ctx) -> Rel:
    return ins[0]


def op_fixpoint(node: Node, ins: list[Rel], ctx) -> Rel:
    from dfl.backends.interp.fixpoint import run_fixpoint

    return run_fixpoint(node, ins, ctx)


TABLE: dict[str, Callable[[Node, list[Rel], Any], Rel]] = {
    "source": op_source, "values": op_values, "param": op_param, "map": op_map, "filter": op_filter,
    "flat_map": op_flat_map, "join": op_join, "anti_join": op_anti_join, "union": op_union,
    "distinct": op_distinct, "aggregate": op_aggregate, "lattice_merge": op_lattice_merge,
    "fixpoint": op_fixpoint, "result": op_result, "yield": op_passthrough, "sink": op_passthrough,
    "range_aggregate": op_range_aggregate,
    "persist": op_passthrough, "exchange": op_passthrough, "defer": op_passthrough,
}
