"""Arrow arrays made from numpy buffers, without `pyarrow.array`: that constructor checks
its argument against pandas' types and so imports pandas (0.3-0.5 s of start-up) on first
use; these build the arrays from their buffers (numbers without a copy).

Example: `numeric(np.arange(3))` is an int64 Array [0, 1, 2]; `strings(["a", "é"])` a
string Array; `dictionary_strings(np.array([1, 0, 1]), ["x", "y"])` gives ["y", "x", "y"].
"""
from __future__ import annotations

from typing import Any

import numpy as np


def numeric(c: np.ndarray) -> Any:
    """An int64, float64 or bool numpy column as an Arrow array (no nulls)."""
    import pyarrow as pa

    if c.dtype == np.bool_:
        bits = np.packbits(c.astype(np.uint8, copy=False), bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(c), [None, pa.py_buffer(bits)])
    kind = {np.dtype(np.int64): pa.int64(), np.dtype(np.float64): pa.float64()}[c.dtype]
    return pa.Array.from_buffers(kind, len(c), [None, pa.py_buffer(np.ascontiguousarray(c))])


def strings(values: list[str]) -> Any:
    """Python strings as an Arrow string array (64-bit offsets past 2 GiB of text)."""
    import pyarrow as pa

    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, encoded), np.int64, count=len(encoded)), out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    if offsets[-1] < 2**31:
        return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets.astype(np.int32)), data])
    return pa.Array.from_buffers(pa.large_string(), len(encoded), [None, pa.py_buffer(offsets), data])


def dictionary_strings(index: np.ndarray, values: list[str]) -> Any:
    """values[index] as a plain Arrow string array, decoded from a dictionary in C++."""
    import pyarrow as pa

    codes = numeric(np.ascontiguousarray(index, dtype=np.int64))
    return pa.DictionaryArray.from_arrays(codes, strings(values)).dictionary_decode()
