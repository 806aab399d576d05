"""Hash group-by on the device: aggregates per dense group id (hashing.group_ids).

count, int sum, min and max are one atomic per row (atomic add, min, max on int64 and
float64; strings reduce their ranks in code-point order and map back to codes). A float
sum must be exactly rounded whatever the row order (the cpu target's rule), which atomics
cannot give: each group's rows are linked into a list (an atomic exchange per row) and
one thread per group adds them with Shewchuk's algorithm, as the cpu's group_sum_f does.
A group whose sum is not finite, or an int mean past 2**53, is finished on the host by the
language's own rules (stdlib/floatsum.py): only those groups' values are copied back.
"""
from __future__ import annotations

import numpy as np

from dfl.ir.types import Type
from dfl.backends.columnar.table import DTYPES
from dfl.backends.cuda.columns import full, gather
from dfl.backends.cuda.device import Device, kernel
from dfl.backends.cuda.hashing import k_build

from numba import float64, int64, uint64

cuda = None  # numba.cuda, bound when a kernel is first compiled (device.Kernel): importing
#              this module imports no numba.cuda (a machine without it, or the simulator set later)

INT_MAX = np.iinfo(np.int64).max
INT_MIN = np.iinfo(np.int64).min


@kernel
def k_count(ids, out):
    i = cuda.grid(1)
    if i < ids.shape[0]:
        cuda.atomic.add(out, ids[i], 1)


@kernel
def k_sum_int(ids, vals, out):
    i = cuda.grid(1)
    if i < ids.shape[0]:
        cuda.atomic.add(out, ids[i], vals[i])


@kernel
def k_min(ids, vals, out):
    i = cuda.grid(1)
    if i < ids.shape[0]:
        cuda.atomic.min(out, ids[i], vals[i])


@kernel
def k_max(ids, vals, out):
    i = cuda.grid(1)
    if i < ids.shape[0]:
        cuda.atomic.max(out, ids[i], vals[i])


@kernel
def k_exact_sum(head, nxt, vals, out, bad):
    """One thread per group: the exactly rounded sum of its rows (math.fsum's algorithm)."""
    k = cuda.grid(1)
    if k < head.shape[0]:
        partials = cuda.local.array(128, float64)
        m = 0
        nonfinite = False
        r = head[k]
        while r >= 0:
            x = vals[r]
            r = nxt[r]
            if not (x - x == 0.0):  # inf or nan
                nonfinite = True
                continue
            j = 0
            for q in range(m):
                y = partials[q]
                if abs(x) < abs(y):
                    x, y = y, x
                hi = x + y
                lo = y - (hi - x)
                if lo != 0.0:
                    partials[j] = lo
                    j += 1
                x = hi
            if j >= 128:
                nonfinite = True  # cannot happen for doubles (at most ~40 partials); be safe
                continue
            partials[j] = x
            m = j + 1
        hi = 0.0
        if m > 0:
            m -= 1
            hi = partials[m]
            lo = 0.0
            while m > 0:
                x = hi
                m -= 1
                y = partials[m]
                hi = x + y
                yr = hi - x
                lo = y - yr
                if lo != 0.0:
                    break
            if m > 0 and ((lo < 0.0 and partials[m - 1] < 0.0) or (lo > 0.0 and partials[m - 1] > 0.0)):
                y = lo * 2.0
                x = hi + y
                yr = x - hi
                if y == yr:
                    hi = x
        if nonfinite or not (hi - hi == 0.0):
            bad[k] = 1
        out[k] = hi


@kernel
def k_mean_int(head, nxt, vals, counts, out, bad):
    """One thread per group: the exact 128-bit sum, divided when it fits a double exactly."""
    k = cuda.grid(1)
    if k < head.shape[0]:
        hi = int64(0)
        lo = uint64(0)
        r = head[k]
        while r >= 0:
            x = vals[r]
            r = nxt[r]
            nlo = lo + uint64(x)
            carry = int64(1) if nlo < lo else int64(0)
            hi += (int64(-1) if x < 0 else int64(0)) + carry
            lo = nlo
        s = int64(lo)
        small = (hi == (int64(-1) if s < 0 else int64(0))) and s <= 9007199254740992 and s >= -9007199254740992
        if small:
            out[k] = float64(s) / float64(counts[k])
        else:
            bad[k] = 1
            out[k] = 0.0


def counts(dev: Device, ids, n: int, g: int):
    out = full(dev, g, 0, np.int64)
    dev.launch(k_count, n, ids, out)
    return out


def _lists(dev: Device, ids, n: int, g: int):
    head = full(dev, g, -1, np.int64)
    nxt = dev.empty(n, np.int64)
    dev.launch(k_build, n, ids, head, nxt)
    return head, nxt


def _host_fix(dev: Device, out, bad, ids, vals, g: int, finish) -> None:
    """Groups flagged bad, recomputed on the host from their values."""
    b = dev.to_host(bad)
    which = np.flatnonzero(b[:g])
    if len(which) == 0:
        return
    ids_h, vals_h, out_h = dev.to_host(ids), dev.to_host(vals), dev.to_host(out)
    for k in which.tolist():
        out_h[k] = finish(vals_h[ids_h == k].tolist())
    out.copy_to_device(out_h)


def reduce(dev: Device, func: str, ids, vals, n: int, g: int, t: Type, ranks=None, order=None):
    """Aggregate `func` of vals (of type t) per group id 0 .. g-1."""
    if func == "count":
        return counts(dev, ids, n, g)
    if func == "sum" and t != Type.FLOAT:
        out = full(dev, g, 0, np.int64)
        dev.launch(k_sum_int, n, ids, vals, out)
        return out
    if func in ("sum", "mean"):
        from dfl.stdlib.floatsum import exact_sum

        head, nxt = _lists(dev, ids, n, g)
        out = dev.empty(g, np.float64)
        bad = full(dev, g, 0, np.int64)
        if t == Type.FLOAT:
            dev.launch(k_exact_sum, g, head, nxt, vals, out, bad)
            _host_fix(dev, out, bad, ids, vals, g, exact_sum)
            if func == "sum":
                return out
            from dfl.backends.cuda.pipeline import divide_by

            return divide_by(dev, out, counts(dev, ids, n, g), g)
        cnt = counts(dev, ids, n, g)
        dev.launch(k_mean_int, g, head, nxt, vals, cnt, out, bad)
        _host_fix(dev, out, bad, ids, vals, g, lambda v: sum(v) / len(v))
        return out
    # min / max
    if t.text:  # by code-point order: reduce ranks, then back to codes
        r = gather(dev, ranks, vals, n)
        best = reduce(dev, func, ids, r, n, g, Type.INT)
        return gather(dev, order, best, g)
    dt = DTYPES[t]
    if dt == np.bool_:
        from dfl.backends.cuda.pipeline import cast

        best = reduce(dev, func, ids, cast(dev, vals, n, np.int64), n, g, Type.INT)
        return cast(dev, best, g, np.bool_)
    if dt == np.float64:
        init = np.inf if func == "min" else -np.inf
    else:
        init = INT_MAX if func == "min" else INT_MIN
    out = full(dev, g, init, dt)
    dev.launch(k_min if func == "min" else k_max, n, ids, vals, out)
    return out
