"""Transitive closure of a random directed graph (uniform endpoints, duplicates kept)."""
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

from .common import Cell, SkipCell, dfl_cell, duck, load_cols, parquet, save_cols

NAME = "tc"

DFL_SRC = """
input edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""

SOUFFLE_SRC = """
.decl edge(a: number, b: number)
.input edge
.decl path(a: number, b: number)
.output path
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""


def configs(quick):
    if quick:
        return [dict(label="300 nodes / 900 edges", nodes=300, edges=900)]
    return [dict(label="1k nodes / 3k edges", nodes=1000, edges=3000),
            dict(label="5k nodes / 10k edges", nodes=5000, edges=10000)]


def generate(cfg, dir, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, cfg["nodes"], cfg["edges"], dtype=np.int64)
    b = rng.integers(0, cfg["nodes"], cfg["edges"], dtype=np.int64)
    save_cols(dir, "edge", a=a, b=b)
    with open(os.path.join(dir, "edge.facts"), "w") as f:
        f.writelines(f"{x}\t{y}\n" for x, y in zip(a.tolist(), b.tolist()))


def _edges(dir):
    return load_cols(dir, "edge", "a", "b")


def dfl(cfg, dir):
    a, b = _edges(dir)
    return dfl_cell(DFL_SRC, {"edge": [a, b]}, "path")


def duckdb(cfg, dir):
    con = duck({"edge": parquet(dir, "edge")})
    sql = """WITH RECURSIVE path(a, b) AS (
               SELECT a, b FROM edge
               UNION
               SELECT p.a, e.b FROM path p JOIN edge e ON p.b = e.a)
             SELECT a, b FROM path"""

    def run():
        return con.execute(sql).fetchnumpy()

    return Cell(run, lambda r: [r["a"], r["b"]], notes=["recursive CTE with UNION"])


def networkx(cfg, dir):
    import networkx as nx

    a, b = _edges(dir)
    g = nx.DiGraph()
    g.add_edges_from(zip(a.tolist(), b.tolist()))

    def run():
        # nx.descendants per node (nx.transitive_closure builds a graph of all pairs: ~10x slower)
        out_a, out_b = [], []
        for s in g.nodes:
            d = nx.descendants(g, s)
            if any(p == s or p in d for p in g.predecessors(s)):  # s lies on a cycle
                d.add(s)
            out_a.append(np.full(len(d), s, dtype=np.int64))
            out_b.append(np.fromiter(d, np.int64, len(d)))
        return np.concatenate(out_a), np.concatenate(out_b)

    return Cell(run, lambda r: list(r), notes=["nx.descendants per node (DiGraph built at load)"])


def scipy(cfg, dir):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order

    a, b = _edges(dir)
    n = int(max(a.max(), b.max())) + 1
    g = csr_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    g.sum_duplicates()
    gt = g.T.tocsr()  # in-neighbours, to tell whether a source lies on a cycle

    def run():
        outs_a, outs_b = [], []
        indptr, idx = gt.indptr, gt.indices
        for s in range(n):
            r = breadth_first_order(g, s, directed=True, return_predecessors=False)
            preds = idx[indptr[s]:indptr[s + 1]]
            on_cycle = preds.size and np.isin(preds, r).any()
            if not on_cycle:
                r = r[1:]  # breadth_first_order lists the source first
            outs_a.append(np.full(r.size, s, dtype=np.int64))
            outs_b.append(r.astype(np.int64))
        return np.concatenate(outs_a), np.concatenate(outs_b)

    return Cell(run, lambda r: list(r), notes=["csgraph.breadth_first_order per source (CSR built at load)"])


def numba(cfg, dir):
    from . import kernels

    a, b = _edges(dir)
    return Cell(lambda: kernels.tc(a, b), lambda r: list(r), has_jit=True,
                notes=["BFS per source in parallel, visited bitset per source"])


def souffle(cfg, dir):
    exe = shutil.which("souffle")
    if exe is None:
        raise SkipCell("souffle not installed")
    work = tempfile.mkdtemp(prefix="dfl-bench-souffle-")
    prog = os.path.join(work, "tc.dl")
    with open(prog, "w") as f:
        f.write(SOUFFLE_SRC)
    t0 = time.perf_counter()
    subprocess.run([exe, "-o", os.path.join(work, "tc"), prog], check=True, cwd=work,
                   stdout=subprocess.DEVNULL)
    compile_s = time.perf_counter() - t0
    facts = os.path.join(work, "facts")
    os.makedirs(facts)
    shutil.copy(os.path.join(dir, "edge.facts"), facts)
    out = os.path.join(work, "out")
    os.makedirs(out)
    threads = str(os.cpu_count())

    def run():
        subprocess.run([os.path.join(work, "tc"), "-F", facts, "-D", out, "-j", threads], check=True)
        return os.path.join(out, "path.csv")

    def columns(path):
        x = np.loadtxt(path, dtype=np.int64, delimiter="\t", ndmin=2)
        return [x[:, 0], x[:, 1]]

    return Cell(run, columns, compile_s=compile_s, external=True,
                notes=["souffle -o, default B-tree; time includes reading facts and writing path.csv"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "souffle": souffle, "networkx": networkx, "scipy": scipy,
           "numba": numba}
