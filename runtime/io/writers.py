"""Output files made from columns: CSV (LANGUAGE.md §7), Parquet, Arrow IPC, JSON lines.

Rows are sorted as §7 says by sorting the columns (Frame.sorted), and each format is
rendered column by column, never a Python tuple per row:

- CSV (assembled by runtime/io/text_out.py): ints as decimal digits, bools as true/false,
  floats as Python's repr (a column of integral values below 2**53 as `<digits>.0`
  without Python, any other column one repr call per value), strings quoted exactly as
  Python's csv writer does, decided once per distinct string. The rows-based writer (output.format_csv_text) stays the
  reference for small relations, and the tests compare the two.
- JSON lines: one object a line, keys in declaration order, written compactly; floats as
  Python's json writes them (NaN and Infinity included, which the reader takes back).
- Parquet and Arrow IPC: the sorted table as it is (str and addr as Arrow strings).
"""
from __future__ import annotations

import csv
import io
import json

import numpy as np

from dfl.backends.columnar.frame import Frame, StrColumn
from dfl.ir.types import Type
from dfl.runtime.io import text_out
from dfl.runtime.io.csv_text import format_csv_text

OUTPUT_FORMATS = {"csv": ".csv", "parquet": ".parquet", "arrow": ".arrow", "jsonl": ".jsonl"}
SMALL = 256  # rows: below this, the rows-based CSV writer is as fast (and is the reference)


def render(frame: Frame, fmt: str) -> bytes:
    """A relation's file in `fmt`, rows in the contract's order."""
    frame = frame.sorted()
    if fmt == "csv":
        return csv_bytes(frame)
    if fmt == "jsonl":
        return jsonl_bytes(frame)
    if fmt == "parquet":
        return _parquet_bytes(frame)
    if fmt == "arrow":
        return _ipc_bytes(frame)
    raise ValueError(f"unknown output format {fmt!r}")


def csv_bytes(frame: Frame) -> bytes:
    """§7's CSV of a sorted Frame."""
    if frame.n < SMALL or not frame.cols:
        return format_csv_text(frame.schema, frame.rows()).encode("utf-8")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(frame.schema.names)
    single = len(frame.cols) == 1
    fields = [_field(c, t, lambda s: _csv_quote(s, single), repr) for c, t in zip(frame.cols, frame.schema.types)]
    return buf.getvalue().encode("utf-8") + text_out.lines(fields, frame.n, b",", b"\n")


def _field(c, t: Type, quote, float_text) -> text_out.Field:
    """One column as text: strings through `quote` (once per distinct string), floats
    through `float_text` where they are not integral, ints and bools as digits and words."""
    if isinstance(c, StrColumn):
        small = c.compact()
        return text_out.DictField.of([quote(s) for s in small.values.tolist()], small.index)
    if t == Type.BOOL:
        return text_out.DictField.of(["false", "true"], c.astype(np.int64))
    if t == Type.FLOAT:
        return _float_field(c, float_text)
    return text_out.IntField.of(c)


def _float_field(c: np.ndarray, float_text) -> text_out.Field:
    """Floats as Python writes them: a column of integral values of magnitude below 2**53
    as digits and `.0` (what repr and json write for them), without a Python call; any
    other column one `float_text` call per value."""
    integral = np.isfinite(c) & (np.abs(c) < 2.0 ** 53) & (np.floor(c) == c) & ~((c == 0) & np.signbit(c))
    if integral.all():
        return text_out.IntField.of(c.astype(np.int64), b".0")
    return text_out.DictField.of([float_text(v) for v in c.tolist()], np.arange(len(c), dtype=np.int64))


def _csv_quote(s: str, single: bool) -> str:
    """`s` as Python's csv writer writes it (minimal quoting); in a one-column relation an
    empty string is written `""` so that its line is not blank."""
    if s == "":  # the csv module quotes an empty field only when it is the row's one field
        return '""' if single else ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([s])
    return buf.getvalue()[:-1]


def jsonl_bytes(frame: Frame) -> bytes:
    """One JSON object a line, `{"a":1,"b":"x"}`, rows in the contract's order."""
    if frame.n == 0:
        return b""
    if not frame.cols:
        return b"{}\n"
    n = frame.n
    parts: list[text_out.Field] = []
    for j, (c, t, name) in enumerate(zip(frame.cols, frame.schema.types, frame.schema.names)):
        key = ("{" if j == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        parts += [text_out.Literal.of(key.encode("utf-8"), n),
                  _field(c, t, lambda s: json.dumps(s, ensure_ascii=False), json.dumps)]
    parts.append(text_out.Literal.of(b"}\n", n))
    return text_out.assemble(parts, n)


def _parquet_bytes(frame: Frame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(frame.to_arrow(), sink)
    return sink.getvalue().to_pybytes()


def _ipc_bytes(frame: Frame) -> bytes:
    import pyarrow as pa

    table = frame.to_arrow()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()
