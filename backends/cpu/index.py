"""Join indexes on key columns: one-off (chained, or an array for a small int range) and lasting
(grouped_index.py); the row sets they hash keys with live in rowset.py."""
from __future__ import annotations

import numpy as np

from dfl.backends.cpu import kernels as K
from dfl.backends.cpu.dense_keys import DenseKeys
from dfl.backends.cpu.grouped_index import GroupedIndex
from dfl.backends.cpu.rowset import RowSet, group_ids
from dfl.backends.columnar.table import Table
from dfl.runtime import limits
from dfl.runtime.profile import timed_index


PARALLEL_ROWS = 200_000  # probes from which a join runs on all cores


class JoinIndex:
    """Rows of a table grouped by their key columns: key -> chain of row numbers."""

    def __init__(self, keys: tuple[int, ...]) -> None:
        self.keys = keys
        self.groups: RowSet | DenseKeys | None = None  # chosen on the first rows
        self.head = np.full(64, K.EMPTY, np.int64)
        self.next = np.empty(64, np.int64)
        self.rows = 0

    @timed_index("hash", lambda self, table: table.n - self.rows)  # --stats: its builds, rows, time
    def extend(self, table: Table) -> None:
        """Indexes rows self.rows .. table.n (the table only ever grows)."""
        start, n = self.rows, table.n
        self.groups, gids = group_ids(self.groups, table, self.keys, start)
        if n <= start:
            return
        if self.groups.count > len(self.head):
            head = np.full(max(self.groups.count, 2 * len(self.head)), K.EMPTY, np.int64)
            head[:len(self.head)] = self.head
            self.head = head
        if n > len(self.next):
            nxt = np.empty(max(n, 2 * len(self.next)), np.int64)
            nxt[:self.rows] = self.next[:self.rows]
            self.next = nxt
        K.chain_add(self.head, self.next, gids, start)
        self.rows = n

    def gids(self, keys: np.ndarray) -> np.ndarray:
        """The group of each key row (-1 where no indexed row has that key)."""
        return self.groups.lookup(keys)

    def layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """As GroupedIndex.layout (grouped_index.py): every row chained, none laid out."""
        return np.zeros(1, np.int64), np.empty(0, np.int64), self.head, self.next, 0

    def dense_slots(self) -> tuple[int, np.ndarray] | None:
        """(lowest key, group id per key - lowest) when the groups are held by array
        position (a fused pipeline then probes the array itself), else None."""
        if isinstance(self.groups, DenseKeys):
            return self.groups.lo, self.groups.rows
        return None

    def probe(self, keys: np.ndarray, row_bytes: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """(probe row, indexed row) pairs with equal keys; `row_bytes`: the size of a
        result row, for the memory limit."""
        return _chains(self.head, self.next, self.gids(keys), row_bytes)


class DenseJoinIndex:
    """A join index on one int key column whose values span a small range: group ids come
    from an array indexed by the value (no hashing). Built once, for a side that does not
    grow (a fixpoint's growing relations keep the hashed JoinIndex)."""

    @timed_index("dense", lambda self, col, lo, span: len(col))
    def __init__(self, col: np.ndarray, lo: int, span: int) -> None:
        self.lo = lo
        ids, first = K.factorize_dense(col - lo if lo else col, span)
        # a unique key (a dimension table's primary key) needs no chains: its group id
        # is its row, and a probe is one array lookup per probe row
        self.unique = len(first) == len(col)
        self.slot = np.full(span, K.EMPTY, np.int64)
        self.slot[col[first] - lo] = first if self.unique else np.arange(len(first), dtype=np.int64)
        if self.unique:
            return
        self.head = np.full(max(len(first), 1), K.EMPTY, np.int64)
        self.next = np.empty(max(len(col), 1), np.int64)
        K.chain_add(self.head, self.next, ids, 0)

    def gids(self, keys: np.ndarray) -> np.ndarray:
        return K.dense_lookup(self.slot, self.lo, np.ascontiguousarray(keys[:, 0]))

    def dense_slots(self) -> tuple[int, np.ndarray]:
        return self.lo, self.slot

    def probe(self, keys: np.ndarray, row_bytes: int = 16) -> tuple[np.ndarray, np.ndarray]:
        gids = self.gids(keys)
        if self.unique:  # at most one pair per probe row: nothing to check
            hit = np.flatnonzero(gids >= 0)
            return hit, gids[hit]
        return _chains(self.head, self.next, gids, row_bytes)


def _chains(head: np.ndarray, nxt: np.ndarray, gids: np.ndarray, row_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of a probe; the kernels count them before allocating, so a join past the
    memory limit fails (LimitExceeded) having allocated nothing."""
    probe = K.chain_probe_parallel if len(gids) >= PARALLEL_ROWS else K.chain_probe  # big: all cores
    small = limits.small_rows(row_bytes)  # pairs that pass without a look at the resident set
    left, right, total = probe(head, nxt, gids, -1 if small is None else small)
    if len(left) != total:  # many pairs: do they fit? then count again, and build them
        limits.check_rows(int(total), row_bytes)
        left, right, total = probe(head, nxt, gids, -1)
    return left, right


def fresh_index(t: Table, keys: tuple[int, ...]):
    """A one-off join index on t's key columns: dense when one int key spans a small range."""
    if len(keys) == 1 and t.n and t.cols[keys[0]].dtype == np.int64:
        col = t.cols[keys[0]]
        lo, hi = int(col.min()), int(col.max())
        if hi - lo < max(16 * t.n, 1 << 16):
            return DenseJoinIndex(col, lo, hi - lo + 1)
    idx = JoinIndex(keys)
    idx.extend(t)
    return idx


def index_of(table: Table, keys: tuple[int, ...]) -> GroupedIndex:
    """The table's lasting index on `keys` (grouped_index.py), built or brought up to date."""
    if table.indexes is None:
        table.indexes = {}
    idx = table.indexes.get(keys)
    if idx is None:
        idx = table.indexes[keys] = GroupedIndex(keys)
    idx.extend(table)
    return idx


def join_side(left: Table, right: Table, lk: tuple[int, ...], rk: tuple[int, ...]):
    """The index a join probes and whether the left side probes it: the index a long-lived
    side keeps (a fixpoint relation, a loop-invariant input), else one built on the
    smaller side."""
    if right.indexes is not None:
        return index_of(right, rk), True
    if left.indexes is not None:
        return index_of(left, lk), False
    if right.n <= left.n:
        return fresh_index(right, rk), True
    return fresh_index(left, lk), False
