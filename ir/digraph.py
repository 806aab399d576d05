"""The few directed-graph algorithms every compile needs: topological order, strongly
connected components, reachability, a shortest path. They were networkx's; importing
networkx takes ~0.13 s, a third of a small `dfl run` (issue 13: a 3-row program end to end
in 0.3 s), and these are a page of textbook code over adjacency dicts.

A graph here is `succ`: node -> its successors, every node a key (`successors` builds it).
Orders are deterministic: they follow the keys' insertion order and, where a key
function is given, that key first.

Example: `topo_order(successors("abc", [("b", "a"), ("c", "a")]))` -> ["b", "c", "a"].
"""
from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

N = TypeVar("N", bound=Hashable)
Succ = Mapping[N, "list[N]"]


def successors(nodes: Iterable[N], edges: Iterable[tuple[N, N]]) -> dict[N, list[N]]:
    """The adjacency dict of `nodes` and `edges` (an edge's ends are added as nodes; a
    repeated edge is kept once)."""
    succ: dict[N, list[N]] = {n: [] for n in nodes}
    seen: set[tuple[N, N]] = set()
    for u, v in edges:
        succ.setdefault(u, [])
        succ.setdefault(v, [])
        if (u, v) not in seen:
            seen.add((u, v))
            succ[u].append(v)
    return succ


def predecessors(succ: Succ) -> dict[N, list[N]]:
    pred: dict[N, list[N]] = {n: [] for n in succ}
    for u, vs in succ.items():
        for v in vs:
            pred[v].append(u)
    return pred


def topo_order(succ: Succ, key: Callable[[N], Any] | None = None) -> list[N]:
    """Every node after its predecessors; among the nodes ready at once, the smallest
    `key` first (then the earliest added): networkx's lexicographical_topological_sort.
    A cycle is a ValueError."""
    indeg = {n: 0 for n in succ}
    for vs in succ.values():
        for v in vs:
            indeg[v] += 1
    index = {n: i for i, n in enumerate(succ)}
    rank = (lambda n: (key(n), index[n])) if key is not None else (lambda n: (index[n],))
    ready = [(rank(n), index[n], n) for n, d in indeg.items() if d == 0]
    heapq.heapify(ready)
    out: list[N] = []
    while ready:
        _, _, n = heapq.heappop(ready)
        out.append(n)
        for v in succ[n]:
            indeg[v] -= 1
            if indeg[v] == 0:
                heapq.heappush(ready, (rank(v), index[v], v))
    if len(out) != len(succ):
        raise ValueError("the graph has a cycle")
    return out


def reachable(succ: Succ, start: N) -> set[N]:
    """The nodes reachable from `start` by one edge or more (`start` itself only on a
    cycle through it): networkx's descendants, or ancestors given `predecessors(succ)`."""
    seen: set[N] = set()
    todo = deque(succ[start])
    while todo:
        n = todo.popleft()
        if n not in seen:
            seen.add(n)
            todo.extend(succ[n])
    return seen


def strongly_connected(succ: Succ) -> list[set[N]]:
    """The strongly connected components (Tarjan's algorithm, without recursion so a long
    chain of rules does not reach Python's recursion limit), each once."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    stack: list[N] = []
    on_stack: set[N] = set()
    out: list[set[N]] = []
    for root in succ:
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            n, it = work[-1]
            for v in it:
                if v not in index:
                    index[v] = low[v] = len(index)
                    stack.append(v)
                    on_stack.add(v)
                    work.append((v, iter(succ[v])))
                    break
                if v in on_stack:
                    low[n] = min(low[n], index[v])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[n])
                if low[n] == index[n]:
                    comp: set[N] = set()
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.add(m)
                        if m == n:
                            break
                    out.append(comp)
    return out


def shortest_path(succ: Succ, src: N, dst: N) -> list[N]:
    """The nodes of a shortest path src .. dst, both included (breadth-first: among paths
    of equal length, the one through the earliest-added edges). No path is a ValueError."""
    back: dict[N, N | None] = {src: None}
    todo = deque([src])
    while todo:
        n = todo.popleft()
        if n == dst:
            path = [n]
            while back[path[-1]] is not None:
                path.append(back[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for v in succ[n]:
            if v not in back:
                back[v] = n
                todo.append(v)
    raise ValueError(f"no path from {src!r} to {dst!r}")


def find_cycle(succ: Succ) -> list[N] | None:
    """The nodes of one cycle, from the first-added node that is on one (a self-loop is
    that node alone), or None."""
    comps = strongly_connected(succ)
    comp_of = {n: c for c in comps for n in c}
    for n in succ:
        if n in succ[n]:
            return [n]
        comp = comp_of[n]
        if len(comp) > 1:
            nxt = next(v for v in succ[n] if v in comp)
            return [n, *shortest_path(succ, nxt, n)[:-1]]
    return None
