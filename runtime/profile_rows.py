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


TABLE_MAX = 1 << 24  # codes up to this, and not many more than the rows: a byte per possible row, no sort


def _claim_columns(delta, rules: list[list[Any]]) -> list[int]:
    import numpy as np  # a columnar backend's values: numpy is loaded already

    if not delta.cols:  # a relation without columns: one row, or none
        first = next((j for j, vs in enumerate(rules) if vs), None)
        return [int(delta.n > 0 and j == first) for j in range(len(rules))]
    dcols = _bits(delta)
    lo = [int(c.min()) for c in dcols]
    hi = [int(c.max()) for c in dcols]
    total = 1
    for a, b in zip(lo, hi):
        total *= b - a + 1
    if total >= 1 << 62:
        return _claim_sorted(delta, rules)
    code = _coder(lo, hi)
    # a delta's rows are distinct (new rows of a set, or improved keys): one code each
    left = code(dcols)
    derived = [[code(_bits(v)) for v in vs] for vs in rules]
    if total > min(TABLE_MAX, 8 * (len(left) + sum(len(c) for cs in derived for c in cs))):
        return _claim_hashed(left, derived)
    state = np.zeros(total, np.uint8)  # 1: a delta row not yet credited, 2: credited
    state[left] = 1
    remaining, out = len(left), []
    for cs in derived:
        for c in cs:
            state[c[state[c] == 1]] = 2
        now = int(np.count_nonzero(state[left] == 1)) if cs else remaining
        out.append(remaining - now)
        remaining = now
    return out


def _claim_hashed(left, derived: list[list[Any]]) -> list[int]:
    """The crediting by hashing: the delta's codes and a rule's derived codes numbered
    together (distinct delta codes come first, so the numbers below len(left) are delta
    rows). Millions of candidates against a delta: sorting them, as np.isin does, cost the
    profiler more than the fixpoint it profiled."""
    import numpy as np

    from dfl.backends.columnar.table import factorize_columns

    credited = np.zeros(len(left), np.bool_)
    out = []
    for cs in derived:
        before = int(np.count_nonzero(credited))
        for c in cs:
            both = np.concatenate([left, np.asarray(c, dtype=np.int64)])
            ids, _ = factorize_columns([both], len(both))
            at = ids[len(left):]
            credited[at[at < len(left)]] = True
        out.append(int(np.count_nonzero(credited)) - before)
    return out


def _bits(t) -> list:
    """t's columns as int64 keys, as key_matrix makes them (floats equal as values share one)."""
    import numpy as np

    return [(c + 0.0).view(np.int64) if c.dtype == np.float64 else c.astype(np.int64, copy=False) for c in t.cols]


def _coder(lo: list[int], hi: list[int]):
    """Rows (int64 columns) inside the delta's value ranges as one mixed-radix code each;
    rows outside them cannot be one of its rows and are dropped."""
    import numpy as np

    spans = [b - a + 1 for a, b in zip(lo, hi)]

    def code(cols: list) -> "np.ndarray":
        keep = None
        for c, a, b in zip(cols, lo, hi):
            m = (c >= a) & (c <= b)
            keep = m if keep is None else np.logical_and(keep, m, out=keep)
        out = np.zeros(int(np.count_nonzero(keep)), np.int64)
        for c, a, sp in zip(cols, lo, spans):
            out *= sp
            out += c[keep] - a
        return out
    return code


def _claim_sorted(delta, rules: list[list[Any]]) -> list[int]:
    """Value ranges too wide for one int64 code: the rows' bytes, matched by sorting."""
    import numpy as np

    from dfl.backends.columnar.table import key_matrix

    def keys(t):
        km = np.ascontiguousarray(key_matrix(list(t.cols), t.n))
        return km.view(np.dtype((np.void, 8 * km.shape[1]))).ravel()

    left = np.unique(keys(delta))
    out = []
    for vs in rules:
        if not vs or not len(left):
            out.append(0)
            continue
        hit = np.isin(left, np.concatenate([keys(v) for v in vs]))
        out.append(int(np.count_nonzero(hit)))
        left = left[~hit]
    return out
