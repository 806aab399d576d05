"""Hash sets over int64 key rows: the growing row set behind join groups and lattice keys."""
from __future__ import annotations

import numpy as np

from dfl.backends.cpu import kernels as K
from dfl.backends.cpu.dense_keys import DenseKeys
from dfl.backends.columnar.table import key_matrix


class RowSet:
    """Distinct int64 key rows, growing; `slots` is the open-addressing table over `store`."""

    def __init__(self, width: int, capacity: int = 64) -> None:
        self.store = np.empty((capacity, width), np.int64)
        self.count = 0
        self.slots = K.set_rebuild(self.store, 0, K.capacity_for(capacity))

    def reserve(self, extra: int) -> None:
        need = self.count + extra
        if need > self.store.shape[0]:
            cap = max(need, 2 * self.store.shape[0])
            store = np.empty((cap, self.store.shape[1]), np.int64)
            store[:self.count] = self.store[:self.count]
            self.store = store
        if 2 * need + 2 > self.slots.shape[0]:
            self.slots = K.set_rebuild(self.store, self.count, K.capacity_for(need))

    def insert(self, keys: np.ndarray) -> np.ndarray:
        """Adds the new rows; returns the indices (into keys) of those that were new."""
        self.reserve(keys.shape[0])
        self.count, new = K.set_insert(self.slots, self.store, self.count, keys)
        return new

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        return K.set_lookup(self.slots, self.store, keys)


class HashKeys:
    """key rows -> row number through a RowSet (the store index is the row)."""

    kind = "hash"

    def __init__(self, width: int) -> None:
        self.set = RowSet(width)

    @property
    def count(self) -> int:
        return self.set.count

    def capacity(self) -> int:
        return self.set.store.shape[0]

    def fit(self, km: np.ndarray) -> bool:
        self.set.reserve(km.shape[0])
        return True

    def update(self, values: np.ndarray, km: np.ndarray, cand: np.ndarray, is_min: np.ndarray) -> np.ndarray:
        s = self.set
        s.count, changed = K.lattice_update(s.slots, s.store, s.count, values, km, cand, is_min)
        return changed

    def key_rows(self, start: int, end: int) -> np.ndarray:
        return self.set.store[start:end]

    @classmethod
    def of(cls, keys: np.ndarray) -> "HashKeys":
        """A hash map holding `keys` (distinct key rows) at rows 0 .. len-1, in order."""
        out = cls(keys.shape[1])
        out.set.insert(keys)
        return out


def group_ids(groups: "DenseKeys | RowSet | None", table, keys: tuple[int, ...],
              start: int) -> "tuple[DenseKeys | RowSet, np.ndarray]":
    """The group ids of table's rows start .. table.n on its key columns `keys`, and the
    join index's key -> group map holding them: made on the first call (array positions for
    one int column, else a RowSet of the key rows), grown, or moved to a RowSet (same ids)
    when the array's range would go sparse. Shared by the one-off and lasting indexes."""
    if groups is None:
        one_int = len(keys) == 1 and table.cols[keys[0]].dtype == np.int64
        groups = DenseKeys() if one_int else RowSet(len(keys))
    if table.n <= start:
        return groups, np.empty(0, np.int64)
    km = key_matrix([table.cols[k][start:table.n] for k in keys], table.n - start)
    if isinstance(groups, DenseKeys) and not groups.fit(km):
        groups = HashKeys.of(groups.key_rows(0, groups.count)).set
    groups.insert(km)
    return groups, groups.lookup(km)
