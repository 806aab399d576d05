"""Hash tables on the device: rows as int64 key matrices, chained buckets built with atomics.

A key row is its columns as int64 (floats by their bits, -0.0 as 0.0, as the host's
key_matrix). `build` hashes every row and pushes it on its bucket's chain with an atomic
exchange (head[bucket] -> row, next[row] -> the old head): no locks, any thread order.
A probe walks the chain of its bucket comparing whole key rows. On these:

- join: count the matches of each probe row (summing the total with an atomic add), then
  write each row's pairs at a place an atomic counter hands out;
- anti-join: the probe rows with no match;
- first occurrence (distinct, group ids): a row's representative is the lowest row of its
  chain with the same key; representatives get dense ids from an atomic counter.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfl.backends.cuda.columns import DTable, full
from dfl.backends.cuda.device import Device, kernel

from numba import int64, uint64

cuda = None  # numba.cuda, bound when a kernel is first compiled (device.Kernel): importing
#              this module imports no numba.cuda (a machine without it, or the simulator set later)


@kernel
def k_key_int(col, mat, j):
    i = cuda.grid(1)
    if i < col.shape[0]:
        mat[i, j] = int64(col[i])


@kernel
def k_norm_float(col, out):
    i = cuda.grid(1)
    if i < col.shape[0]:
        out[i] = col[i] + 0.0  # -0.0 + 0.0 is 0.0: one key for values equal as floats


@kernel
def k_hash(mat, mask, h):
    i = cuda.grid(1)
    if i < mat.shape[0]:
        v = uint64(0x243F6A8885A308D3)
        for j in range(mat.shape[1]):
            v = (v ^ uint64(mat[i, j])) * uint64(0x100000001B3)
            v = v ^ (v >> uint64(29))
            v = v * uint64(0xBF58476D1CE4E5B9)
            v = v ^ (v >> uint64(32))
        h[i] = int64(v & uint64(mask))


@kernel
def k_build(h, head, nxt):
    i = cuda.grid(1)
    if i < h.shape[0]:
        nxt[i] = cuda.atomic.exch(head, h[i], i)


@kernel
def k_probe_count(pmat, ph, bmat, head, nxt, counts, total):
    i = cuda.grid(1)
    if i < pmat.shape[0]:
        c = 0
        r = head[ph[i]]
        while r >= 0:
            same = True
            for j in range(pmat.shape[1]):
                if pmat[i, j] != bmat[r, j]:
                    same = False
                    break
            if same:
                c += 1
            r = nxt[r]
        counts[i] = c
        if c > 0:
            cuda.atomic.add(total, 0, c)


@kernel
def k_probe_emit(pmat, ph, bmat, head, nxt, counts, cursor, pi, bi):
    i = cuda.grid(1)
    if i < pmat.shape[0] and counts[i] > 0:
        at = cuda.atomic.add(cursor, 0, counts[i])
        r = head[ph[i]]
        while r >= 0:
            same = True
            for j in range(pmat.shape[1]):
                if pmat[i, j] != bmat[r, j]:
                    same = False
                    break
            if same:
                pi[at] = i
                bi[at] = r
                at += 1
            r = nxt[r]


@kernel
def k_first(mat, h, head, nxt, rep):
    i = cuda.grid(1)
    if i < mat.shape[0]:
        best = i
        r = head[h[i]]
        while r >= 0:
            if r < best:
                same = True
                for j in range(mat.shape[1]):
                    if mat[i, j] != mat[r, j]:
                        same = False
                        break
                if same:
                    best = r
            r = nxt[r]
        rep[i] = best


@kernel
def k_number_firsts(rep, counter, gid, firsts):
    i = cuda.grid(1)
    if i < rep.shape[0] and rep[i] == i:
        g = cuda.atomic.add(counter, 0, 1)
        gid[i] = g
        firsts[g] = i


@kernel
def k_spread_ids(rep, gid, ids):
    i = cuda.grid(1)
    if i < rep.shape[0]:
        ids[i] = gid[rep[i]]


def key_matrix(dev: Device, cols: list, n: int):
    mat = dev.empty2(n, len(cols), np.int64)
    for j, c in enumerate(cols):
        if c.dtype == np.float64:
            norm = dev.empty(n, np.float64)
            dev.launch(k_norm_float, n, c[:n], norm)
            c = norm.view(np.int64)
        dev.launch(k_key_int, n, c[:n], mat, j)
    return mat


@dataclass
class HashTable:
    mat: object  # the build rows' key matrix
    head: object
    nxt: object
    mask: int


def _buckets(n: int) -> int:
    b = 16
    while b < 2 * n:
        b *= 2
    return b


def hashes(dev: Device, mat, n: int, mask: int):
    h = dev.empty(n, np.int64)
    dev.launch(k_hash, n, mat, mask, h)
    return h


def build(dev: Device, cols: list, n: int) -> tuple[HashTable, object]:
    """The hash table over these key columns, and the rows' bucket numbers."""
    nb = _buckets(n)
    mat = key_matrix(dev, cols, n)
    head = full(dev, nb, -1, np.int64)
    nxt = dev.empty(n, np.int64)
    h = hashes(dev, mat, n, nb - 1)
    dev.launch(k_build, n, h, head, nxt)
    return HashTable(mat, head, nxt, nb - 1), h


def probe_counts(dev: Device, ht: HashTable, cols: list, n: int):
    """(the probe rows' key matrix, their buckets, matches per row, total matches)."""
    pmat = key_matrix(dev, cols, n)
    ph = hashes(dev, pmat, n, ht.mask)
    counts = dev.empty(n, np.int64)
    total = full(dev, 1, 0, np.int64)
    dev.launch(k_probe_count, n, pmat, ph, ht.mat, ht.head, ht.nxt, counts, total)
    return pmat, ph, counts, dev.scalar(total)


def pairs(dev: Device, build_cols: list, nb: int, probe_cols: list, npr: int, check=None):
    """(probe row, build row) index pairs with equal keys; `check(total)` may refuse a size
    (the memory limit) before the pairs are allocated."""
    ht, _ = build(dev, build_cols, nb)
    pmat, ph, counts, total = probe_counts(dev, ht, probe_cols, npr)
    if check is not None:
        check(total)
    pi = dev.empty(total, np.int64)
    bi = dev.empty(total, np.int64)
    cursor = full(dev, 1, 0, np.int64)
    dev.launch(k_probe_emit, npr, pmat, ph, ht.mat, ht.head, ht.nxt, counts, cursor, pi, bi)
    return pi, bi, total


def group_ids(dev: Device, cols: list, n: int):
    """(dense group id per row, the first row of each group, the number of groups)."""
    ht, h = build(dev, cols, n)
    rep = dev.empty(n, np.int64)
    dev.launch(k_first, n, ht.mat, h, ht.head, ht.nxt, rep)
    counter = full(dev, 1, 0, np.int64)
    gid = dev.empty(n, np.int64)
    firsts = dev.empty(n, np.int64)
    dev.launch(k_number_firsts, n, rep, counter, gid, firsts)
    g = dev.scalar(counter)
    ids = dev.empty(n, np.int64)
    dev.launch(k_spread_ids, n, rep, gid, ids)
    return ids, firsts[:g], g


def distinct(dev: Device, t: DTable) -> DTable:
    from dfl.backends.cuda.columns import take

    if t.distinct or (t.n == 0 and not dev.recording):
        return DTable(t.cols, t.n, True)
    if not t.cols:
        return DTable([], min(t.n, 1), True)
    if t.n == 0:
        t = DTable(t.cols, 0)
    _, firsts, g = group_ids(dev, t.cols, t.n)
    out = t if g == t.n else take(dev, t, firsts, g)
    return DTable(out.cols, out.n, True)
