"""Rows as the interpreter holds them, with hash indexes on join keys kept as long as the rows."""
from __future__ import annotations

from operator import itemgetter
from typing import Callable, Iterable


def key_fn(keys: tuple[int, ...]) -> Callable[[tuple], tuple]:
    """Extracts a join key as a tuple (itemgetter alone gives a scalar for one key)."""
    if not keys:
        return lambda r: ()
    if len(keys) == 1:
        (k,) = keys
        return lambda r: (r[k],)
    return itemgetter(*keys)


class Rel:
    """An immutable bag of rows (distinct where the op makes it so) with cached indexes."""

    __slots__ = ("rows", "_indexes")

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows
        self._indexes: dict[tuple[int, ...], dict[tuple, list[tuple]]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def has_index(self, keys: tuple[int, ...]) -> bool:
        return keys in self._indexes

    def index(self, keys: tuple[int, ...]) -> dict[tuple, list[tuple]]:
        idx = self._indexes.get(keys)
        if idx is None:
            idx = {}
            kf = key_fn(keys)
            for r in self.rows:
                idx.setdefault(kf(r), []).append(r)
            self._indexes[keys] = idx
        return idx


class FullRel(Rel):
    """A relation growing across fixpoint iterations; its indexes grow with it."""

    __slots__ = ("_set",)

    def __init__(self, rows: Iterable[tuple] = ()) -> None:
        self._set: set[tuple] = set()
        super().__init__([])
        self.add_new(rows)

    def add_new(self, rows: Iterable[tuple]) -> list[tuple]:
        """Adds the rows not yet present; returns them (the next delta)."""
        new = []
        s = self._set
        for r in rows:
            if r not in s:
                s.add(r)
                new.append(r)
        self.rows.extend(new)
        for keys, idx in self._indexes.items():
            kf = key_fn(keys)
            for r in new:
                idx.setdefault(kf(r), []).append(r)
        return new


class LatticeRel(Rel):
    """A lattice relation across fixpoint iterations: one row per key, merged values."""

    __slots__ = ("_by_key", "_k", "_merge")

    def __init__(self, key_arity: int, lattices: tuple[str, ...], rows: Iterable[tuple] = ()) -> None:
        self._by_key: dict[tuple, tuple] = {}
        self._k = key_arity
        self._merge = [min if l == "min" else max for l in lattices]
        super().__init__([])
        self.add_new(rows)

    @property  # type: ignore[override]
    def rows(self):
        return list(self._by_key.values())

    @rows.setter
    def rows(self, value):
        pass

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self):
        return iter(list(self._by_key.values()))

    def index(self, keys: tuple[int, ...]) -> dict:
        idx = self._indexes.get(keys)
        if idx is None:
            idx = {}
            kf = key_fn(keys)
            k = self._k
            for r in self._by_key.values():
                idx.setdefault(kf(r), {})[r[:k]] = r
            self._indexes[keys] = idx
        return _ValuesView(idx)

    def add_new(self, rows: Iterable[tuple]) -> list[tuple]:
        """Merges rows in; returns the rows whose key is new or whose value improved."""
        k, merge, by_key = self._k, self._merge, self._by_key
        changed: dict[tuple, tuple] = {}
        for r in rows:
            key = r[:k]
            old = by_key.get(key)
            if old is None:
                new = r
            else:
                new = key + tuple(m(a, b) for m, a, b in zip(merge, old[k:], r[k:]))
                if new == old:
                    continue
            by_key[key] = new
            changed[key] = new
        for keys, idx in self._indexes.items():
            kf = key_fn(keys)
            for key, r in changed.items():
                idx.setdefault(kf(r), {})[key] = r
        return list(changed.values())


class _ValuesView:
    """An index whose buckets are dicts keyed by the lattice key (so updates replace rows)."""

    __slots__ = ("_idx",)

    def __init__(self, idx: dict) -> None:
        self._idx = idx

    def get(self, key, default=()):
        b = self._idx.get(key)
        return default if b is None else list(b.values())
