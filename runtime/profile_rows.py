"""Crediting a fixpoint iteration's new rows to the rules that derived them (the profiler's
per-rule "new" count), for both kinds of value a backend hands the semi-naive driver: a
columnar Table (cpu: rows compared as their int64 key bits, in numpy) or any iterable of
row tuples (the interpreter's Rel)."""
from __future__ import annotations

from typing import Any, Sequence


def claim(delta: Any, rules: Sequence[Sequence[Any]]) -> list[int]:
    """For each rule, given as the values its nodes output (None: not computed), how many
    distinct rows of `delta` it is the first (in order) to contain. The counts sum to at
    most the rows of `delta`."""
    rules = [[v for v in vs if v is not None and _rows(v)] for vs in rules]
    if hasattr(delta, "cols"):
        return _claim_columns(delta, rules)
    left = set(delta)
    out = []
    for vs in rules:
        hit = set().union(*(left.intersection(v) for v in vs)) if left else set()
        left -= hit
        out.append(len(hit))
    return out


def _rows(v: Any) -> int:
    return v.n if hasattr(v, "cols") else len(v)


def _claim_columns(delta, rules: list[list[Any]]) -> list[int]:
    import numpy as np  # a columnar backend's values: numpy is loaded already

    from dfl.backends.columnar.table import key_matrix

    if not delta.cols:  # a relation without columns: one row, or none
        first = next((j for j, vs in enumerate(rules) if vs), None)
        return [int(delta.n > 0 and j == first) for j in range(len(rules))]
    dk = key_matrix(list(delta.cols), delta.n)
    encode = _encoder(dk)
    left = np.unique(encode(dk))
    out = []
    for vs in rules:
        if not vs or not len(left):
            out.append(0)
            continue
        hit = np.isin(left, np.concatenate([encode(key_matrix(list(v.cols), v.n)) for v in vs]))
        out.append(int(np.count_nonzero(hit)))
        left = left[~hit]
    return out


def _encoder(dk):
    """Rows (int64 key matrices) as one comparable value each. Only rows inside the delta's
    value ranges can match one of its rows, and there a mixed-radix int64 code is exact when
    the ranges' product fits (ids usually do); else the rows' bytes (slower to sort)."""
    import numpy as np

    lo, hi = dk.min(axis=0), dk.max(axis=0)
    spans = [int(h) - int(lo_) + 1 for lo_, h in zip(lo, hi)]
    total = 1
    for sp in spans:
        total *= sp
    if total >= 1 << 62:
        def as_bytes(km):
            km = np.ascontiguousarray(km)
            return km.view(np.dtype((np.void, 8 * km.shape[1]))).ravel()
        return as_bytes
    radix = np.ones(len(spans), np.int64)
    for j in range(len(spans) - 2, -1, -1):
        radix[j] = radix[j + 1] * spans[j + 1]

    def as_code(km):
        km = km[np.all((km >= lo) & (km <= hi), axis=1)]
        return ((km - lo) * radix).sum(axis=1)
    return as_code
