"""The cpu lowering of `range_aggregate`: a correlated min/max/count/sum by sorting.

For each left row, the aggregate over the right rows of its key whose `value` compares
with the left row's `bound` (ir/ops.py). Instead of pairing every left row with every
right row of its key (the join it replaces, quadratic per key), the right side is sorted
once by (key, value); a left row's qualifying rows are then one contiguous run of its
key's block, found by a binary search: the prefix before the bound for `lt`/`le`, the
suffix after it for `gt`/`ge`. Over that run:

- count: its length; sum: a difference of the block's running sums (int64, wrapping as
  the language's int sum does, so the difference is exact);
- min/max: the running min/max scanned from the block's start (prefix) or end (suffix),
  read at the run's last row: `max t : {e(u, t), t < ts}` is ts's predecessor.

Memory is a few arrays the size of each input; time O((L + R) log R).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from dfl.ir.graph import Node
from dfl.backends.columnar.table import Table, factorize_columns
from dfl.runtime import limits


@njit(cache=True)
def range_runs(lid: np.ndarray, bound: np.ndarray, offs: np.ndarray, vals: np.ndarray, cmp: int):
    """Each left row's run [start, end) of the sorted right values of its block (ids from
    `lid`, -1: no right row has its key); cmp 0 lt, 1 le, 2 gt, 3 ge. A NaN bound compares
    with nothing: an empty run."""
    n = lid.shape[0]
    start = np.zeros(n, np.int64)
    end = np.zeros(n, np.int64)
    for i in range(n):
        g = lid[i]
        b = bound[i]
        if g < 0 or b != b:
            continue
        lo, hi = offs[g], offs[g + 1]
        # the first position whose value is >= b (lt, ge) or > b (le, gt)
        strict = cmp == 0 or cmp == 3
        a, z = lo, hi
        while a < z:
            m = (a + z) >> 1
            if vals[m] < b or (not strict and vals[m] == b):
                a = m + 1
            else:
                z = m
        if cmp <= 1:
            start[i], end[i] = lo, a
        else:
            start[i], end[i] = a, hi
    return start, end


@njit(cache=True)
def running_extreme(vals: np.ndarray, offs: np.ndarray, is_min: bool, from_start: bool) -> np.ndarray:
    """The min or max of each block's values so far, scanned from the block's start or its end."""
    out = np.empty_like(vals)
    for g in range(offs.shape[0] - 1):
        lo, hi = offs[g], offs[g + 1]
        if lo == hi:
            continue
        k = lo if from_start else hi - 1
        step = 1 if from_start else -1
        best = vals[k]
        for _ in range(hi - lo):
            v = vals[k]
            if (v < best) if is_min else (v > best):
                best = v
            out[k] = best
            k += step
    return out


_CMPS = {"lt": 0, "le": 1, "gt": 2, "ge": 3}

# the usual argument types of each kernel, for `--emit llvm` (as kernels.SIGNATURES)
SIGNATURES: dict[str, tuple[str, ...]] = {
    "range_runs": ("(int64[:], int64[:], int64[:], int64[:], int64)", "(int64[:], float64[:], int64[:], float64[:], int64)"),
    "running_extreme": ("(int64[:], int64[:], boolean, boolean)", "(float64[:], int64[:], boolean, boolean)"),
}


def range_aggregate(node: Node, left: Table, right: Table, distinct_rows) -> Table:
    """`distinct_rows`: ops.distinct_rows, passed in (ops imports this module)."""
    ((func, arg),) = node.attr("aggs")
    lk, rk = node.attr("left_keys"), node.attr("right_keys")
    value, bound, cmp = node.attr("value"), node.attr("bound"), _CMPS[node.attr("cmp")]
    # sorted copies, run bounds and the answers: a few words per row of each side
    limits.check_rows(left.n + right.n, limits.cpu_row_bytes(4, 16))
    left = distinct_rows(left)  # one answer per distinct left row, as the aggregate's groups
    if func in ("count", "sum"):
        right = distinct_rows(right)  # they count each distinct body row once
    rv = right.cols[value]
    if rv.dtype == np.float64 and right.n:
        keep = rv == rv  # a NaN compares with nothing
        if not keep.all():
            right = right.mask(keep)
            rv = right.cols[value]
    nl, nr = left.n, right.n
    if lk:
        ids, _ = factorize_columns([np.concatenate((left.cols[a], right.cols[b])) for a, b in zip(lk, rk)], nl + nr)
        lid, rid = ids[:nl], ids[nl:]
    else:
        lid, rid = np.zeros(nl, np.int64), np.zeros(nr, np.int64)
    g = int(rid.max()) + 1 if nr else 0
    lid = np.where(lid < g, lid, -1) if nr else np.full(nl, -1, np.int64)  # keys no right row has
    order = np.lexsort((rv, rid))
    vals = rv[order]
    offs = np.zeros(g + 1, np.int64)
    np.cumsum(np.bincount(rid, minlength=g), out=offs[1:])
    start, end = range_runs(lid, left.cols[bound], offs, vals, cmp)
    hit = end > start
    if func == "count":
        out = (end - start)[hit]
    elif func == "sum":
        sums = np.zeros(nr + 1, np.int64)
        np.cumsum(right.cols[arg.index][order], out=sums[1:])  # wraps at 64 bits, as int sums do
        out = (sums[end] - sums[start])[hit]
    else:
        prefix = cmp <= 1
        run = running_extreme(right.cols[arg.index][order], offs, func == "min", prefix)
        out = run[((end - 1) if prefix else start)[hit]]
    return Table([c[hit] for c in left.cols] + [out], int(np.count_nonzero(hit)), distinct=True)
