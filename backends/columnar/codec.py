"""Rows <-> columns: Python tuples to a Table (strings to the pool's codes) and back.

The one place a tick's rows cross into the columnar layout, shared by every columnar
backend and by the worker pool (which ships batches of these tables between processes).
"""
from __future__ import annotations

import numpy as np

from dfl.ir.types import Schema, Type
from dfl.backends.columnar.frame import Frame
from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import DTYPES, Table


def encode_rows(rows, schema: Schema, pool: StringPool) -> Table:
    if isinstance(rows, Frame):  # read from a file or left by a tick as columns: no tuples
        return rows.encode(pool)
    rows = list(rows)
    n = len(rows)
    cols = []
    for j, t in enumerate(schema.types):
        vals = [r[j] for r in rows]
        if t.text:
            cols.append(pool.encode(vals))
        else:
            cols.append(np.array(vals, dtype=DTYPES[t]) if n else np.empty(0, DTYPES[t]))
    return Table(cols, n)


def decode_rows(t: Table, schema: Schema, pool: StringPool) -> list[tuple]:
    if not schema.types:
        return [()] * t.n
    cols = []
    for c, ty in zip(t.cols, schema.types):
        cols.append(pool.decode(c) if ty.text else c.tolist())
    return list(zip(*cols))
