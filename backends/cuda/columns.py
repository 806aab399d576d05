"""Device columns: a table as one device array per column (int64, float64, bool; strings as
the dictionary codes of the plan's StringPool), and the kernels that move rows around
(fill, gather, compaction by a mask, concatenation).

Output positions of a compaction come from an atomic counter, so the order of the rows it
keeps is not fixed on a real GPU: nothing downstream depends on row order (relations are
sets; sinks are sorted on the host at the end of the tick).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfl.ir.types import Schema
from dfl.backends.columnar.table import DTYPES, Table
from dfl.backends.cuda.device import Device, kernel


cuda = None  # numba.cuda, bound when a kernel is first compiled (device.Kernel): importing
#              this module imports no numba.cuda (a machine without it, or the simulator set later)


@dataclass
class DTable:
    cols: list  # device arrays, one per column
    n: int
    distinct: bool = False  # the rows are known to be pairwise different


def empty(dev: Device, schema: Schema) -> DTable:
    return DTable([dev.empty(0, DTYPES[t]) for t in schema.types], 0)


def upload(dev: Device, t: Table) -> DTable:
    return DTable([dev.to_device(c) for c in t.cols], t.n, t.distinct)


def download(dev: Device, t: DTable) -> Table:
    return Table([dev.to_host(c)[:t.n] for c in t.cols], t.n, distinct=t.distinct)


@kernel
def k_fill(a, v):
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i] = v


@kernel
def k_iota(a):
    i = cuda.grid(1)
    if i < a.shape[0]:
        a[i] = i


@kernel
def k_gather(src, idx, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = src[idx[i]]


@kernel
def k_copy_at(src, out, start):
    i = cuda.grid(1)
    if i < src.shape[0]:
        out[start + i] = src[i]


@kernel
def k_compact(mask, cursor, out):
    """The positions of the true entries of mask, in out[0 : cursor[0]]."""
    i = cuda.grid(1)
    if i < mask.shape[0] and mask[i]:
        out[cuda.atomic.add(cursor, 0, 1)] = i


def full(dev: Device, n: int, v, dtype):
    a = dev.empty(n, dtype)
    dev.launch(k_fill, n, a, dtype(v) if dtype is not np.bool_ else bool(v))
    return a


def iota(dev: Device, n: int):
    a = dev.empty(n, np.int64)
    dev.launch(k_iota, n, a)
    return a


def gather(dev: Device, col, idx, n: int):
    out = dev.empty(n, col.dtype)
    dev.launch(k_gather, n, col, idx, out)
    return out


def take(dev: Device, t: DTable, idx, n: int) -> DTable:
    return DTable([gather(dev, c, idx, n) for c in t.cols], n)


def compact(dev: Device, mask, n: int):
    """(positions where mask is true, how many)."""
    cursor = full(dev, 1, 0, np.int64)
    out = dev.empty(n, np.int64)
    dev.launch(k_compact, n, mask, cursor, out)
    m = dev.scalar(cursor)
    return out[:m], m


def mask_rows(dev: Device, t: DTable, mask) -> DTable:
    idx, m = compact(dev, mask, t.n)
    if m == t.n:
        return t
    out = take(dev, t, idx, m)
    out.distinct = t.distinct
    return out


def concat(dev: Device, tables: list[DTable], schema: Schema) -> DTable:
    tables = [t for t in tables if t.n]
    if not tables:
        return empty(dev, schema)
    if len(tables) == 1:
        return tables[0]
    n = sum(t.n for t in tables)
    cols = []
    for j, ty in enumerate(schema.types):
        out = dev.empty(n, DTYPES[ty])
        at = 0
        for t in tables:
            dev.launch(k_copy_at, t.n, t.cols[j][:t.n], out, at)
            at += t.n
        cols.append(out)
    return DTable(cols, n)
