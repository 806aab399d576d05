"""A join index that lasts: rows grouped by key, laid out group by group, growing.

A fixpoint probes the same relations every iteration while they grow, so their join
indexes are kept and extended rather than rebuilt (fixpoint.py). A chained index (a
head per group, a `next` per row) extends in O(new rows) but a probe then walks each
group's rows one dependent load at a time, scattered over the table: on a relation of a
million rows that is a cache miss per matching row (~10x slower than reading the same
rows in a run). So rows [0, base) are laid out CSR-style (`order` lists row numbers
group by group, `offsets[g]` where group g starts: reading a group is a sequential read),
and only the rows appended since (`tail`) are chained. When the tail reaches half the
base, the layout is rebuilt over all rows with a counting sort: linear, and each row is
re-laid a constant number of times on average as the relation doubles.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from dfl.backends.cpu import kernels as K
from dfl.backends.cpu.dense_keys import DenseKeys
from dfl.backends.cpu.rowset import RowSet, group_ids
from dfl.backends.columnar.table import Table
from dfl.runtime import limits
from dfl.runtime.profile import timed_index

EMPTY = -1
PARALLEL_ROWS = 200_000  # probes from which the pairs are gathered on all cores


class GroupedIndex:
    """key columns -> the rows holding them, for a table that only ever grows."""

    def __init__(self, keys: tuple[int, ...]) -> None:
        self.keys = keys
        self.groups: DenseKeys | RowSet | None = None  # key -> group id, chosen on the first rows
        self.gid = np.empty(64, np.int64)  # each row's group
        self.rows = 0  # rows indexed
        self.base = 0  # rows laid out by group
        self.order = np.empty(0, np.int64)
        self.offsets = np.zeros(1, np.int64)
        self.head = np.full(64, EMPTY, np.int64)  # the tail's chains: newest row of each group
        self.next = np.empty(64, np.int64)  # by row - base

    @timed_index("grouped", lambda self, table: table.n - self.rows)  # --stats: its builds, rows, time
    def extend(self, table: Table) -> None:
        """Indexes rows self.rows .. table.n (the table only ever grows)."""
        start, n = self.rows, table.n
        self.groups, gids = group_ids(self.groups, table, self.keys, start)
        if n <= start:
            return
        if n > len(self.gid):
            grown = np.empty(max(n, 2 * len(self.gid)), np.int64)
            grown[:start] = self.gid[:start]
            self.gid = grown
        self.gid[start:n] = gids
        self.rows = n
        if n - self.base > self.base // 2:  # the tail has grown: lay every row out again
            self.order, self.offsets = K.group_order(self.gid[:n], self.groups.count)
            self.base = n
            self.head = np.full(max(self.groups.count, 1), EMPTY, np.int64)
            return
        if self.groups.count > len(self.head):
            head = np.full(max(self.groups.count, 2 * len(self.head)), EMPTY, np.int64)
            head[:len(self.head)] = self.head
            self.head = head
        if n - self.base > len(self.next):
            nxt = np.empty(max(n - self.base, 2 * len(self.next)), np.int64)
            nxt[:start - self.base] = self.next[:start - self.base]
            self.next = nxt
        tail_add(self.head, self.next, gids, start, self.base)

    def gids(self, keys: np.ndarray) -> np.ndarray:
        """The group of each key row (-1 where no indexed row has that key)."""
        return self.groups.lookup(keys)

    def dense_slots(self) -> None:
        return None  # fused pipelines (pipeline.py) build their own index

    def layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """(offsets, order, head, next, base): what group_pairs and claim_pairs walk."""
        return self.offsets, self.order, self.head, self.next, self.base

    def probe(self, keys: np.ndarray, row_bytes: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """(probe row, indexed row) pairs with equal keys; past the memory limit,
        LimitExceeded before the pairs are allocated."""
        gids = self.gids(keys)
        small = limits.small_rows(row_bytes)
        par = len(gids) >= PARALLEL_ROWS
        left, right, total = group_pairs(*self.layout(), gids, -1 if small is None else small, par)
        if len(left) != total:
            limits.check_rows(int(total), row_bytes)
            left, right, total = group_pairs(*self.layout(), gids, -1, par)
        return left, right


@njit(cache=True)
def tail_add(head: np.ndarray, nxt: np.ndarray, gids: np.ndarray, row0: int, base: int) -> None:
    for i in range(gids.shape[0]):
        g = gids[i]
        nxt[row0 + i - base] = head[g]
        head[g] = row0 + i


@njit(cache=True, inline="always")
def _count(offsets, head, nxt, base, g) -> int:
    c = 0
    if g + 1 < offsets.shape[0]:
        c = offsets[g + 1] - offsets[g]
    if g < head.shape[0]:
        r = head[g]
        while r != EMPTY:
            c += 1
            r = nxt[r - base]
    return c


@njit(cache=True, parallel=True)
def group_pairs(offsets: np.ndarray, order: np.ndarray, head: np.ndarray, nxt: np.ndarray, base: int,
                gids: np.ndarray, max_pairs: int, parallel: bool):
    """Pairs (probe row, indexed row) for every indexed row of the probe row's group, and
    their count; past max_pairs (>= 0), only the count. Counted per probe row, a prefix
    sum, then each probe row writes at its offset (over the cores when `parallel`)."""
    n = gids.shape[0]
    counts = np.zeros(n, np.int64)
    if parallel:
        for i in prange(n):
            if gids[i] >= 0:
                counts[i] = _count(offsets, head, nxt, base, gids[i])
    else:
        for i in range(n):
            if gids[i] >= 0:
                counts[i] = _count(offsets, head, nxt, base, gids[i])
    start = np.empty(n + 1, np.int64)
    start[0] = 0
    for i in range(n):
        start[i + 1] = start[i] + counts[i]
    total = start[n]
    if 0 <= max_pairs < total:
        return np.empty(0, np.int64), np.empty(0, np.int64), total
    left = np.empty(total, np.int64)
    right = np.empty(total, np.int64)
    if parallel:
        for i in prange(n):
            _emit(offsets, order, head, nxt, base, gids[i], i, start[i], left, right)
    else:
        for i in range(n):
            _emit(offsets, order, head, nxt, base, gids[i], i, start[i], left, right)
    return left, right, total


@njit(cache=True, inline="always")
def _emit(offsets, order, head, nxt, base, g, i, k, left, right) -> None:
    if g < 0:
        return
    if g + 1 < offsets.shape[0]:
        for p in range(offsets[g], offsets[g + 1]):
            left[k] = i
            right[k] = order[p]
            k += 1
    if g < head.shape[0]:
        r = head[g]
        while r != EMPTY:
            left[k] = i
            right[k] = r
            k += 1
            r = nxt[r - base]
