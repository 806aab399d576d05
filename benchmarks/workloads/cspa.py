"""Context-insensitive alias analysis as Graspan's CSPA: valueFlow, memoryAlias and
valueAlias, mutually recursive (a three-way join among them), over random statements."""
import numpy as np

from .common import Cell, load_cols
from .relations import dfl_program_cell, duckdb_query_cell, save_relations

NAME = "cspa"
OUT = "valueAlias"
SCHEMA = {"assign": ("x", "y"), "dereference": ("x", "y")}

DFL_SRC = """
input assign(x: int, y: int)
input dereference(x: int, y: int)
output valueFlow(x: int, y: int)
output memoryAlias(x: int, y: int)
output valueAlias(x: int, y: int)
valueFlow(y, x) :- assign(y, x).
valueFlow(x, y) :- assign(x, z), memoryAlias(z, y).
valueFlow(x, y) :- valueFlow(x, z), valueFlow(z, y).
memoryAlias(x, w) :- dereference(y, x), valueAlias(y, z), dereference(z, w).
valueAlias(x, y) :- valueFlow(z, x), valueFlow(z, y).
valueAlias(x, y) :- valueFlow(z, x), memoryAlias(z, w), valueFlow(w, y).
valueFlow(x, x) :- assign(x, y).
valueFlow(x, x) :- assign(y, x).
memoryAlias(x, x) :- assign(y, x).
memoryAlias(x, x) :- assign(x, y).
"""


def configs(quick):
    if quick:
        return [dict(label="500 variables", vars=500)]
    return [dict(label="10k variables", vars=10_000)]


def relations(cfg, seed):
    """0.6 n assignments and n / 10 dereferences over n variables: near the point where the
    value flow joins up (at 0.7 n, 10k variables give 1M-3M valueAlias rows by the seed)."""
    rng = np.random.default_rng(seed)
    n = cfg["vars"]
    v = lambda k: rng.integers(0, n, k, dtype=np.int64)  # noqa: E731
    na = n * 6 // 10
    return {"assign": {"x": v(na), "y": v(na)}, "dereference": {"x": v(n // 10), "y": v(n // 10)}}


def generate(cfg, dir, seed):
    save_relations(dir, relations(cfg, seed))


def cte(src):
    """The three relations in one recursive CTE, tagged k = 0 (valueFlow), 1 (memoryAlias),
    2 (valueAlias); USING KEY on every column makes `recurring.r` the whole relation so far,
    for the delta rules of the non-linear joins."""
    a, d = src["assign"], src["dereference"]
    return f"""WITH RECURSIVE r(k, a, b) USING KEY (k, a, b) AS (
      SELECT DISTINCT * FROM (
        SELECT 0 AS k, x AS a, y AS b FROM {a}
        UNION ALL SELECT 0, x, x FROM {a} UNION ALL SELECT 0, y, y FROM {a}
        UNION ALL SELECT 1, x, x FROM {a} UNION ALL SELECT 1, y, y FROM {a})
      UNION
      SELECT DISTINCT n.k, n.a, n.b FROM (
        SELECT 0 AS k, d.a AS a, v.b AS b FROM r d JOIN recurring.r v ON v.k = 0 AND v.a = d.b WHERE d.k = 0
        UNION ALL
        SELECT 0, v.a, d.b FROM recurring.r v JOIN r d ON d.k = 0 AND d.a = v.b WHERE v.k = 0
        UNION ALL
        SELECT 0, s.x, d.b FROM r d JOIN {a} s ON s.y = d.a WHERE d.k = 1
        UNION ALL
        SELECT 1, d1.y, d2.y FROM r d JOIN {d} d1 ON d1.x = d.a JOIN {d} d2 ON d2.x = d.b WHERE d.k = 2
        UNION ALL
        SELECT 2, d.b, v.b FROM r d JOIN recurring.r v ON v.k = 0 AND v.a = d.a WHERE d.k = 0
        UNION ALL
        SELECT 2, v.b, d.b FROM r d JOIN recurring.r v ON v.k = 0 AND v.a = d.a WHERE d.k = 0
        UNION ALL
        SELECT 2, d.b, v.b FROM r d JOIN recurring.r m ON m.k = 1 AND m.a = d.a
          JOIN recurring.r v ON v.k = 0 AND v.a = m.b WHERE d.k = 0
        UNION ALL
        SELECT 2, v1.b, v2.b FROM r d JOIN recurring.r v1 ON v1.k = 0 AND v1.a = d.a
          JOIN recurring.r v2 ON v2.k = 0 AND v2.a = d.b WHERE d.k = 1
        UNION ALL
        SELECT 2, v.b, d.b FROM r d JOIN recurring.r m ON m.k = 1 AND m.b = d.a
          JOIN recurring.r v ON v.k = 0 AND v.a = m.a WHERE d.k = 0) n
      WHERE NOT EXISTS (SELECT 1 FROM recurring.r o WHERE o.k = n.k AND o.a = n.a AND o.b = n.b))"""


def sql(src):
    return cte(src) + " SELECT a AS x, b AS y FROM r WHERE k = 2"


def duckdb_script(src, out_dir):
    """Every output relation of the program written as CSV, from one evaluation."""
    return [f"CREATE TEMP TABLE r AS {cte(src)} SELECT * FROM r"] + [
        f"COPY (SELECT a AS x, b AS y FROM r WHERE k = {k}) TO '{out_dir}/{rel}.csv' (HEADER)"
        for k, rel in enumerate(("valueFlow", "memoryAlias", "valueAlias"))]


def dfl(cfg, dir):
    return dfl_program_cell(DFL_SRC, SCHEMA, dir, OUT)


def duckdb(cfg, dir):
    return duckdb_query_cell(sql, SCHEMA, dir, ("x", "y"),
                             "one recursive CTE, tagged rows, USING KEY for the delta rules")


def numba(cfg, dir):
    from . import recursion_kernels

    rels = [load_cols(dir, r, *cols) for r, cols in SCHEMA.items()]
    return Cell(lambda: recursion_kernels.cspa(*rels), lambda r: list(r), has_jit=True,
                notes=["worklist semi-naive, hash sets, lists per variable, 1 thread"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "numba": numba}
