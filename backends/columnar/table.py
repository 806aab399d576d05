"""Columnar batches: one numpy array per column (int64, float64, bool; str as int64 codes)."""
from __future__ import annotations

from dataclasses import dataclass

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
    # the rows are known to be pairwise different (a dedup or a group-by made them), so a
    # later dedup of the same rows is free
    distinct: bool = False

    @staticmethod
    def empty(schema: Schema) -> "Table":
        return Table([np.empty(0, DTYPES[t]) for t in schema.types], 0)

    def take(self, idx: np.ndarray) -> "Table":
        return Table([c[idx] for c in self.cols], len(idx))

    def mask(self, m: np.ndarray) -> "Table":
        return Table([c[m] for c in self.cols], int(np.count_nonzero(m)), distinct=self.distinct)

    def select(self, cols: list[int]) -> "Table":
        return Table([self.cols[i] for i in cols], self.n)


def key_matrix(cols: list[np.ndarray], n: int, exact: bool = False) -> np.ndarray:
    """The columns as one int64 matrix (n x k): the identity of each row for hashing.

    Floats equal as values (0.0 and -0.0) get one key, as rows of a set do; with `exact`
    their bits are kept apart (for computing a function once per distinct argument)."""
    if not cols:
        return np.zeros((n, 0), np.int64)
    out = np.empty((n, len(cols)), np.int64)
    for j, c in enumerate(cols):
        if c.dtype == np.float64:
            out[:, j] = (c if exact else c + 0.0).view(np.int64)  # -0.0 + 0.0 is 0.0
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


def factorize_columns(cols: list[np.ndarray], n: int, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of the distinct rows of these columns (first-appearance order), and the
    first row of each id. Integer columns with a small combined range are packed into one
    int64 key (exact), looked up in an array when the range is dense, hashed otherwise."""
    from dfl.backends.cpu import kernels as K

    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    packed = pack(cols)
    if packed is not None:
        key, span, _ = packed
        if span <= 4 * n + 4096:
            return K.factorize_dense(key, span)
        return K.factorize1(np.ascontiguousarray(key, dtype=np.int64))
    return K.factorize(key_matrix(cols, n, exact))


def pack(cols: list[np.ndarray]) -> tuple[np.ndarray, int, list[tuple[int, int]]] | None:
    """Integer columns as one exact int64 key in 0 .. span-1 (mixed radix), with each
    column's (lowest value, width) to decode it again; None when floats or too wide."""
    if not cols or any(c.dtype == np.float64 for c in cols):
        return None
    key = None
    span = 1
    radix = []
    for c in cols:
        c = c.astype(np.int64, copy=False)
        lo, hi = int(c.min()), int(c.max())
        width = hi - lo + 1
        if span * width >= 1 << 62:
            return None
        part = c - lo if lo else c
        key = part if key is None else key * width + part
        span *= width
        radix.append((lo, width))
    return key, span, radix


def unpack(codes: np.ndarray, radix: list[tuple[int, int]]) -> list[np.ndarray]:
    """The columns' values of packed keys (the inverse of pack)."""
    out = []
    for lo, width in reversed(radix):
        out.append(codes % width + lo)
        codes = codes // width
    return out[::-1]
