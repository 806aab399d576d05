"""Which map/filter nodes run as one fused kernel: maximal chains of them, each feeding only
the next. Host functions (strings) are hoisted from the first step of a chain only
(exprgen.py), so a node that calls one starts a new chain."""
from __future__ import annotations

from dfl.ir.graph import Graph, Node
from dfl.backends.cuda.exprgen import host_calls


def _calls_host(n: Node) -> bool:
    exprs = n.attr("exprs") if n.op == "map" else [n.attr("pred")]
    return any(host_calls(e, []) for e in exprs)


def chains_of(g: Graph) -> dict[str, tuple[Node, ...]]:
    """Chains of two or more nodes, by the id of their last node."""
    users = g.consumers()
    by_id = {n.id: n for n in g.nodes}
    out: dict[str, tuple[Node, ...]] = {}
    taken: set[str] = set()
    for n in reversed(g.nodes):
        if n.id in taken or n.op not in ("map", "filter"):
            continue
        chain = [n]
        while True:
            head = chain[0]
            prev = by_id.get(head.inputs[0])
            if (prev is None or prev.op not in ("map", "filter") or len(users.get(prev.id, [])) != 1
                    or prev.id in taken or _calls_host(head)):
                break
            chain.insert(0, prev)
        if len(chain) > 1:
            out[n.id] = tuple(chain)
            taken |= {c.id for c in chain}
    return out


def join_chains(g: Graph, chains: dict[str, tuple[Node, ...]]) -> dict[str, tuple[Node, tuple[Node, ...]]]:
    """Joins whose probe is fused with the map/filter chain after them (joinfuse.py): the
    join's only consumer starts the chain, and no step calls a host function. By the id of
    the chain's last node: (the join, the chain)."""
    users = g.consumers()
    by_id = {n.id: n for n in g.nodes}
    starts = {c[0].id: c for c in chains.values()}
    inner = {n.id for c in chains.values() for n in c}
    out = {}
    for j in g.by_op("join"):
        us = users.get(j.id, [])
        if len(us) != 1 or by_id[us[0]].op not in ("map", "filter"):
            continue
        first = by_id[us[0]]
        chain = starts.get(first.id) or ((first,) if first.id not in inner else None)
        if chain is None or any(_calls_host(n) for n in chain):
            continue
        out[chain[-1].id] = (j, chain)
    return out


def steps_of(chain: tuple[Node, ...]) -> list:
    return [("map", list(n.attr("exprs"))) if n.op == "map" else ("filter", n.attr("pred")) for n in chain]
