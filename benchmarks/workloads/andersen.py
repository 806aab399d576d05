"""Field-sensitive Andersen points-to: `pt` through assign, load and store, heap `hpt`
(mutually recursive, non-linear), over random statements of a program's variables."""
import numpy as np

from .common import Cell, load_cols
from .relations import dfl_program_cell, duckdb_query_cell, save_relations

NAME = "andersen"
OUT = "pt"
SCHEMA = {"addr": ("p", "o"), "assign": ("p", "q"), "load": ("p", "q", "f"), "store": ("p", "f", "q")}
FIELDS = 4

DFL_SRC = """
input addr(p: int, o: int)
input assign(p: int, q: int)
input load(p: int, q: int, f: int)
input store(p: int, f: int, q: int)
output pt(p: int, o: int)
output hpt(o: int, f: int, o2: int)
pt(p, o) :- addr(p, o).
pt(p, o) :- assign(p, q), pt(q, o).
hpt(o1, f, o2) :- store(p, f, q), pt(p, o1), pt(q, o2).
pt(p, o2) :- load(p, q, f), pt(q, o1), hpt(o1, f, o2).
"""


def configs(quick):
    if quick:
        return [dict(label="500 variables", vars=500)]
    return [dict(label="20k variables", vars=20_000)]


def relations(cfg, seed):
    """A quarter as many objects and address-of statements as variables, 0.95 assignments
    per variable, loads and stores 0.05 each (about 1M pt rows at 20k variables)."""
    rng = np.random.default_rng(seed)
    nv = cfg["vars"]
    no, na, nl = nv // 4, int(nv * 0.95), int(nv * 0.05)
    v = lambda k: rng.integers(0, nv, k, dtype=np.int64)  # noqa: E731
    f = lambda k: rng.integers(0, FIELDS, k, dtype=np.int64)  # noqa: E731
    return {"addr": {"p": v(nv // 4), "o": rng.integers(0, no, nv // 4, dtype=np.int64)},
            "assign": {"p": v(na), "q": v(na)},
            "load": {"p": v(nl), "q": v(nl), "f": f(nl)},
            "store": {"p": v(nl), "f": f(nl), "q": v(nl)}}


def generate(cfg, dir, seed):
    save_relations(dir, relations(cfg, seed))


def cte(src):
    """Both relations in one recursive CTE, tagged k = 0 (pt(a, b)) and 1 (hpt(a, b, c)):
    a recursive CTE has one recursive table. USING KEY on every column makes
    `recurring.r` the whole relation so far, for the delta rules of the non-linear joins
    (the plain CTE sees only the last iteration's rows)."""
    addr, assign, load, store = (src[r] for r in ("addr", "assign", "load", "store"))
    return f"""WITH RECURSIVE r(k, a, b, c) USING KEY (k, a, b, c) AS (
      SELECT DISTINCT 0, p, o, 0 FROM {addr}
      UNION
      SELECT DISTINCT n.k, n.a, n.b, n.c FROM (
        SELECT 0 AS k, s.p AS a, d.b AS b, 0 AS c FROM r d JOIN {assign} s ON s.q = d.a WHERE d.k = 0
        UNION ALL
        SELECT 1, d.b, s.f, x.b FROM r d JOIN {store} s ON s.p = d.a
          JOIN recurring.r x ON x.k = 0 AND x.a = s.q WHERE d.k = 0
        UNION ALL
        SELECT 1, x.b, s.f, d.b FROM r d JOIN {store} s ON s.q = d.a
          JOIN recurring.r x ON x.k = 0 AND x.a = s.p WHERE d.k = 0
        UNION ALL
        SELECT 0, l.p, h.c, 0 FROM r d JOIN {load} l ON l.q = d.a
          JOIN recurring.r h ON h.k = 1 AND h.a = d.b AND h.b = l.f WHERE d.k = 0
        UNION ALL
        SELECT 0, l.p, d.c, 0 FROM r d JOIN recurring.r x ON x.k = 0 AND x.b = d.a
          JOIN {load} l ON l.q = x.a AND l.f = d.b WHERE d.k = 1) n
      WHERE NOT EXISTS (SELECT 1 FROM recurring.r o
                        WHERE o.k = n.k AND o.a = n.a AND o.b = n.b AND o.c = n.c))"""


def sql(src):
    return cte(src) + " SELECT a AS p, b AS o FROM r WHERE k = 0"


def duckdb_script(src, out_dir):
    """Every output relation of the program written as CSV, from one evaluation."""
    return [f"CREATE TEMP TABLE r AS {cte(src)} SELECT * FROM r",
            f"COPY (SELECT a AS p, b AS o FROM r WHERE k = 0) TO '{out_dir}/pt.csv' (HEADER)",
            f"COPY (SELECT a AS o, b AS f, c AS o2 FROM r WHERE k = 1) TO '{out_dir}/hpt.csv' (HEADER)"]


def dfl(cfg, dir):
    return dfl_program_cell(DFL_SRC, SCHEMA, dir, OUT)


def duckdb(cfg, dir):
    return duckdb_query_cell(sql, SCHEMA, dir, ("p", "o"),
                             "one recursive CTE, tagged rows, USING KEY for the delta rules")


def numba(cfg, dir):
    from . import recursion_kernels

    rels = [load_cols(dir, r, *cols) for r, cols in SCHEMA.items()]
    return Cell(lambda: recursion_kernels.andersen(*rels), lambda r: list(r), has_jit=True,
                notes=["worklist semi-naive, hash sets, lists per variable / object / (object, field), 1 thread"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "numba": numba}
