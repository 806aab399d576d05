"""The keys of a lattice relation in a fixpoint: key -> row, hashed or by array position.

Both maps answer `fit(keys)` (make room; False: this map cannot hold them), `update`
(merge candidate values, return the new or improved rows), `key_rows` and `capacity`.

`HashKeys` holds any key (a hash set over the key rows). `DenseKeys` holds the keys of

one int (or string code) column whose keys span a range not much wider than their number
(node ids, interned strings): it finds a key's row by indexing an array with it: one memory access per candidate, where a hash set needs a hash, a slot
and a compare against the stored row. Connected components by min label is the classic:
its label store is touched once per derived candidate, millions of times.

The range grows (re-allocated) while it stays dense; keys that would make it sparse make
`fit` return False, and the caller moves to a hash set. Its interface is RowSet's where
they overlap (count, insert, lookup) plus HashKeys' (rowset.py) for lattices.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from dfl.backends.cpu import kernels as K

EMPTY = -1
MIN_SPAN = 1 << 16  # a small relation may leave most of its range empty
SPARSE = 4  # a range at most this many times the keys (plus MIN_SPAN) stays an array


class DenseKeys:
    """key -> row number (store index), for keys in lo .. lo + len(rows) - 1."""

    kind = "dense"

    def __init__(self) -> None:
        self.lo = 0
        self.rows = np.full(0, EMPTY, np.int64)
        self.keys = np.empty(64, np.int64)  # the key of each row, in row order
        self.count = 0

    def capacity(self) -> int:
        return len(self.keys)

    def fit(self, km: np.ndarray) -> bool:
        """Makes room for every key of `km` (one non-empty int64 column); False when the
        range they would need is sparse (the caller switches to hashing)."""
        key = km[:, 0]
        lo, hi = int(key.min()), int(key.max())
        if self.count:
            lo, hi = min(lo, self.lo), max(hi, self.lo + len(self.rows) - 1)
        span = hi - lo + 1
        if span > SPARSE * (self.count + len(key)) + MIN_SPAN:
            return False
        if lo < self.lo or span > len(self.rows) or not self.count:
            # grow with slack on the side that grew, so a slowly widening range re-allocates rarely
            old_lo, old = self.lo, self.rows
            grow_lo = lo < old_lo and self.count
            slack = min(span, MIN_SPAN) if self.count else 0
            new_lo = lo - slack if grow_lo else lo
            rows = np.full(span + slack, EMPTY, np.int64)
            if self.count:
                rows[old_lo - new_lo: old_lo - new_lo + len(old)] = old
            self.lo, self.rows = new_lo, rows
        need = self.count + len(key)
        if need > len(self.keys):
            keys = np.empty(max(need, 2 * len(self.keys)), np.int64)
            keys[:self.count] = self.keys[:self.count]
            self.keys = keys
        return True

    def update(self, values: np.ndarray, km: np.ndarray, cand: np.ndarray, is_min: np.ndarray) -> np.ndarray:
        """Merges candidate values into `values` (one row per store index); returns the
        store indices that are new or improved, sorted."""
        key = np.ascontiguousarray(km[:, 0])
        self.count, changed = dense_lattice_update(self.rows, self.lo, self.keys, self.count, values, key, cand, is_min)
        return changed

    def key_rows(self, start: int, end: int) -> np.ndarray:
        return self.keys[start:end].reshape(-1, 1)

    def insert(self, km: np.ndarray) -> np.ndarray:
        """Adds the keys not held yet (after `fit`); returns the indices (into km) of the
        rows that were new."""
        self.count, new = dense_insert(self.rows, self.lo, self.keys, self.count, np.ascontiguousarray(km[:, 0]))
        return new

    def lookup(self, km: np.ndarray) -> np.ndarray:
        """The row of each key, or -1."""
        return K.dense_lookup(self.rows, self.lo, np.ascontiguousarray(km[:, 0]))


@njit(cache=True)
def dense_insert(rows: np.ndarray, lo: int, keys: np.ndarray, count: int, key: np.ndarray):
    new = np.empty(key.shape[0], np.int64)
    k = 0
    for i in range(key.shape[0]):
        r = key[i] - lo
        if rows[r] == EMPTY:
            rows[r] = count
            keys[count] = key[i]
            count += 1
            new[k] = i
            k += 1
    return count, new[:k].copy()


@njit(cache=True)
def dense_lattice_update(rows: np.ndarray, lo: int, keys: np.ndarray, count: int, values: np.ndarray,
                         key: np.ndarray, cand: np.ndarray, is_min: np.ndarray):
    """lattice_update (kernels.py) with the key's row found by indexing `rows`."""
    changed = np.zeros(count + key.shape[0], np.bool_)
    for i in range(key.shape[0]):
        k = key[i]
        r = rows[k - lo]
        if r == EMPTY:
            r = count
            rows[k - lo] = r
            keys[r] = k
            for c in range(cand.shape[1]):
                values[r, c] = cand[i, c]
            changed[r] = True
            count += 1
            continue
        for c in range(cand.shape[1]):
            v = cand[i, c]
            if (is_min[c] and v < values[r, c]) or (not is_min[c] and v > values[r, c]):
                values[r, c] = v
                changed[r] = True
    return count, np.nonzero(changed[:count])[0]
