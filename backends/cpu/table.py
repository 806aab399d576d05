"""Columnar batches: one numpy array per column (int64, float64, bool; str as int64 codes)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dfl.ir.types import Schema, Type

DTYPES = {Type.INT: np.int64, Type.FLOAT: np.float64, Type.BOOL: np.bool_, Type.STR: np.int64,
          Type.ADDR: np.int64}


@dataclass
class Table:
    cols: list[np.ndarray]
    n: int  # rows (a table without columns still has 0 or more rows)
    # join indexes on this table's rows, by key columns; shared with the relation that owns
    # the rows when they live across fixpoint iterations (so an index grows, not rebuilt)
    indexes: dict | None = None

    @staticmethod
    def empty(schema: Schema) -> "Table":
        return Table([np.empty(0, DTYPES[t]) for t in schema.types], 0)

    def take(self, idx: np.ndarray) -> "Table":
        return Table([c[idx] for c in self.cols], len(idx))

    def mask(self, m: np.ndarray) -> "Table":
        return Table([c[m] for c in self.cols], int(np.count_nonzero(m)))

    def select(self, cols: list[int]) -> "Table":
        return Table([self.cols[i] for i in cols], self.n)


def key_matrix(cols: list[np.ndarray], n: int) -> np.ndarray:
    """The columns as one int64 matrix (n x k): the identity of each row for hashing."""
    if not cols:
        return np.zeros((n, 0), np.int64)
    out = np.empty((n, len(cols)), np.int64)
    for j, c in enumerate(cols):
        if c.dtype == np.float64:
            out[:, j] = (c + 0.0).view(np.int64)  # -0.0 + 0.0 is 0.0: equal values, equal bits
        else:
            out[:, j] = c
    return out


def concat(tables: list[Table], schema: Schema) -> Table:
    if not tables:
        return Table.empty(schema)
    if len(tables) == 1:
        return tables[0]
    cols = [np.concatenate([t.cols[j] for t in tables]) for j in range(schema.arity)]
    return Table(cols, sum(t.n for t in tables))
