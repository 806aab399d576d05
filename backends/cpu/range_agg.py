"""The cpu lowering of `range_aggregate`: a correlated min/max/count/sum by sorting.

For each left row, the aggregate over the right rows of its key whose `value` compares
with the left row's `bound` (ir/ops.py). Instead of pairing every left row with every
right row of its key (the join it replaces, quadratic per key), the right side is sorted
once by (key, value); a left row's qualifying rows are then one contiguous run of its
key's block, found by one binary search of all left rows at once (np.searchsorted over
(key, value) packed into one int64; float values, or ints of a wide range, by their rank):
the prefix before the bound for `lt`/`le`, the suffix after it for `gt`/`ge`, the part
between two bounds for a window (`t > ts - 3600, t <= ts`). Over that run:

- count: its length; sum: a difference of the block's running sums (int64, wrapping as
  the language's int sum does, so the difference is exact);
- min/max of the compared value: the run's first or last value (`max t : {e(u, t), t < ts}`
  is ts's predecessor); of another column: its running min/max scanned from the block's
  start (prefix) or end (suffix), read at the run's last row.

Memory is a few arrays the size of each input; time O((L + R) log R).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from dfl.ir.graph import Node
from dfl.backends.columnar.table import Table, factorize_columns
from dfl.runtime import limits


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


# the usual argument types of the kernel, for `--emit llvm` (as kernels.SIGNATURES)
SIGNATURES: dict[str, tuple[str, ...]] = {
    "running_extreme": ("(int64[:], int64[:], boolean, boolean)", "(float64[:], int64[:], boolean, boolean)"),
}


def _sort(keys: np.ndarray, keys_only: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Non-negative int64 keys sorted, and the order that sorts them (None with `keys_only`).
    The row number rides in the low bits of the key where both fit in 63 bits: numpy sorts
    plain int64 values several times faster than it argsorts them."""
    if keys_only:
        return np.sort(keys), None
    n = len(keys)
    bits = max(n - 1, 1).bit_length()
    if n and int(keys.max()) < 1 << (63 - bits):
        both = np.sort((keys << bits) | np.arange(n, dtype=np.int64))
        return both >> bits, both & ((1 << bits) - 1)
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def _everywhere(vals: np.ndarray, n: int, at: np.ndarray) -> np.ndarray:
    """`vals` given for the rows `at`, as an array over all n rows (0 elsewhere: an empty run)."""
    out = np.zeros(n, np.int64)
    out[at] = vals
    return out


def range_aggregate(node: Node, left: Table, right: Table, distinct_rows, ev) -> Table:
    """`distinct_rows`: ops.distinct_rows, passed in (ops imports this module); `ev` the
    plan's expression evaluator (the bounds are expressions over the left row)."""
    ((func, arg),) = node.attr("aggs")
    lk, rk = node.attr("left_keys"), node.attr("right_keys")
    value, cmps, bounds = node.attr("value"), node.attr("cmp"), node.attr("bound")
    # sorted keys, run bounds and the answers: a few words per row of each side
    limits.check_rows(left.n + right.n, limits.cpu_row_bytes(4, 16))
    left = distinct_rows(left)  # one answer per distinct left row, as the aggregate's groups
    if func in ("count", "sum"):
        right = distinct_rows(right)  # they count each distinct body row once
    rv = right.cols[value]
    lbs = [ev.eval(b, left) for b in bounds]
    floats = rv.dtype == np.float64
    if floats and right.n and np.isnan(rv).any():
        right = right.mask(~np.isnan(rv))  # a NaN compares with nothing
        rv = right.cols[value]
    nl, nr = left.n, right.n
    if lk:
        ids, _ = factorize_columns([np.concatenate((left.cols[a], right.cols[b])) for a, b in zip(lk, rk)], nl + nr)
        lid, rid = ids[:nl], ids[nl:]
    else:
        lid, rid = np.zeros(nl, np.int64), np.zeros(nr, np.int64)
    g = int(rid.max()) + 1 if nr else 0
    lid = np.where(lid < g, lid, -1)  # -1: a key no right row has
    if floats:
        for lb in lbs:
            lid[np.isnan(lb)] = -1
    # values as integers of the same order: ints as they are, floats by rank; a wide int
    # range by rank too, so that (key, value) packs into one sortable int64
    if nr and not floats and g * (int(rv.max()) - int(rv.min()) + 3) < 1 << 62:
        rcode, lcodes, uniq = rv, lbs, None
    else:
        live = [np.where(lid >= 0, lb, rv[0] if nr else lb) for lb in lbs]
        uniq, inv = np.unique(np.concatenate([rv] + live), return_inverse=True)
        rcode, lcodes = inv[:nr], [inv[nr + k * nl:nr + (k + 1) * nl] for k in range(len(bounds))]
    lo = int(rcode.min()) if nr else 0
    hi = int(rcode.max()) if nr else 0
    span = hi - lo + 3  # a value v is v - lo + 1; a bound past either end 0 or span - 1
    packed = rid * span + (rcode - lo + 1)
    by_value = arg is not None and arg.index == value and func in ("min", "max")
    keys, order = _sort(packed, func == "count" or by_value)  # count, by_value: no other column read
    offs = np.zeros(g + 1, np.int64)
    np.cumsum(np.bincount(rid, minlength=g), out=offs[1:])
    found = np.flatnonzero(lid >= 0)
    fid = lid[found]
    start, end = offs[fid], offs[fid + 1]  # the key's block; each comparison cuts one end
    for cmp, lcode in zip(cmps, lcodes):
        probe = fid * span + (np.clip(lcode[found], lo - 1, hi + 1) - lo + 1)
        # the first position whose value is >= the bound (lt, ge) or > it (le, gt); probes in
        # order, as numpy's search then starts each from the last (a merge, not random access)
        sorted_probes, probe_order = _sort(probe)
        pos = np.empty(len(probe), np.int64)
        pos[probe_order] = np.searchsorted(keys, sorted_probes, side="left" if cmp in ("lt", "ge") else "right")
        if cmp in ("lt", "le"):
            end = pos
        else:
            start = pos
    if node.attr("empty") == "zero":  # every left row: a count or sum of no row is 0
        rows = np.arange(nl)
        start, end = _everywhere(start, nl, found), _everywhere(np.maximum(end, start), nl, found)
    else:
        hit = end > start
        rows, start, end = found[hit], start[hit], end[hit]
    if func == "count":
        out = end - start
    elif func == "sum":
        sums = np.zeros(nr + 1, np.int64)
        np.cumsum(right.cols[arg.index][order], out=sums[1:])  # wraps at 64 bits, as int sums do
        out = sums[end] - sums[start]
    elif by_value:  # a run of one key's sorted values: its min is its first, its max its last
        code = keys[start if func == "min" else end - 1] % span + lo - 1
        out = uniq[code] if uniq is not None else code
    else:  # one comparison (the pass makes sure): the run is a prefix or a suffix of the block
        prefix = cmps[0] in ("lt", "le")
        run = running_extreme(right.cols[arg.index][order], offs, func == "min", prefix)
        out = run[end - 1 if prefix else start]
    return Table([c[rows] for c in left.cols] + [out], len(rows), distinct=True)
