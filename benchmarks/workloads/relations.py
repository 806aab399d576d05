"""Helpers shared by the general recursive workloads (issue 14): each workload's inputs are
a dict {relation: {column: int64 array}} made by its `relations(cfg, seed)`, so the
in-process cells (run.py) and the whole runs from CSV files (recursion.py) use the same rows."""
from __future__ import annotations

import os

import numpy as np

from .common import Cell, dfl_cell, load_cols, parquet, save_cols

Relations = dict[str, dict[str, np.ndarray]]


def save_relations(dir: str, rels: Relations) -> None:
    for name, cols in rels.items():
        save_cols(dir, name, **cols)


def dfl_program_cell(src: str, schema: dict[str, tuple[str, ...]], dir: str, out_rel: str) -> Cell:
    """DFL's cpu target on every input relation of `schema`, read from the .npy columns."""
    return dfl_cell(src, {r: load_cols(dir, r, *cols) for r, cols in schema.items()}, out_rel)


def duckdb_query_cell(sql, schema: dict[str, tuple[str, ...]], dir: str, out_cols: tuple[str, ...],
                      note: str) -> Cell:
    """DuckDB on tables loaded from parquet into memory; `sql(src)` is the query, given the
    name by which each input relation is read (here the loaded table)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count()}")
    for r in schema:  # quoted: `load` is a statement of DuckDB's
        con.execute(f"""CREATE TABLE "{r}" AS SELECT * FROM read_parquet('{parquet(dir, r)}')""")
    q = sql({r: f'"{r}"' for r in schema})
    return Cell(lambda: con.execute(q).fetchnumpy(), lambda r: [r[c] for c in out_cols], notes=[note])


def set_columns(rows: set, arity: int) -> list[np.ndarray]:
    """A Python set of tuples as `arity` int64 columns."""
    if not rows:
        return [np.zeros(0, dtype=np.int64) for _ in range(arity)]
    a = np.array(list(rows), dtype=np.int64).reshape(len(rows), arity)
    return [a[:, i].copy() for i in range(arity)]
