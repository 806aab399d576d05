"""Relations given to the Python API as columns: a pyarrow Table, a pandas or polars
DataFrame, a dict of columns by name, or a list of numpy arrays in declaration order.

Numeric numpy columns of the declared dtype are taken without a copy; other columns go
through Arrow (strings are dictionary-encoded there, in C++). The columns must be exactly
the declared ones (by name for tables, frames and dicts; by count for a list), of the
declared types, without nulls: anything else is a DflError naming the relation and the
column. pandas and polars are optional: a value is recognised by its type's module, so
neither is imported unless the caller passed one.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dfl.backends.columnar.frame import Frame
from dfl.errors import DflError
from dfl.ir.types import Column, Schema, Type

_NUMPY_KINDS = {Type.INT: "iu", Type.FLOAT: "fiu", Type.BOOL: "b"}


def is_columnar(value: Any) -> bool:
    """Does the API caller give this relation as columns (rather than rows)?"""
    if isinstance(value, Mapping):
        return True
    module = type(value).__module__.split(".")[0]
    if module in ("pyarrow", "pandas", "polars"):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(c, np.ndarray) for c in value)


def frame_of_value(value: Any, schema: Schema, relation: str) -> Frame:
    """The columns given for `relation` as a Frame, checked against its declaration."""
    where = f"the columns given for {relation}"
    if isinstance(value, Mapping) or isinstance(value, list):
        cols = _named(value, schema, relation)
        return Frame(schema, [_column(c, name, t, relation) for (name, t), c in zip(_decl(schema), cols)],
                     _length(cols, relation))
    table = _as_arrow(value, relation)
    _same_names(list(table.column_names), schema, relation)
    from dfl.runtime.io import typed

    return typed.frame_of_table(table, schema, relation, where=where)


def _decl(schema: Schema) -> list[tuple[str, Type]]:
    return list(zip(schema.names, schema.types))


def _same_names(got: list[str], schema: Schema, relation: str) -> None:
    want = list(schema.names)
    missing = [n for n in want if n not in got]
    extra = [n for n in got if n not in want]
    if missing or extra:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + \
                ([f"unknown column(s) {', '.join(map(str, extra))}"] if extra else [])
        raise DflError(f"{relation}: {'; '.join(parts)} (declared {schema})", kind="input",
                       hint=f"give exactly the columns {', '.join(want)}")


def _named(value, schema: Schema, relation: str) -> list[Any]:
    if isinstance(value, Mapping):
        _same_names([str(k) for k in value], schema, relation)
        return [value[n] for n in schema.names]
    if len(value) != schema.arity:
        raise DflError(f"{relation}: {len(value)} column(s) given, {schema.arity} declared {schema}", kind="input")
    return list(value)


def _length(cols: list[Any], relation: str) -> int:
    sizes = {len(c) for c in cols}
    if len(sizes) > 1:
        raise DflError(f"{relation}: the columns given have different lengths ({', '.join(map(str, sorted(sizes)))})",
                       kind="input")
    return sizes.pop() if sizes else 0


def _column(c: Any, name: str, t: Type, relation: str):
    """One column: a numpy array of a matching dtype as it is (int and float widened to
    64 bits), anything else through Arrow's checks."""
    if isinstance(c, np.ndarray) and c.ndim == 1 and not t.text and c.dtype.kind in _NUMPY_KINDS[t]:
        if t == Type.INT and c.dtype == np.uint64 and len(c) and c.max() > np.iinfo(np.int64).max:
            raise DflError(f"{relation}: column {name} holds {int(c.max())}, out of the 64-bit int range",
                           kind="input")
        dtype = {Type.INT: np.int64, Type.FLOAT: np.float64, Type.BOOL: np.bool_}[t]
        return np.ascontiguousarray(c, dtype=dtype)
    import pyarrow as pa

    from dfl.runtime.io import typed

    if isinstance(c, np.ndarray) and c.dtype.kind in "iufb" and t.text:
        raise DflError(f"{relation}: column {name} has numpy dtype {c.dtype}, declared {t}", kind="input")
    try:
        arr = pa.array(c.tolist() if isinstance(c, np.ndarray) and c.dtype == object else c)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
        raise DflError(f"{relation}: column {name} cannot be read as {t}: {str(e).splitlines()[0]}",
                       kind="input") from None
    table = pa.Table.from_arrays([arr], names=[name])
    return typed.frame_of_table(table, Schema((Column(name, t),)), relation, where="the columns given").cols[0]


def _as_arrow(value: Any, relation: str):
    import pyarrow as pa

    module = type(value).__module__.split(".")[0]
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    if module == "pandas" and type(value).__name__ == "DataFrame":
        return pa.Table.from_pandas(value, preserve_index=False)
    if module == "polars" and type(value).__name__ == "DataFrame":
        return value.to_arrow()
    raise DflError(f"{relation}: cannot take a {type(value).__module__}.{type(value).__name__} as its rows",
                   kind="input",
                   hint="give a list of tuples, a pyarrow Table, a pandas or polars DataFrame, "
                        "a dict of columns by name, or a list of numpy arrays")
