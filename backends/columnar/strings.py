"""The string dictionary: strings are encoded once at input, so every kernel sees int64 codes.

A code is the string's index in the pool, so equal strings have equal codes. Order
(`<` on strings, by code point) goes through `ranks()`, recomputed when the pool grew.
"""
from __future__ import annotations

import numpy as np


class StringPool:
    def __init__(self) -> None:
        self.strings: list[str] = []
        self.codes: dict[str, int] = {}
        self._ranks: np.ndarray | None = None
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.strings)

    def code(self, s: str) -> int:
        c = self.codes.get(s)
        if c is None:
            c = self.codes[s] = len(self.strings)
            self.strings.append(s)
            self._ranks = None
            self._array = None
        return c

    def encode(self, values) -> np.ndarray:
        # dict.get through map() runs in C; only the strings seen for the first time
        # take the slow path (a Python call each)
        values = values if isinstance(values, list) else list(values)
        get = self.codes.get
        try:
            return np.fromiter(map(get, values), np.int64, count=len(values))
        except TypeError:  # a string not seen before (get gave None)
            code = self.code
            return np.fromiter((code(v) for v in values), np.int64, count=len(values))

    def values(self) -> np.ndarray:
        """The strings by code, as an object array (kept until the pool grows; a later
        pool's array extends this one, so codes taken now keep their meaning)."""
        if self._array is None or len(self._array) != len(self.strings):
            self._array = np.array(self.strings, dtype=object)
        return self._array

    def decode(self, codes: np.ndarray) -> list[str]:
        return self.values()[codes].tolist() if len(codes) else []

    def ranks(self) -> np.ndarray:
        """rank[code]: the string's position in code-point order (for <, <=, sorting)."""
        if self._ranks is None or len(self._ranks) != len(self.strings):
            order = sorted(range(len(self.strings)), key=self.strings.__getitem__)
            r = np.empty(len(self.strings), np.int64)
            r[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
            self._ranks = r
        return self._ranks

    def map_unary(self, codes: np.ndarray, f, out_dtype) -> np.ndarray:
        """Applies a Python function once per distinct code (strings repeat a lot)."""
        uniq, inv = np.unique(codes, return_inverse=True)
        vals = [f(self.strings[c]) for c in uniq.tolist()]
        if out_dtype is str:
            res = np.fromiter((self.code(v) for v in vals), np.int64, count=len(vals))
        else:
            res = np.asarray(vals, dtype=out_dtype)
        return res[inv] if len(codes) else np.empty(0, res.dtype if len(vals) else np.int64)
