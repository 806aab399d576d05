"""Projection push-down below joins: Graph -> Graph.

A join emits every column of both sides, but the rule's head (a `map` after the join)
often reads a few. Where that is safe, each side is first cut to the columns the join's
key and its consumers read, so the join gathers, and any exchange before it moves
(compiler/placement.py), only those.

Safe means duplicates do not matter: cutting columns can make equal rows of rows that
differed in a column nobody reads, so the rows must reach a dedup (`distinct`, a lattice
merge, a recursive relation) before anything counts them. An aggregate counts the
distinct combinations of the whole body, so a join feeding an aggregate keeps all its
columns; so does one feeding an output directly.

Example: `p(x, z) :- e(x, y, w), f(y, z, v).` is `map[$0, $4](join(e, f))`; it becomes
`map[$0, $3](join(map[$0, $1](e), map[$0, $1](f)))`: w and v are never moved.

Top-level joins only: inside a recursion the semi-naive variants share their inputs.
"""
from __future__ import annotations

from dataclasses import replace

from dfl.ir.expr import Col, cols_used, shift
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import OPS
from dfl.ir.types import Schema

# row by row: each output row comes from input rows (join: linear in each side)
_PASS_THROUGH = tuple(op for op, s in OPS.items() if s.linear) + ("join",)
# dedups that do not count: an aggregate dedups too, but counts the distinct rows it is given
_DEDUP = tuple(op for op, s in OPS.items() if s.dedups and s.monotone)


def prune(g: Graph) -> Graph:
    consumers = g.consumers()
    out: list[Node] = []
    rewrite: dict[str, dict[int, int]] = {}  # join id -> old column -> new column
    for n in g.nodes:
        if n.op == "map" and n.inputs[0] in rewrite:
            m = rewrite[n.inputs[0]]
            out.append(n.with_attrs(exprs=tuple(shift(e, m) for e in n.attr("exprs"))))
            continue
        cut = _cut(g, n, consumers) if n.op == "join" else None
        if cut is None:
            out.append(n)
            continue
        keep_l, keep_r = cut
        left, right = (g.node(i) for i in n.inputs)
        lw = left.schema.arity
        ins = []
        for side, keep, suffix in ((left, keep_l, "l"), (right, keep_r, "r")):
            if len(keep) == side.schema.arity:
                ins.append(side.id)
                continue
            cols = tuple(side.schema.columns[i] for i in keep)
            out.append(Node(f"{n.id}.p{suffix}", "map", (side.id,),
                            (("exprs", tuple(Col(i, side.schema.types[i]) for i in keep)),),
                            Schema(cols), side.stratum, True, n.span, n.annotations))
            ins.append(f"{n.id}.p{suffix}")
        mapping = {old: new for new, old in enumerate(keep_l)}
        mapping.update({lw + old: len(keep_l) + new for new, old in enumerate(keep_r)})
        schema = Schema(tuple(n.schema.columns[i] for i in sorted(mapping)))
        out.append(replace(n, inputs=tuple(ins), schema=schema).with_attrs(
            left_keys=tuple(keep_l.index(k) for k in n.attr("left_keys")),
            right_keys=tuple(keep_r.index(k) for k in n.attr("right_keys"))))
        rewrite[n.id] = mapping
    return g.with_nodes(out)


def _cut(g: Graph, n: Node, consumers: dict[str, list[str]]) -> tuple[list[int], list[int]] | None:
    """The columns of each side to keep, or None when the join must keep them all."""
    users = [g.node(c) for c in consumers.get(n.id, [])]
    if not users or any(u.op != "map" for u in users):
        return None
    if not all(_tolerant(g, u, consumers) for u in users):
        return None
    used: set[int] = set()
    for u in users:
        for e in u.attr("exprs"):
            used |= cols_used(e)
    lw = g.node(n.inputs[0]).schema.arity
    used |= set(n.attr("left_keys")) | {lw + k for k in n.attr("right_keys")}
    keep_l = sorted(c for c in used if c < lw)
    keep_r = sorted(c - lw for c in used if c >= lw)
    if len(keep_l) + len(keep_r) == n.schema.arity:
        return None
    return keep_l, keep_r


def _tolerant(g: Graph, n: Node, consumers: dict[str, list[str]]) -> bool:
    """Do all rows from n reach a dedup before anything counts or outputs them?"""
    for c_id in consumers.get(n.id, []):
        c = g.node(c_id)
        if c.op in _DEDUP:
            continue
        if c.op == "anti_join" and c.inputs[1] == n.id and c.inputs[0] != n.id:
            continue  # the right side of a negation is only tested for presence
        if c.op in _PASS_THROUGH or (c.op == "anti_join" and c.inputs[0] == n.id):
            if not _tolerant(g, c, consumers):
                return False
            continue
        return False  # aggregate, sink, persist, defer, ...: they see every row
    return True
