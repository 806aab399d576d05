"""Data structures chosen from what the compiler knows about a recursive stratum.

The generic fixpoint (hash sets, growing join indexes) runs every recursion. Some shapes
have a much better evaluation; the compiler finds them (compiler/passes/recursion_shapes.py,
the program never says) and annotates the fixpoint with its `shape`, from which the cpu
backend picks these kernels:

- *linear closure*: one binary relation R, its recursive rule extending R by one edge of a
  static relation E (`R(x, z) :- R(x, y), E(y, z).`, or the mirror `R(x, z) :- E(x, y),
  R(y, z).`), nothing else in the body. R is then "for each x, every node reachable from
  R's initial rows for x along E", computed per source by a breadth-first search over a
  CSR adjacency with a visited bitset (dense node ids), sources in parallel.
- *shortest paths*: one relation D(node, d: min<T>) whose recursive rule adds one weighted
  edge of a static relation E (`D(y, d + w) :- D(x, d), E(x, y, w).`). When no weight is
  negative, D is the multi-source shortest distance from D's initial rows: Dijkstra with a
  binary heap over a CSR adjacency. With a negative weight the generic fixpoint runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from dfl.ir.graph import Node
from dfl.backends.cpu import kernels as K
from dfl.backends.columnar.table import Table, factorize_columns
from dfl.runtime import limits


@dataclass(frozen=True)
class Closure:
    rel: str
    ext: str
    forward: bool  # True: R(x, z) :- R(x, y), E(y, z); False: R(x, z) :- E(x, y), R(y, z)

    def describe(self) -> str:
        side = "right" if self.forward else "left"
        return (f"linear closure of {self.rel} over {self.ext} (extended at the {side}): "
                f"BFS per source, CSR adjacency, visited bitset, sources in parallel")


def closure_of(fix: Node) -> Closure | None:
    """The closure kernel's spec, from the fixpoint's `shape` (compiler/passes/recursion_shapes.py)."""
    shape = fix.attr("shape")
    if shape is None or shape[0] != "closure":
        return None
    return Closure(fix.attr("rels")[0], shape[1], shape[2] == "right")


def run_closure(spec: Closure, init: Table, edges: Table) -> Table:
    """All rows of the closure: init's rows extended along edges until nothing changes."""
    if not spec.forward:  # the mirror image: close the reversed relations, then swap back
        t = run_closure(Closure(spec.rel, spec.ext, True), Table(init.cols[::-1], init.n),
                        Table(edges.cols[::-1], edges.n))
        return Table(t.cols[::-1], t.n)
    if init.n == 0:
        return init
    dtype = init.cols[0].dtype
    # dense node ids over everything that can appear as a node
    nodes_all = np.concatenate([init.cols[1], edges.cols[0], edges.cols[1]])
    ids, first = factorize_columns([nodes_all], len(nodes_all))
    values = nodes_all[first]
    n_nodes = len(values)
    tgt = ids[:init.n]
    esrc, edst = ids[init.n:init.n + edges.n], ids[init.n + edges.n:]
    order, adj_off = K.group_order(esrc, n_nodes)  # the CSR adjacency
    adj = edst[order]
    sid, sfirst = factorize_columns([init.cols[0]], init.n)
    sources = init.cols[0][sfirst]
    sorder, src_off = K.group_order(sid, len(sources))
    src_targets = tgt[sorder]
    counts = _closure_counts(src_off, src_targets, adj_off, adj, n_nodes)
    out_off = np.zeros(len(sources) + 1, np.int64)
    np.cumsum(counts, out=out_off[1:])
    limits.check_rows(int(out_off[-1]), limits.cpu_row_bytes(3))  # counted: check before the rows are built
    empty = np.empty(0, np.int64)
    out = np.empty(out_off[-1], np.int64)
    K.closure_bfs(src_off, src_targets, adj_off, adj, n_nodes, out_off, out, False)
    col0 = np.repeat(sources, counts).astype(dtype, copy=False)
    return Table([col0, values[out].astype(dtype, copy=False)], len(out))


COUNT_CHUNKS = 16  # the counting pass in pieces, so a result past the memory limit stops early


def _closure_counts(src_off: np.ndarray, src_targets: np.ndarray, adj_off: np.ndarray, adj: np.ndarray,
                    n_nodes: int) -> np.ndarray:
    """Reachable nodes per source. Under a memory limit the sources are counted in
    COUNT_CHUNKS pieces (each still parallel), and a running total past the room left stops
    the count there: a closure of billions of pairs is refused after a piece of its count,
    not after all of it."""
    empty = np.empty(0, np.int64)
    n_src = len(src_off) - 1
    room = limits.room_rows(limits.cpu_row_bytes(3))
    if room is None or n_src < 2 * COUNT_CHUNKS:
        return K.closure_bfs(src_off, src_targets, adj_off, adj, n_nodes, empty, empty, True)
    counts = np.empty(n_src, np.int64)
    total = 0
    bounds = np.linspace(0, n_src, COUNT_CHUNKS + 1).astype(np.int64)
    for a, b in zip(bounds[:-1], bounds[1:]):
        counts[a:b] = K.closure_bfs(src_off[a:b + 1], src_targets, adj_off, adj, n_nodes, empty, empty, True)
        total += int(counts[a:b].sum())
        if total > room:
            raise limits.exceeded(total, limits.cpu_row_bytes(3), at_least=True)
    return counts


@dataclass(frozen=True)
class ShortestPaths:
    rel: str
    ext: str
    # positions in E of (source, destination, weight)
    e_src: int
    e_dst: int
    e_w: int

    def describe(self) -> str:
        return (f"shortest paths: {self.rel} over {self.ext} by Dijkstra (binary heap, CSR adjacency) "
                f"when no weight is negative, else the generic semi-naive fixpoint")


def shortest_paths_of(fix: Node) -> ShortestPaths | None:
    """Dijkstra's spec, from the fixpoint's `shape` (compiler/passes/recursion_shapes.py)."""
    shape = fix.attr("shape")
    if shape is None or shape[0] != "min_path":
        return None
    return ShortestPaths(fix.attr("rels")[0], *shape[1:])


def run_shortest_paths(spec: ShortestPaths, init: Table, edges: Table) -> Table | None:
    """D's rows, or None when a negative weight rules Dijkstra out."""
    weights = edges.cols[spec.e_w]
    if edges.n and (weights < 0).any():
        return None
    if init.n == 0:
        return init
    node_dtype = init.cols[0].dtype
    nodes_all = np.concatenate([init.cols[0], edges.cols[spec.e_src], edges.cols[spec.e_dst]])
    ids, first = factorize_columns([nodes_all], len(nodes_all))
    values = nodes_all[first]
    n_nodes = len(values)
    start = ids[:init.n]
    esrc = ids[init.n:init.n + edges.n]
    edst = ids[init.n + edges.n:]
    order, adj_off = K.group_order(esrc, n_nodes)  # the CSR adjacency
    d_dtype = init.cols[1].dtype
    if d_dtype == np.int64 and edges.n:
        # int sums wrap at 64 bits, and a wrapped sum would be "shorter": Dijkstra only
        # when no path of at most n_nodes edges can reach the wrap
        top = int(np.abs(init.cols[1]).max()) + int(weights.max()) * (n_nodes + 1)
        if top >= 1 << 62:
            return None
    dist, reached = K.dijkstra(adj_off, edst[order], weights[order].astype(d_dtype), start,
                               init.cols[1], n_nodes)
    return Table([values[reached].astype(node_dtype, copy=False), dist[reached]], int(reached.sum()))


@dataclass(frozen=True)
class MinLabels:
    rel: str
    edges: tuple[tuple[str, int, int], ...]  # (E, position of the edge's source, of its destination)

    def describe(self) -> str:
        exts = ", ".join(sorted({e for e, _, _ in self.edges}))
        return (f"least labels: {self.rel} over {exts} by Dijkstra with weights 0 (each node's least seed "
                f"label among the nodes that reach it; CSR adjacency of every rule's edges)")


def min_labels_of(fix: Node) -> MinLabels | None:
    """The least-label spec, from the fixpoint's `shape` (compiler/passes/recursion_shapes.py)."""
    shape = fix.attr("shape")
    if shape is None or shape[0] != "min_label":
        return None
    return MinLabels(fix.attr("rels")[0], tuple(tuple(shape[i:i + 3]) for i in range(1, len(shape), 3)))


def run_min_labels(spec: MinLabels, init: Table, edge_tables: list[Table]) -> Table | None:
    """D's rows: every rule's edges in one graph, the seeds' labels spread at weight 0 (a
    label that improves on none is never pushed). None where a NaN label rules it out (the
    generic loop then merges as the language says)."""
    if init.n == 0:
        return init
    if init.cols[1].dtype == np.float64 and np.isnan(init.cols[1]).any():
        return None
    src = np.concatenate([t.cols[a] for t, (_, a, _) in zip(edge_tables, spec.edges)])
    dst = np.concatenate([t.cols[b] for t, (_, _, b) in zip(edge_tables, spec.edges)])
    nodes_all = np.concatenate([init.cols[0], src, dst])
    ids, first = factorize_columns([nodes_all], len(nodes_all))
    values = nodes_all[first]
    n_nodes = len(values)
    esrc, edst = ids[init.n:init.n + len(src)], ids[init.n + len(src):]
    order, adj_off = K.group_order(esrc, n_nodes)  # the CSR adjacency
    # with weights 0, Dijkstra's order is the seeds' order by label: a search from each seed
    # in that order labels what it reaches first, and no node is visited twice
    seeds = np.argsort(init.cols[1], kind="stable")
    label_of = least_labels(adj_off, edst[order], ids[:init.n][seeds], n_nodes)
    reached = label_of >= 0
    labels = init.cols[1][seeds][label_of[reached]]
    return Table([values[reached].astype(init.cols[0].dtype, copy=False), labels], int(reached.sum()))


@njit(cache=True)
def least_labels(adj_off: np.ndarray, adj: np.ndarray, seeds: np.ndarray, n_nodes: int) -> np.ndarray:
    """For each node, the position (in `seeds`, ordered by label) of the first seed that
    reaches it, or -1: one breadth-first search per seed over the nodes not yet reached."""
    got = np.full(n_nodes, -1, np.int64)
    queue = np.empty(n_nodes, np.int64)
    for s in range(seeds.shape[0]):
        v = seeds[s]
        if got[v] >= 0:
            continue
        got[v] = s
        head, tail = 0, 1
        queue[0] = v
        while head < tail:
            u = queue[head]
            head += 1
            for j in range(adj_off[u], adj_off[u + 1]):
                w = adj[j]
                if got[w] < 0:
                    got[w] = s
                    queue[tail] = w
                    tail += 1
    return got
