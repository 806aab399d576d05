"""Native loops that lay out text files (runtime/io/text_out.py): one pass over the rows per
column, writing digits or copying encoded texts into the output buffer. numba, cached on
disk like the cpu backend's kernels; used for large outputs only (text_out.NATIVE_ROWS),
where they are ~7x faster than numpy's forms and worth loading."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def put_ints(out, starts, values, suffix):  # pragma: no cover - compiled
    """Decimal digits of each int64 (a '-' before negatives), then the suffix bytes."""
    ten = np.uint64(10)
    for i in range(len(values)):
        v = values[i]
        at = starts[i]
        if v < 0:
            out[at] = 45  # '-'
            at += 1
            mag = np.uint64(-(v + 1)) + np.uint64(1)  # |INT_MIN| fits only unsigned
        else:
            mag = np.uint64(v)
        n = 1
        t = mag // ten
        while t > 0:
            n += 1
            t //= ten
        p = at + n - 1
        for _ in range(n):
            out[p] = np.uint8(48 + mag % ten)
            mag //= ten
            p -= 1
        at += n
        for k in range(len(suffix)):
            out[at + k] = suffix[k]


@njit(cache=True)
def put_texts(out, starts, data, offsets, index):  # pragma: no cover - compiled
    """Row i gets text index[i] of the table (data[offsets[j]:offsets[j + 1]])."""
    for i in range(len(index)):
        j = index[i]
        a = offsets[j]
        b = offsets[j + 1]
        at = starts[i]
        for k in range(b - a):
            out[at + k] = data[a + k]


@njit(cache=True)
def put_literal(out, starts, text):  # pragma: no cover - compiled
    for i in range(len(starts)):
        at = starts[i]
        for k in range(len(text)):
            out[at + k] = text[k]
