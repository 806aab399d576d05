"""Same generation over a random forest-like DAG (parent < child)."""
import numpy as np

from .common import Cell, load_cols
from .relations import dfl_program_cell, duckdb_query_cell, save_relations, set_columns

NAME = "sg"
OUT = "sg"
SCHEMA = {"edge": ("p", "c")}

DFL_SRC = """
input edge(p: int, c: int)
output sg(x: int, y: int)
sg(x, y) :- edge(p, x), edge(p, y), x != y.
sg(x, y) :- edge(a, x), sg(a, b), edge(b, y).
"""


def configs(quick):
    if quick:
        return [dict(label="300 edges / 100 nodes", edges=300, nodes=100)]
    return [dict(label="3k edges / 1k nodes", edges=3_000, nodes=1_000)]


def relations(cfg, seed):
    rng = np.random.default_rng(seed)
    c = rng.integers(1, cfg["nodes"], cfg["edges"], dtype=np.int64)
    p = (rng.random(cfg["edges"]) * c).astype(np.int64)  # a parent precedes its child: a DAG
    return {"edge": {"p": p, "c": c}}


def generate(cfg, dir, seed):
    save_relations(dir, relations(cfg, seed))


def sql(src):
    e = src["edge"]
    return f"""WITH RECURSIVE sg(x, y) AS (
                 SELECT e1.c, e2.c FROM {e} e1 JOIN {e} e2 ON e1.p = e2.p WHERE e1.c <> e2.c
                 UNION
                 SELECT e1.c, e2.c FROM sg JOIN {e} e1 ON e1.p = sg.x JOIN {e} e2 ON e2.p = sg.y)
               SELECT x, y FROM sg"""


def dfl(cfg, dir):
    return dfl_program_cell(DFL_SRC, SCHEMA, dir, OUT)


def duckdb(cfg, dir):
    return duckdb_query_cell(sql, SCHEMA, dir, ("x", "y"), "recursive CTE with UNION")


def python(cfg, dir):
    p, c = load_cols(dir, "edge", "p", "c")
    children: dict[int, set[int]] = {}
    for a, b in zip(p.tolist(), c.tolist()):
        children.setdefault(a, set()).add(b)

    def run():
        sg = {(x, y) for kids in children.values() for x in kids for y in kids if x != y}
        delta = sg
        while delta:
            new = {(x, y) for a, b in delta for x in children.get(a, ()) for y in children.get(b, ())}
            delta = new - sg
            sg |= delta
        return sg

    return Cell(run, lambda r: set_columns(r, 2), notes=["semi-naive over Python sets"])


def numba(cfg, dir):
    from . import recursion_kernels

    p, c = load_cols(dir, "edge", "p", "c")
    return Cell(lambda: recursion_kernels.sg(p, c), lambda r: list(r), has_jit=True,
                notes=["worklist semi-naive, hash set of pairs, 1 thread"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "python": python, "numba": numba}
