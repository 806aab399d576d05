"""Connected components by min label (`cc(x, min<int>)`) of a random undirected graph."""
import numpy as np

from .common import Cell, load_cols
from .relations import dfl_program_cell, duckdb_query_cell, save_relations

NAME = "cc"
OUT = "cc"
SCHEMA = {"edge": ("a", "b")}

DFL_SRC = """
input edge(a: int, b: int)
output cc(x: int, l: min<int>)
cc(x, x) :- edge(x, _).
cc(x, x) :- edge(_, x).
cc(y, l) :- cc(x, l), edge(x, y).
cc(y, l) :- cc(x, l), edge(y, x).
"""


def configs(quick):
    if quick:
        return [dict(label="5k nodes / 10k edges", nodes=5_000, edges=10_000)]
    return [dict(label="500k nodes / 1M edges", nodes=500_000, edges=1_000_000)]


def relations(cfg, seed):
    rng = np.random.default_rng(seed)
    n, m = cfg["nodes"], cfg["edges"]
    return {"edge": {"a": rng.integers(0, n, m, dtype=np.int64), "b": rng.integers(0, n, m, dtype=np.int64)}}


def generate(cfg, dir, seed):
    save_relations(dir, relations(cfg, seed))


def sql(src):
    """Label propagation on the frontier; USING KEY keeps one (the least) label per node."""
    e = src["edge"]
    return f"""WITH RECURSIVE und(x, y) AS (SELECT a, b FROM {e} UNION ALL SELECT b, a FROM {e}),
               cc(x, l) USING KEY (x) AS (
                 SELECT x, x AS l FROM (SELECT DISTINCT x FROM und)
                 UNION
                 SELECT c.x, c.l FROM (
                     SELECT und.y AS x, min(cc.l) AS l FROM cc JOIN und ON cc.x = und.x GROUP BY und.y) c
                 JOIN recurring.cc r ON r.x = c.x
                 WHERE c.l < r.l)
             SELECT x, l FROM cc"""


def dfl(cfg, dir):
    return dfl_program_cell(DFL_SRC, SCHEMA, dir, OUT)


def duckdb(cfg, dir):
    return duckdb_query_cell(sql, SCHEMA, dir, ("x", "l"), "recursive CTE, USING KEY, frontier label propagation")


def _least_labels(a, b, comp):
    """(node, least node of its component) for every node that has an edge."""
    nodes = np.unique(np.concatenate([a, b]))
    least = np.full(int(comp.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(least, comp[nodes], nodes)
    return nodes, least[comp[nodes]]


def scipy(cfg, dir):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = load_cols(dir, "edge", "a", "b")
    n = int(max(a.max(), b.max())) + 1
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n)).tocsr()

    def run():
        _, comp = connected_components(g, directed=False)
        return _least_labels(a, b, comp)

    return Cell(run, lambda r: list(r), notes=["csgraph.connected_components (CSR built at load) + least node"])


def networkx(cfg, dir):
    import networkx as nx

    a, b = load_cols(dir, "edge", "a", "b")
    g = nx.Graph()
    g.add_edges_from(zip(a.tolist(), b.tolist()))

    def run():
        xs, ls = [], []
        for comp in nx.connected_components(g):
            m = min(comp)
            xs.extend(comp)
            ls.extend([m] * len(comp))
        return np.array(xs, dtype=np.int64), np.array(ls, dtype=np.int64)

    return Cell(run, lambda r: list(r), notes=["nx.connected_components (Graph built at load) + min per component"])


def numba(cfg, dir):
    from . import recursion_kernels

    a, b = load_cols(dir, "edge", "a", "b")
    return Cell(lambda: recursion_kernels.cc(a, b), lambda r: list(r), has_jit=True,
                notes=["union-find (union by least root, path halving), 1 thread"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "networkx": networkx, "scipy": scipy, "numba": numba}
