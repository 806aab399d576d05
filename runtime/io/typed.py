"""Inputs in typed formats: Parquet, Arrow IPC (`.arrow`/`.feather`), JSON lines, and the
data frames the Python API accepts (pyarrow tables, pandas and polars DataFrames, numpy
columns).

A typed column is matched to the declaration by name (other columns of the file are not
read) and must hold the declared type: any integer type for `int` (values within 64 bits),
a float or integer type for `float`, `bool` for `bool`, a string type (or a dictionary of
strings) for `str` and `addr`. No nulls. Every mismatch is a DflError (exit 2) naming the
relation, the column, the file's type and the declared type.
"""
from __future__ import annotations

import json
import re
from typing import Any

from dfl.backends.columnar.frame import Frame
from dfl.errors import DflError, Span
from dfl.ir.types import Schema, Type
from dfl.ir.values import INT_MAX, INT_MIN
from dfl.runtime.io import arrow_columns as columns
from dfl.runtime.io.csvio import ADDRESS



def read_typed(path: str, fmt: str, layout: Schema, relation: str, tick_column: bool = False) -> Frame:
    import pyarrow as pa

    try:
        if fmt == "parquet":
            table = _read_parquet(path, layout)
        elif fmt == "arrow":
            table = _read_ipc(path)
        else:
            table = _read_jsonl(path, layout, relation)
    except (pa.ArrowInvalid, OSError) as e:
        raise DflError(f"{path}: cannot read the input for relation {relation}: {_arrow_message(e)}",
                       kind="input") from None
    return frame_of_table(table, layout, relation, where=path, tick_column=tick_column)


def _arrow_message(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _read_parquet(path: str, layout: Schema):
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    have = set(f.schema_arrow.names)
    cols = [n for n in layout.names if n in have]  # a missing one is reported by frame_of_table
    # ParquetFile.read, not pq.read_table: the latter goes through pyarrow.dataset, which
    # imports pandas (0.3-0.5 s of start-up) to look for pandas metadata
    return f.read(columns=cols, use_threads=True, use_pandas_metadata=False)


def _read_ipc(path: str):
    import pyarrow as pa

    with pa.memory_map(path) as source:
        try:
            return pa.ipc.open_file(source).read_all()
        except pa.ArrowInvalid:  # the streaming layout, which `.arrow` files also use
            source.seek(0)
            return pa.ipc.open_stream(source).read_all()


def frame_of_table(table: Any, layout: Schema, relation: str, where: str, tick_column: bool = False) -> Frame:
    """A pyarrow Table as a Frame of `layout`, its columns checked by name and type."""
    import pyarrow as pa

    present = list(table.column_names)
    cols = []
    for i, (name, t) in enumerate(zip(layout.names, layout.types)):
        if name not in present:
            raise DflError(f"{where}: relation {relation} has no column {name} in this input "
                           f"(it has {', '.join(present) or 'no columns'})", kind="input",
                           hint=f"{relation} is declared {layout}; columns are matched by name")
        col = table.column(name)
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        cols.append(_column(col, t, name, relation, where, tick=tick_column and i == 0))
    return Frame(layout, cols, table.num_rows)


def _column(col: Any, t: Type, name: str, relation: str, where: str, tick: bool):
    import pyarrow as pa
    import pyarrow.compute as pc

    ty = col.type
    value_type = ty.value_type if pa.types.is_dictionary(ty) else ty

    def wrong() -> DflError:
        return DflError(f"{where}: column {name} of relation {relation} has type {ty}, declared {t}",
                        kind="input", hint=_HINTS[t])

    if col.null_count:
        first = pc.index(col.is_null(), True).as_py() + 1
        raise DflError(f"{where}: column {name} of relation {relation} has a null at row {first} "
                       f"({col.null_count} in all); DFL values are never null", kind="input")
    if t.text:
        if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
            raise wrong()
        s = columns.str_column(col)
        if t == Type.ADDR:
            bad = [v for v in s.values.tolist() if not ADDRESS.fullmatch(v)]
            if bad:
                raise DflError(f"{where}: column {name} of relation {relation}: expected an address Name/key "
                               f"(e.g. Counter/alice), got {json.dumps(bad[0], ensure_ascii=False)}", kind="input")
        return s
    if t == Type.BOOL:
        if not pa.types.is_boolean(ty):
            raise wrong()
        return columns.numeric_column(col, t)
    if t == Type.INT:
        if not pa.types.is_integer(ty):
            raise wrong()
        if col.type == pa.uint64() and len(col) and pc.max(col).as_py() > INT_MAX:
            raise DflError(f"{where}: column {name} of relation {relation} holds {pc.max(col).as_py()}, "
                           f"out of the 64-bit int range", kind="input")
        out = columns.numeric_column(col.cast(pa.int64()), t)
        if tick and len(out) and int(out.min()) < 0:
            raise DflError(f"{where}: column tick of relation {relation} holds {int(out.min())}; "
                           f"a tick is an int >= 0", kind="input")
        return out
    if not (pa.types.is_floating(ty) or pa.types.is_integer(ty)):
        raise wrong()
    return columns.numeric_column(col.cast(pa.float64()), t)


_HINTS = {Type.INT: "an int column takes any integer type (int8 … int64, uint8 … uint64)",
          Type.FLOAT: "a float column takes float32, float64 or an integer type",
          Type.BOOL: "a bool column takes the boolean type",
          Type.STR: "a str column takes string, large_string or a dictionary of strings",
          Type.ADDR: "an addr column takes strings written Name/key"}


# ------------------------------------------------------------------ JSON lines


def _read_jsonl(path: str, layout: Schema, relation: str):
    """Arrow's JSON reader with the declared schema; where it refuses (a value of another
    type, `NaN`, a missing key), the exact reader below reads or reports the line."""
    import pyarrow as pa
    import pyarrow.json as pj

    schema = pa.schema([(n, columns.arrow_type(t)) for n, t in zip(layout.names, layout.types)])
    try:
        table = pj.read_json(path, parse_options=pj.ParseOptions(explicit_schema=schema,
                                                                 unexpected_field_behavior="ignore"))
        if all(table.column(n).null_count == 0 for n in layout.names):
            return table.select(list(layout.names))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    return exact_jsonl(path, layout, relation)


def exact_jsonl(path: str, layout: Schema, relation: str):
    """JSON lines read line by line: one object a line (blank lines skipped), a key per
    declared column (others ignored), values of the declared type (an int stands for a
    float; `NaN`, `Infinity` as Python's json writes them). Errors name the line and column."""
    import pyarrow as pa

    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8", "replace")
    if data.startswith(b"\xef\xbb\xbf"):
        text = text[1:]
    names, types = list(layout.names), list(layout.types)
    cols: list[list] = [[] for _ in names]
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            _line_error(path, text, n, e.colno, f"not JSON: {e.msg}")
        if not isinstance(obj, dict):
            _line_error(path, text, n, 1, f"expected a JSON object (one row of {relation}), got {type(obj).__name__}")
        for j, (name, t) in enumerate(zip(names, types)):
            if name not in obj:
                _line_error(path, text, n, 1, f"column {j + 1} ({name}) is missing from this row")
            v = obj[name]
            ok = _JSON_OK[t](v)
            if not ok:
                _line_error(path, text, n, _key_col(line, name),
                            f"column {j + 1} ({name}): expected {t}, got {json.dumps(v, ensure_ascii=False)}")
            cols[j].append(float(v) if t == Type.FLOAT else v)
    arrays = [pa.array(c, columns.arrow_type(t)) for c, t in zip(cols, types)]
    return pa.Table.from_arrays(arrays, names=names)


def _int_ok(v: Any) -> bool:
    return type(v) is int and INT_MIN <= v <= INT_MAX


_JSON_OK = {Type.INT: _int_ok,
            Type.FLOAT: lambda v: type(v) in (int, float),
            Type.BOOL: lambda v: type(v) is bool,
            Type.STR: lambda v: type(v) is str,
            Type.ADDR: lambda v: type(v) is str and ADDRESS.fullmatch(v) is not None}


def _key_col(line: str, name: str) -> int:
    m = re.search(re.escape(json.dumps(name)) + r"\s*:\s*", line)
    return m.end() + 1 if m else 1


def _line_error(path: str, text: str, line: int, col: int, message: str):
    raise DflError(message, span=Span(path, line, col, line, col + 1), kind="input", source=text)
