"""Correlated body aggregates over a range: Graph -> Graph.

A body aggregate whose braces compare a local variable with a correlated one,

    session(u, ts) :- event(u, ts), p = max t : { event(u, t), t < ts }, ts - p > 1800.

lowers (compiler/lower.py, step_agg) to `aggregate(filter(join(seed, event)))`: every
correlated row (u, ts) against every event of its user, then `t < ts`, then one group per
correlated row. That is quadratic per key. Where the aggregate is one of min/max/count/sum
and the filter is one inequality between a right-side column and a left-side column, the
three nodes become one `range_aggregate(seed, event)` node: both sides sorted by (key,
value), each left row answered by a search in its key's run (max t < ts is the predecessor
of ts; count/sum a difference of running counts/sums), in memory near the inputs' size.
Then, where the seed is the outer rows' correlated columns made distinct and the answers
are joined back to the outer rows on them, the
outer rows are answered directly: `join(P, range_aggregate(distinct(map(P)), R))` becomes
`map(range_aggregate(P, R))` (`_fold`), with no dedup and no join back; for count/sum,
whose empty sets give 0 (lower.py adds those rows with an anti-join and a union), the op
then says so itself (`empty="zero"`: a row with 0 for a left row without a qualifying row).

Qualifies (everything else keeps the aggregate):
- `aggregate(filter(...(join(L, R))))`, the aggregate's keys exactly L's columns in order (the
  correlated variables: one group per left row), one aggregate of min, max, count or an
  int sum (a float sum is exactly rounded over its rows, which running sums are not), its
  argument a column of R (or none, for count);
- the filters (one per literal, above the join) hold one comparison `lt le gt ge` between a
  column of R and a column of L, or an expression over L's columns that cannot fail (`t >
  ts - 3600`: the op's bound is that expression), both int or both float (the order of string
  codes is not the strings' order); or two such comparisons of the same column of R, one
  from below and one from above (a window: `t > ts - 3600, t <= ts`), where a min/max must
  be of that column;
- the join and filters have no other reader (they are then dropped); besides the comparison,
  the filters may hold tests of one side's columns only that cannot fail (`t > 0`): they
  filter that side before the range_aggregate, as pushdown would before a join.

The cpu backend runs the sorted plan (backends/cpu/range_agg.py); the interpreter its
obvious definition; the cuda backend the join, filter and aggregate it replaces, on the
device (backends/cuda/ops.py: no device sort yet). Inside a fixpoint body the same
rewrite applies (before `seminaive`, which copies it per delta variant).

Example: the events of the outer row's user (key: column 0 of both sides) whose column 1
(t) is below the outer row's column 1 (ts); their max:

>>> import dfl
>>> from dfl.ir.text import print_graph
>>> g = dfl.compile('''input e(u: int, t: int)
... output s(u: int, t: int, p: int)
... s(u, ts, p) :- e(u, ts), p = max t : { e(u, t), t < ts }.''').graph
>>> print([l.split("  #")[0] for l in print_graph(g).splitlines() if "range_aggregate" in l][0])
n7 = range_aggregate(n2, n2) {left_keys=[0], right_keys=[0], value=1, cmp=["lt"], bound=[$1:int], aggs=[max($1:int)]} : (u: int, t: int, c2: int)
"""
from __future__ import annotations

from dataclasses import replace

from dfl.ir.builtin_sigs import may_fail
from dfl.ir.expr import Col, Fn, IRExpr, Lit, cols_used, conj, shift
from dfl.ir.graph import Graph, Node
from dfl.ir.types import Schema, Type

# `a OP b` read from b's side: b FLIP[OP] a
FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_FUNCS = ("min", "max", "count", "sum")


def range_aggregates(g: Graph) -> Graph:
    nodes = [n.with_attrs(body=range_aggregates(n.attr("body"))) if n.op == "fixpoint" else n for n in g.nodes]
    g = g.with_nodes(nodes)
    users = g.consumers()
    new: dict[str, list[Node]] = {}  # aggregate id -> the nodes in its place (side filters, the op)
    dropped: set[str] = set()
    for a in g.by_op("aggregate"):
        found = _match(g, a, users)
        if found is None:
            continue
        nodes, gone = found
        new[a.id] = nodes
        dropped |= gone
    if not new:
        return g
    return _fold(g.with_nodes(m for n in g.nodes if n.id not in dropped for m in new.get(n.id, [n])))


def _fold(g: Graph) -> Graph:
    """`join(P, range_aggregate(distinct(map(P)), R))` on the correlated columns, where the map
    only picks P's columns (lower.py's step_agg: the outer rows, their correlated values
    deduplicated, aggregated, joined back) becomes `map(range_aggregate(P, R))`: each outer
    row answered directly, with no dedup of its correlated values and no join back (a
    row's answer depends on its correlated values only; rows are a set, so answering equal
    values twice changes nothing)."""
    users = g.consumers()
    new: dict[str, list[Node]] = {}
    dropped: set[str] = set()
    for n in g.by_op("join"):
        p, a = (g.node(i) for i in n.inputs)
        zeros = _zeros(g, a, users)  # count/sum: a union with the zeros of the empty sets
        if zeros is not None:
            a, padding = zeros
        elif a.op != "range_aggregate" or users[a.id] != [n.id]:
            continue
        else:
            padding = []
        d = g.node(a.inputs[0])
        m = g.node(d.inputs[0]) if d.op == "distinct" else None
        if m is None or m.op != "map" or m.inputs != (p.id,) or not all(isinstance(e, Col) for e in m.attr("exprs")):
            continue
        picks = [e.index for e in m.attr("exprs")]  # correlated column k of the seed is P's column picks[k]
        lk, rk = n.attr("left_keys"), n.attr("right_keys")
        if sorted(rk) != list(range(len(picks))) or any(l != picks[r] for l, r in zip(lk, rk)):
            continue
        np_, vtype = p.schema.arity, a.schema.types[-1]
        direct = replace(a, inputs=(p.id, a.inputs[1]), schema=Schema(p.schema.columns + a.schema.columns[-1:]))
        direct = direct.with_attrs(left_keys=tuple(picks[k] for k in a.attr("left_keys")),
                                   bound=tuple(shift(b, dict(enumerate(picks))) for b in a.attr("bound")))
        if padding:
            direct = direct.with_attrs(empty="zero")
        exprs = tuple(Col(i, t) for i, t in enumerate(p.schema.types)) \
            + tuple(Col(i, p.schema.types[i]) for i in picks) + (Col(np_, vtype),)
        new[n.id] = [direct, replace(n, op="map", inputs=(a.id,), attrs=(("exprs", exprs),))]
        dropped |= {a.id} | {x.id for x in padding}
        d_users = [a.id] + [x.id for x in padding if x.op == "anti_join"]  # the seed's readers
        dropped |= {x.id for x in (d, m) if sorted(users[x.id]) == sorted(d_users if x is d else [d.id])}
    if not new:
        return g
    return g.with_nodes(x for n in g.nodes if n.id not in dropped for x in new.get(n.id, [n]))


def _zeros(g: Graph, u: Node, users: dict[str, list[str]]) -> tuple[Node, list[Node]] | None:
    """For `union(A, map(anti_join(seed, A)))`, lower.py's count/sum over an empty set made 0
    (the seed's rows without an answer, with a 0), read by one join: A and the padding nodes."""
    if u.op != "union" or len(u.inputs) != 2 or len(users[u.id]) != 1:
        return None
    a, z = (g.node(i) for i in u.inputs)
    if a.op != "range_aggregate" or a.attr("empty", "none") != "none" or z.op != "map":
        return None
    e = g.node(z.inputs[0])
    nl = a.schema.arity - 1
    keys = tuple(range(nl))
    if not (e.op == "anti_join" and e.inputs == (a.inputs[0], a.id) and e.attr("left_keys") == keys
            and e.attr("right_keys") == keys and sorted(users[a.id]) == sorted([e.id, u.id])
            and users[e.id] == [z.id] and users[z.id] == [u.id]):
        return None
    want = tuple(Col(i, t) for i, t in enumerate(a.schema.types[:nl]))
    if z.attr("exprs")[:nl] != want or z.attr("exprs")[nl:] != (Lit(0, Type.INT),):
        return None
    return a, [e, z, u]


def _match(g: Graph, a: Node, users: dict[str, list[str]]) -> tuple[list[Node], set[str]] | None:
    """The nodes replacing aggregate `a` (filters of one side, then the range_aggregate), and
    the ids of the nodes that become dead."""
    filters: list[Node] = []  # the rule's filters, one per literal, between the join and `a`
    cur = g.node(a.inputs[0])
    while cur.op == "filter" and users[cur.id] == [filters[-1].id if filters else a.id]:
        filters.append(cur)
        cur = g.node(cur.inputs[0])
    j = cur
    if not filters or j.op != "join" or users[j.id] != [filters[-1].id]:
        return None
    left, right = (g.node(i) for i in j.inputs)
    nl = left.schema.arity
    if tuple(a.attr("keys")) != tuple(Col(i, t) for i, t in enumerate(left.schema.types)):
        return None
    aggs = a.attr("aggs")
    if len(aggs) != 1:
        return None
    func, arg = aggs[0]
    if func == "count":
        arg = None  # count counts the distinct body rows, whatever its argument
    elif func not in _FUNCS or not (isinstance(arg, Col) and arg.index >= nl):
        return None
    elif arg.type not in ((Type.INT,) if func == "sum" else (Type.INT, Type.FLOAT)):
        return None
    parts = [c for f in filters for c in _conjuncts(f.attr("pred"))]
    # a test of one side's columns filters that side first (the rows it drops would meet no
    # row of the other); one that can fail stays where the rule put it: no rewrite then
    sides: tuple[list, list] = ([], [])
    two: list = []
    for c in parts:
        used = cols_used(c)
        if not used or may_fail(c):
            return None
        if max(used) < nl:
            sides[0].append(c)
        elif min(used) >= nl:
            sides[1].append(shift(c, {i: i - nl for i in used}))
        else:
            two.append(c)
    found = _comparisons(two, nl)
    if found is None:
        return None
    value, cmps, bounds = found
    if len(cmps) == 2 and func in ("min", "max") and arg.index - nl != value:
        return None  # a window's min/max of another column: no running scan answers it
    out: list[Node] = []
    ins = []
    for side, tests, suffix in ((left, sides[0], "l"), (right, sides[1], "r")):
        if not tests:
            ins.append(side.id)
            continue
        out.append(replace(filters[0], id=f"{a.id}.{suffix}", inputs=(side.id,), attrs=(("pred", conj(tests)),),
                           schema=side.schema))
        ins.append(out[-1].id)
    op = replace(a, op="range_aggregate", inputs=tuple(ins), attrs=(
        ("left_keys", j.attr("left_keys")), ("right_keys", j.attr("right_keys")), ("value", value),
        ("cmp", tuple(cmps)), ("bound", tuple(bounds)),
        ("aggs", ((func, None if arg is None else Col(arg.index - nl, arg.type)),))))
    return out + [op], {f.id for f in filters} | {j.id}


def _comparisons(two: list[IRExpr], nl: int) -> tuple[int, list[str], list[IRExpr]] | None:
    """The comparisons between the sides as (the right column compared, each op read from the
    right side, each bound: an expression over left columns), or None unless they are one
    comparison, or two bounding the same right column from below and above (a window)."""
    if not 1 <= len(two) <= 2:
        return None
    value, cmps, bounds = None, [], []
    for pred in two:
        if not (isinstance(pred, Fn) and pred.op in FLIP and len(pred.args) == 2):
            return None
        x, y = pred.args
        if x.type not in (Type.INT, Type.FLOAT):
            return None
        if isinstance(x, Col) and x.index >= nl and max(cols_used(y), default=nl) < nl:
            col, cmp, bound = x.index - nl, pred.op, y  # right OP left: as the op reads it
        elif isinstance(y, Col) and y.index >= nl and max(cols_used(x), default=nl) < nl:
            col, cmp, bound = y.index - nl, FLIP[pred.op], x  # left OP right: right FLIP[OP] left
        else:
            return None
        if value is not None and col != value:
            return None
        value = col
        cmps.append(cmp)
        bounds.append(bound)
    if len(cmps) == 2 and (cmps[0] in ("lt", "le")) == (cmps[1] in ("lt", "le")):
        return None  # two bounds from the same side: not a window
    return value, cmps, bounds


def _conjuncts(e: IRExpr) -> list[IRExpr]:
    if isinstance(e, Fn) and e.op == "and":
        return [c for x in e.args for c in _conjuncts(x)]
    return [e]
