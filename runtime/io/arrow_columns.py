"""Arrow columns to the engine's numpy columns, shared by every reader of typed and text
files (runtime/io/native.py, typed.py): the Arrow type of each DFL type, numbers read from
Arrow's buffers (no copy for one chunk), strings as distinct values and an index.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dfl.ir.types import Type

if TYPE_CHECKING:
    import numpy as np

    from dfl.backends.columnar.frame import StrColumn


def arrow_type(t: Type):
    import pyarrow as pa

    return {Type.INT: pa.int64(), Type.FLOAT: pa.float64(), Type.BOOL: pa.bool_(),
            Type.STR: pa.string(), Type.ADDR: pa.string()}[t]


def numeric_column(col: Any, t: Type) -> np.ndarray:
    """An Arrow int64/float64/bool column (chunked or not, no nulls) as a numpy array."""
    import numpy as np

    import pyarrow as pa

    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    dtype = {Type.INT: np.int64, Type.FLOAT: np.float64, Type.BOOL: np.bool_}[t]
    parts = [_chunk_numpy(c, dtype) for c in chunks if len(c)]
    if not parts:
        return np.empty(0, dtype)
    return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)


def _chunk_numpy(c: Any, dtype) -> np.ndarray:
    """One Arrow chunk without nulls as numpy, read from its buffers (Arrow's own to_numpy
    imports pandas for some types: a second of start-up)."""
    import numpy as np

    data = c.buffers()[1]
    if dtype is np.bool_:  # bit-packed, least significant bit first
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        return bits[c.offset: c.offset + len(c)].astype(np.bool_)
    return np.frombuffer(data, dtype)[c.offset: c.offset + len(c)]


def str_column(col: Any) -> StrColumn:
    """An Arrow string (or dictionary of strings) column as distinct strings and an index:
    one Python str per distinct value."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from dfl.backends.columnar.frame import StrColumn

    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    values = arr.dictionary
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    idx = arr.indices
    index = _chunk_numpy(idx.cast(pa.int64()), np.int64) if len(idx) else np.empty(0, np.int64)
    return StrColumn(np.array(values.to_pylist(), dtype=object), index)
