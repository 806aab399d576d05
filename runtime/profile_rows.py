"""Crediting a fixpoint iteration's new rows to the rules that derived them (the profiler's
per-rule "new" count), for both kinds of value a backend hands the semi-naive driver: a
columnar Table (cpu: rows compared as their int64 key bits, in numpy) or any iterable of
row tuples (the interpreter's Rel)."""
from __future__ import annotations

from typing import Any, Sequence


def claim(delta: Any, rules: Sequence[Any]) -> list[int]:
    """For each rule's rows (None: not computed), how many distinct rows of `delta` it is
    the first (in order) to contain. The counts sum to at most the rows of `delta`."""
    if hasattr(delta, "cols"):
        return _claim_columns(delta, rules)
    left = set(delta)
    out = []
    for r in rules:
        if r is None or not left:
            out.append(0)
            continue
        hit = left.intersection(r)
        left -= hit
        out.append(len(hit))
    return out


def _keys(t):
    """t's rows as one opaque fixed-size value each (their key bits), sortable and comparable."""
    import numpy as np

    from dfl.backends.columnar.table import key_matrix

    km = np.ascontiguousarray(key_matrix(list(t.cols), t.n))
    return km.view(np.dtype((np.void, 8 * km.shape[1]))).ravel()


def _claim_columns(delta, rules: Sequence[Any]) -> list[int]:
    import numpy as np  # a columnar backend's values: numpy is loaded already

    if not delta.cols:  # a relation without columns: one row, or none
        first = next((j for j, r in enumerate(rules) if r is not None and r.n), None)
        return [int(delta.n > 0 and j == first) for j in range(len(rules))]
    left = np.unique(_keys(delta))
    out = []
    for r in rules:
        if r is None or not r.n or not len(left):
            out.append(0)
            continue
        hit = np.isin(left, _keys(r))
        out.append(int(np.count_nonzero(hit)))
        left = left[~hit]
    return out
