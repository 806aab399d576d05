"""A set of rows that grows on the device: a recursive relation's rows and the hash table
over them, both extended in place, so adding a batch costs the batch, not the relation.

Rows live in columns with spare capacity (doubled when full, one device copy); their keys
(hashing.key_matrix rows) in a matrix beside them, chained into buckets with atomic
exchanges. `add` probes the batch against the table, keeps the rows it lacks, appends them
and links them in. Growing the columns (doubling) relinks every row, the buckets sized to
the rows, so chains stay short.
"""
from __future__ import annotations

import numpy as np

from dfl.ir.types import Schema
from dfl.backends.columnar.table import DTYPES
from dfl.backends.cuda import hashing as H
from dfl.backends.cuda.columns import DTable, compact, full, take
from dfl.backends.cuda.device import Device, kernel

cuda = None  # numba.cuda, bound when a kernel is first compiled (device.Kernel)


@kernel
def k_absent(pmat, ph, bmat, head, nxt, out):
    """out[i]: probe row i has no equal row in the table."""
    i = cuda.grid(1)
    if i < pmat.shape[0]:
        r = head[ph[i]]
        found = False
        while r >= 0 and not found:
            same = True
            for j in range(pmat.shape[1]):
                if pmat[i, j] != bmat[r, j]:
                    same = False
                    break
            found = same
            r = nxt[r]
        out[i] = not found


@kernel
def k_find(pmat, ph, bmat, head, nxt, out):
    """out[i]: the table's row equal to probe row i, or -1."""
    i = cuda.grid(1)
    if i < pmat.shape[0]:
        r = head[ph[i]]
        at = -1
        while r >= 0 and at < 0:
            same = True
            for j in range(pmat.shape[1]):
                if pmat[i, j] != bmat[r, j]:
                    same = False
                    break
            if same:
                at = r
            r = nxt[r]
        out[i] = at


@kernel
def k_put_rows(src, idx, dst, at):
    i = cuda.grid(1)
    if i < idx.shape[0]:
        for j in range(src.shape[1]):
            dst[at + i, j] = src[idx[i], j]


@kernel
def k_copy_rows(src, dst, n):
    i = cuda.grid(1)
    if i < n:
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


@kernel
def k_put(src, dst, at):
    i = cuda.grid(1)
    if i < src.shape[0]:
        dst[at + i] = src[i]


@kernel
def k_link(h, head, nxt, start):
    """Rows start + i (of bucket h[i]) pushed on their buckets' chains."""
    i = cuda.grid(1)
    if i < h.shape[0]:
        nxt[start + i] = cuda.atomic.exch(head, h[i], start + i)


class DeviceRowSet:
    def __init__(self, dev: Device, schema: Schema) -> None:
        self.dev, self.schema = dev, schema
        self.k = schema.arity
        self.n = 0
        self.cap = 0
        self.cols: list = []
        self.mat = self.nxt = self.head = None
        self.nb = 0
        self._grow(64)
        self._rebucket(64)

    def _grow(self, cap: int) -> None:
        dev = self.dev
        cols = [dev.empty(cap, DTYPES[t]) for t in self.schema.types]
        mat = dev.empty2(cap, self.k, np.int64)
        nxt = dev.empty(cap, np.int64)
        if self.n:
            for old, new in zip(self.cols, cols):
                dev.launch(k_put, self.n, old[:self.n], new, 0)
            dev.launch(k_copy_rows, self.n, self.mat, mat, self.n)
        self.cols, self.mat, self.nxt, self.cap = cols, mat, nxt, cap

    def _rebucket(self, nb: int) -> None:
        self.nb = nb
        self.head = full(self.dev, nb, -1, np.int64)
        self._link(0, self.n)

    def _link(self, start: int, end: int) -> None:
        h = H.hashes(self.dev, self.mat[start:end], end - start, self.nb - 1)
        self.dev.launch(k_link, end - start, h, self.head, self.nxt, start)

    def add(self, t: DTable) -> DTable:
        """Adds t's rows; returns those that were new (each once)."""
        dev = self.dev
        d = H.distinct(dev, t)
        pmat = H.key_matrix(dev, d.cols, d.n)
        ph = H.hashes(dev, pmat, d.n, self.nb - 1)
        absent = dev.empty(d.n, np.bool_)
        dev.launch(k_absent, d.n, pmat, ph, self.mat, self.head, self.nxt, absent)
        idx, m = compact(dev, absent, d.n)
        if m == 0 and not dev.recording:
            return DTable([c[:0] for c in d.cols], 0, True)
        new = take(dev, d, idx, m)
        self.append(new, pmat, idx)
        return DTable(new.cols, m, True)

    def find(self, cols: list, n: int):
        """(the row of the set equal to each of these rows, or -1; their key matrix)."""
        pmat = H.key_matrix(self.dev, cols, n)
        ph = H.hashes(self.dev, pmat, n, self.nb - 1)
        pos = self.dev.empty(n, np.int64)
        self.dev.launch(k_find, n, pmat, ph, self.mat, self.head, self.nxt, pos)
        return pos, pmat

    def append(self, new: DTable, pmat, idx) -> int:
        """Appends rows the set lacks (their keys: rows idx of pmat); returns the first's row."""
        dev, m = self.dev, new.n
        grown = self.n + m > self.cap
        if grown:  # new arrays: the chains (nxt) are relinked below
            self._grow(max(2 * self.cap, self.n + m))
        for c, nc in zip(self.cols, new.cols):
            dev.launch(k_put, m, nc, c, self.n)
        dev.launch(k_put_rows, m, pmat, idx, self.mat, self.n)
        start, self.n = self.n, self.n + m
        if grown or self.n > 2 * self.nb:
            nb = self.nb
            while self.n > nb:
                nb *= 2
            self._rebucket(nb)
        else:
            self._link(start, self.n)
        return start

    def view(self) -> DTable:
        return DTable([c[:self.n] for c in self.cols], self.n, True)
