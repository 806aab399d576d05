"""Data structures chosen from what the compiler knows about a recursive stratum.

The generic fixpoint (hash sets, growing join indexes) runs every recursion. Some shapes
have a much better evaluation, which the cpu backend picks on its own (the program never
says):

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

from dfl.ir.expr import Col, Fn
from dfl.ir.graph import Graph, Node
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


def _one_join_rule(fix: Node) -> tuple[Node, Node, Node, Node, Node] | None:
    """The body `yield(union(map(join(param, param))))` of one relation with one recursive
    rule joining two fixpoint inputs: (yield, map, join, left param, right param)."""
    if len(fix.attr("rels")) != 1:
        return None
    body: Graph = fix.attr("body")
    (y,) = body.by_op("yield")
    union = body.node(y.inputs[0])
    if union.op != "union" or len(union.inputs) != 1:
        return None
    m = body.node(union.inputs[0])
    if m.op != "map":
        return None
    j = body.node(m.inputs[0])
    if j.op != "join" or len(j.attr("left_keys")) != 1:
        return None
    a, b = (body.node(i) for i in j.inputs)
    if a.op != "param" or b.op != "param":
        return None
    return y, m, j, a, b


def match_closure(fix: Node) -> Closure | None:
    shape = _one_join_rule(fix)
    if shape is None:
        return None
    y, m, j, a, b = shape
    rels = fix.attr("rels")
    if y.schema.is_lattice:  # a closure keeps every pair; a lattice merges them
        return None
    if len(m.attr("exprs")) != 2 or not all(isinstance(e, Col) for e in m.attr("exprs")):
        return None
    names = (a.attr("name"), b.attr("name"))
    rel = rels[0]
    if a.schema.arity != 2 or b.schema.arity != 2 or a.schema.types[0] != a.schema.types[1] \
            or b.schema.types != a.schema.types or a.schema.is_lattice:
        return None
    lk, rk = j.attr("left_keys")[0], j.attr("right_keys")[0]
    out = tuple(e.index for e in m.attr("exprs"))
    if names[0] == f"delta:{rel}" and names[1].startswith("ext:"):
        r_cols, e_cols, r_key, e_key = (0, 1), (2, 3), lk, 2 + rk
    elif names[1] == f"delta:{rel}" and names[0].startswith("ext:"):
        r_cols, e_cols, r_key, e_key = (2, 3), (0, 1), 2 + rk, lk
    else:
        return None
    ext = (names[1] if names[0].startswith("delta:") else names[0])[4:]
    # forward: R.dst = E.src, out (R.src, E.dst); backward: E.dst = R.src, out (E.src, R.dst)
    if r_key == r_cols[1] and e_key == e_cols[0] and out == (r_cols[0], e_cols[1]):
        return Closure(rel, ext, True)
    if r_key == r_cols[0] and e_key == e_cols[1] and out == (e_cols[0], r_cols[1]):
        return Closure(rel, ext, False)
    return None


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
    empty = np.empty(0, np.int64)
    counts = K.closure_bfs(src_off, src_targets, adj_off, adj, n_nodes, empty, empty, True)
    out_off = np.zeros(len(sources) + 1, np.int64)
    np.cumsum(counts, out=out_off[1:])
    limits.check_rows(int(out_off[-1]), limits.cpu_row_bytes(3))  # counted: check before the rows are built
    out = np.empty(out_off[-1], np.int64)
    K.closure_bfs(src_off, src_targets, adj_off, adj, n_nodes, out_off, out, False)
    col0 = np.repeat(sources, counts).astype(dtype, copy=False)
    return Table([col0, values[out].astype(dtype, copy=False)], len(out))


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


def match_shortest_paths(fix: Node) -> ShortestPaths | None:
    shape = _one_join_rule(fix)
    if shape is None:
        return None
    y, m, j, a, b = shape
    rels = fix.attr("rels")
    if not (y.schema.arity == 2 and y.schema.key_arity == 1 and y.schema.lattices == ("min",)):
        return None
    rel = rels[0]
    if a.attr("name") == f"delta:{rel}" and b.attr("name", "").startswith("ext:") and b.schema.arity == 3:
        d_off, e_off, ext, dk, ek = 0, 2, b.attr("name")[4:], j.attr("left_keys")[0], j.attr("right_keys")[0]
    elif b.attr("name") == f"delta:{rel}" and a.attr("name", "").startswith("ext:") and a.schema.arity == 3:
        d_off, e_off, ext, dk, ek = 3, 0, a.attr("name")[4:], j.attr("right_keys")[0], j.attr("left_keys")[0]
    else:
        return None
    if dk != 0:
        return None
    node_e, value = m.attr("exprs")
    if not (isinstance(node_e, Col) and e_off <= node_e.index < e_off + 3):
        return None
    if not (isinstance(value, Fn) and value.op == "add" and all(isinstance(x, Col) for x in value.args)):
        return None
    cols = {x.index for x in value.args}
    d_col = d_off + 1
    if d_col not in cols or len(cols) != 2:
        return None
    w = (cols - {d_col}).pop() - e_off
    dst = node_e.index - e_off
    if not (0 <= w < 3) or len({ek, dst, w}) != 3:
        return None
    return ShortestPaths(rel, ext, ek, dst, w)


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
