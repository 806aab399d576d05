"""Single-source shortest paths on a random weighted digraph: DFL's `min` lattice."""
import numpy as np

from .common import Cell, dfl_cell, duck, load_cols, parquet, save_cols

NAME = "sssp"
SOURCE = 0

DFL_SRC = """
input edge(a: int, b: int, w: int)
input source(n: int)
output dist(n: int, d: min<int>)
dist(s, 0) :- source(s).
dist(y, d + w) :- dist(x, d), edge(x, y, w).
"""


def configs(quick):
    if quick:
        return [dict(label="10k nodes / 100k edges", nodes=10_000, edges=100_000)]
    return [dict(label="100k nodes / 1M edges", nodes=100_000, edges=1_000_000)]


def generate(cfg, dir, seed):
    rng = np.random.default_rng(seed)
    n, m = cfg["nodes"], cfg["edges"]
    save_cols(dir, "edge", a=rng.integers(0, n, m, dtype=np.int64), b=rng.integers(0, n, m, dtype=np.int64),
              w=rng.integers(1, 101, m, dtype=np.int64))


def _edges(dir):
    return load_cols(dir, "edge", "a", "b", "w")


def dfl(cfg, dir):
    a, b, w = _edges(dir)
    return dfl_cell(DFL_SRC, {"edge": [a, b, w], "source": [np.array([SOURCE], dtype=np.int64)]}, "dist")


def duckdb(cfg, dir):
    con = duck({"edge": parquet(dir, "edge")})
    # Bellman-Ford on the frontier; USING KEY keeps one row per node (DuckDB >= 1.3)
    sql = f"""WITH RECURSIVE dist(n, d) USING KEY (n) AS (
                SELECT {SOURCE}::BIGINT AS n, 0::BIGINT AS d
                UNION
                SELECT c.n, c.d FROM (
                    SELECT e.b AS n, min(dist.d + e.w) AS d
                    FROM dist JOIN edge e ON dist.n = e.a GROUP BY e.b) c
                LEFT JOIN recurring.dist r ON r.n = c.n
                WHERE r.n IS NULL OR c.d < r.d)
              SELECT n, d FROM dist"""
    return Cell(lambda: con.execute(sql).fetchnumpy(), lambda r: [r["n"], r["d"]],
                notes=["recursive CTE, USING KEY, frontier Bellman-Ford"])


def scipy(cfg, dir):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    a, b, w = _edges(dir)
    n = int(max(a.max(), b.max())) + 1
    # parallel edges: keep the lightest (csr_matrix would add them up)
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    g = csr_matrix((w[first].astype(np.float64), (a[first], b[first])), shape=(n, n))

    def run():
        d = dijkstra(g, directed=True, indices=SOURCE)
        reached = np.flatnonzero(np.isfinite(d))
        return reached.astype(np.int64), d[reached].astype(np.int64)

    return Cell(run, lambda r: list(r), notes=["csgraph.dijkstra (CSR, lightest parallel edge, built at load)"])


def networkx(cfg, dir):
    import networkx as nx

    a, b, w = _edges(dir)
    g = nx.DiGraph()
    for x, y, c in zip(a.tolist(), b.tolist(), w.tolist()):
        if not g.has_edge(x, y) or g[x][y]["weight"] > c:
            g.add_edge(x, y, weight=c)

    def run():
        return nx.single_source_dijkstra_path_length(g, SOURCE)

    def columns(r):
        return [np.fromiter(r.keys(), np.int64, len(r)), np.fromiter(r.values(), np.int64, len(r))]

    return Cell(run, columns, notes=["single_source_dijkstra_path_length (DiGraph built at load)"])


def numba(cfg, dir):
    from . import kernels

    a, b, w = _edges(dir)
    return Cell(lambda: kernels.sssp(a, b, w, SOURCE), lambda r: list(r), has_jit=True,
                notes=["CSR build + Dijkstra with a binary heap, 1 thread"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "scipy": scipy, "networkx": networkx, "numba": numba}
