"""Filter push-down through joins: Graph -> Graph.

A filter above a join whose conjuncts read columns of one side only is split: those
conjuncts filter that side before the join (fewer rows to hash and probe), the rest stay
above. Conjuncts that can fail at run time (a division, log, to_int, …) stay where the
rule put them, so no row the join would have dropped can raise an error.

Example: `filter(join(fact, dim), v >= 300 and w < 70)` becomes
`join(filter(fact, v >= 300), filter(dim, w < 70))`.
"""
from __future__ import annotations

from dataclasses import replace

from dfl.ir.builtin_sigs import may_fail
from dfl.ir.expr import Fn, IRExpr, cols_used, conj, shift
from dfl.ir.graph import Graph, Node



def pushdown(g: Graph) -> Graph:
    nodes = [n.with_attrs(body=pushdown(n.attr("body"))) if n.op == "fixpoint" else n for n in g.nodes]
    g = g.with_nodes(nodes)
    while True:
        out = _step(g)
        if out is None:
            return g
        g = out


def _conjuncts(e: IRExpr) -> list[IRExpr]:
    if isinstance(e, Fn) and e.op == "and":
        return [c for a in e.args for c in _conjuncts(a)]
    return [e]


def _step(g: Graph) -> Graph | None:
    """One push of one filter; None when there is nothing left to push."""
    users = g.consumers()
    for f in g.nodes:
        if f.op != "filter":
            continue
        j = g.node(f.inputs[0])
        if j.op != "join" or len(users[j.id]) != 1:
            continue
        nl = g.node(j.inputs[0]).schema.arity
        parts = _conjuncts(f.attr("pred"))
        left = [c for c in parts if not may_fail(c) and cols_used(c) and max(cols_used(c)) < nl]
        right = [c for c in parts if not may_fail(c) and cols_used(c) and min(cols_used(c)) >= nl]
        if not left and not right:
            continue
        rest = [c for c in parts if c not in left and c not in right]
        new: dict[str, Node] = {}
        ins = list(j.inputs)
        if left:
            lid = f"{f.id}.l"
            src = g.node(j.inputs[0])
            new[lid] = replace(f, id=lid, inputs=(src.id,), attrs=(("pred", conj(left)),), schema=src.schema)
            ins[0] = lid
        if right:
            rid = f"{f.id}.r"
            src = g.node(j.inputs[1])
            mapping = {i: i - nl for i in range(nl, nl + src.schema.arity)}
            pred = conj([shift(c, mapping) for c in right])
            new[rid] = replace(f, id=rid, inputs=(src.id,), attrs=(("pred", pred),), schema=src.schema)
            ins[1] = rid
        joined = replace(j, inputs=tuple(ins))
        nodes: list[Node] = []
        for n in g.nodes:
            if n.id == j.id:
                nodes.extend(new.values())
                nodes.append(joined)
            elif n.id == f.id:
                if rest:
                    nodes.append(n.with_attrs(pred=conj(rest)))
            elif not rest and f.id in n.inputs:  # the filter is gone: its consumers read the join
                nodes.append(replace(n, inputs=tuple(j.id if i == f.id else i for i in n.inputs)))
            else:
                nodes.append(n)
        return g.with_nodes(nodes)
    return None
