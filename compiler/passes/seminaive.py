"""Semi-naive rewrite of every fixpoint body: Graph -> Graph.

A recursive rule reads `full:R` once per recursive atom. The rewrite makes one variant per
such use, reading `delta:R` (the rows new in the last iteration) there and `full:R` at the
other uses, and drops the naive original. The union of the variants derives every row the
naive rule derives from rows not yet all old, so the fixpoint is the same.

Example: `tc(x, y) :- tc(x, z), tc(z, y).` lowers to `join(full:tc, full:tc)` and becomes
`union(join(delta:tc, full:tc), join(full:tc, delta:tc))`.
"""
from __future__ import annotations

from dataclasses import replace

from dfl.ir import digraph
from dfl.ir.graph import Graph, Node


def seminaive(g: Graph) -> Graph:
    nodes = []
    for n in g.nodes:
        if n.op == "fixpoint":
            n = n.with_attrs(body=_rewrite_body(n.attr("body"), set(n.attr("rels"))))
        nodes.append(n)
    return g.with_nodes(nodes)


def _rewrite_body(body: Graph, rels: set[str]) -> Graph:
    params = body.by_op("param")
    if any(p.attr("name").startswith("delta:") for p in params):
        return body  # already semi-naive
    full_ids = {p.id: p for p in params if p.attr("name").startswith("full:") and p.attr("name")[5:] in rels}
    new_nodes: dict[str, Node] = {n.id: n for n in body.nodes}
    delta_of: dict[str, str] = {}
    for pid, p in full_ids.items():
        did = f"{pid}.delta"
        delta_of[pid] = did
        new_nodes[did] = replace(p, id=did, attrs=(("name", "delta:" + p.attr("name")[5:]),))
    succ = body.successors()
    pred = digraph.predecessors(succ)
    for y in body.by_op("yield"):
        union = body.node(y.inputs[0])
        outs: list[str] = []
        for rule_out in union.inputs:
            sub = digraph.reachable(pred, rule_out) | {rule_out}
            order = [n.id for n in body.nodes if n.id in sub]
            uses = [(c, pos) for c in order for pos, i in enumerate(body.node(c).inputs) if i in full_ids]
            if not uses:
                outs.append(rule_out)
                continue
            for k, (c, pos) in enumerate(uses):
                copy = ({c} | digraph.reachable(succ, c)) & sub
                rename = {old: f"{old}.d{k}" for old in copy}
                for old in order:
                    if old not in copy:
                        continue
                    n = body.node(old)
                    ins = [rename.get(i, i) for i in n.inputs]
                    if old == c:
                        ins[pos] = delta_of[n.inputs[pos]]
                    new_nodes[rename[old]] = replace(n, id=rename[old], inputs=tuple(ins))
                outs.append(rename[rule_out])
        new_nodes[union.id] = replace(union, inputs=tuple(outs))
    return _prune(Graph(tuple(new_nodes.values()), body.relations)).topo_sorted()


def _prune(g: Graph) -> Graph:
    """Drops nodes no yield depends on (the naive originals)."""
    pred = digraph.predecessors(g.successors())
    keep: set[str] = set()
    for y in g.by_op("yield"):
        keep |= digraph.reachable(pred, y.id) | {y.id}
    return g.with_nodes(n for n in g.nodes if n.id in keep)
