"""Reading input files straight into columns with pyarrow's native, multi-threaded readers.

`.csv` and `.facts` keep the exact rules of LANGUAGE.md §7, which runtime/io/csvio.py
implements line by line. Arrow's CSV reader is used where it reads those rules the same
way, and csvio is the fallback and the judge:

- before: only files Arrow reads as csvio does go to Arrow (no NUL byte, no lone CR, a
  plain header that names the columns, quotes that open at a field's start and close at
  its end: Python's strict csv would refuse anything else, Arrow would guess);
- during: Arrow converts only what is unambiguous (no null spellings, `true`/`false` in
  three casings, ints and floats in the forms both accept);
- after any refusal by Arrow (a bad value, a wrong column count, a form Arrow does not
  take, such as `+5` or ` true`): the file is read again by csvio, which either reads it
  (so the result is csvio's) or reports the error with its line and column.

So the values read, and every error, are csvio's; Arrow only makes the common case fast.
`.parquet`, `.arrow`/`.feather` (Arrow IPC) and `.jsonl` have no older reader: their
columns are checked against the declaration by name and type (runtime/io/typed.py).
"""
from __future__ import annotations

import csv
import os
import sys
from typing import Any

from typing import TYPE_CHECKING

from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io import csvio
from dfl.runtime.io.csvio import format_of
from dfl.runtime.io.arrow_columns import arrow_type, numeric_column, str_column

if TYPE_CHECKING:
    import numpy as np

    from dfl.backends.columnar.frame import Frame

# numpy, pyarrow and the Frame are imported where used: a small CSV file is read by csvio
# alone, so a small run starts without them (docs/cpu.md, "Start-up")

TEXT_FORMATS = ("csv", "facts")
NATIVE_MIN_BYTES = 64 * 1024  # csvio reads 64 KiB in ~30 ms; importing pyarrow takes ~100 ms
_BOM = b"\xef\xbb\xbf"


def with_tick(schema: Schema) -> Schema:
    """A channel's file layout: `tick` first, then the channel's columns."""
    return Schema((Column("tick", Type.INT),) + tuple(schema.columns))


def read_input(path: str, schema: Schema, relation: str, tick_column: bool = False,
               tried: list[str] | None = None) -> Frame | list[tuple]:
    """The rows of `relation` in `path` as columns (a Frame), or as csvio's rows where the
    exact reader had to read the file. With `tick_column`, rows are `(tick, *values)`."""
    fmt = format_of(path, relation)
    layout = with_tick(schema) if tick_column else schema
    if fmt in TEXT_FORMATS:
        data = csvio._read_bytes(path, relation, tried)
        # a small file: csvio reads it sooner than pyarrow imports (0.1 s), unless loaded already
        small = len(data) < NATIVE_MIN_BYTES and "pyarrow" not in sys.modules
        frame = None if small else text_frame(data, fmt, layout, tick_column)
        if frame is not None:
            return frame
        return csvio.parse_relation(path, csvio._decode(path, data), fmt, schema, relation, tick_column)
    from dfl.runtime.io import typed

    if not os.path.exists(path):
        raise csvio.file_not_found(path, relation, tried)
    return typed.read_typed(path, fmt, layout, relation, tick_column)


def text_frame(data: bytes, fmt: str, layout: Schema, tick_column: bool = False,
               header: bool | None = None) -> Frame | None:
    """A .csv or .facts file's bytes as a Frame when Arrow reads them exactly as csvio
    would, else None (the caller reads them with csvio). `header`: whether the bytes start
    with the header line (default: a .csv does)."""
    import numpy as np

    names = list(layout.names)
    if not names:
        return None  # in a relation with no columns blank lines are rows: csvio's rule
    raw = data[len(_BOM):] if data.startswith(_BOM) else data
    if b"\x00" in raw:
        return None
    crs = raw.count(b"\r")
    if crs and crs != raw.count(b"\r\n"):
        return None  # a lone CR ends a line for Arrow, not in a .facts file
    has_header = fmt == "csv" if header is None else header
    skip = 0
    if has_header:
        nl = raw.find(b"\n")
        if nl < 0:
            return None  # at most a header: nothing to gain
        got = _header(raw[:nl].rstrip(b"\r"))
        if got != names:
            return None  # csvio says what is wrong with the header
        skip = 1
    start = raw.find(b"\n") + 1 if has_header else 0  # the header is read above, and skipped by Arrow
    quoted = fmt == "csv" and raw.find(b'"', start) >= 0
    if quoted and not _quotes_well_formed(np.frombuffer(raw, np.uint8)[start:]):
        return None
    return _arrow_text(raw, fmt, layout, skip, quoted, tick_column)


def _header(line: bytes) -> list[str] | None:
    """A one-line header's names as csvio reads them (spaces around a name dropped), or None
    where only csvio can say (a quote that does not close on the line, bad UTF-8)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if '"' not in text:
        return [f.strip() for f in text.split(",")]
    try:
        fields = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration):
        return None
    return [f.strip() for f in fields]


def _quotes_well_formed(b: np.ndarray) -> bool:
    """Every `"` opens a field (at its start), closes it (before `,` or a line end), or is
    one of a doubled `""` inside it: the quoting Python's strict csv accepts, read the same
    by Arrow. Anything else (a quote inside an unquoted field, text after a closing quote,
    an unclosed field) goes to csvio, which reads or reports it exactly."""
    import numpy as np

    q = np.flatnonzero(b == 34)
    if len(q) % 2:
        return False
    opens, closes = q[0::2], q[1::2]
    before = b[np.maximum(opens - 1, 0)]
    doubled_before = np.zeros(len(opens), bool)
    doubled_before[1:] = closes[:-1] == opens[1:] - 1
    ok_open = (opens == 0) | np.isin(before, (44, 10, 13)) | doubled_before
    after = b[np.minimum(closes + 1, len(b) - 1)]
    doubled_after = np.zeros(len(closes), bool)
    doubled_after[:-1] = opens[1:] == closes[:-1] + 1
    ok_close = (closes == len(b) - 1) | np.isin(after, (44, 10, 13)) | doubled_after
    return bool(ok_open.all() and ok_close.all())


_TRUE = ["true", "True", "TRUE"]
_FALSE = ["false", "False", "FALSE"]


def _arrow_text(raw: bytes, fmt: str, layout: Schema, skip: int, quoted: bool, tick_column: bool) -> Frame | None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = list(layout.names)
    try:
        table = pcsv.read_csv(
            pa.BufferReader(raw),
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=skip, use_threads=True),
            parse_options=pcsv.ParseOptions(delimiter="," if fmt == "csv" else "\t",
                                            quote_char='"' if quoted else False, double_quote=True,
                                            escape_char=False, newlines_in_values=quoted, ignore_empty_lines=True),
            convert_options=pcsv.ConvertOptions(column_types={n: arrow_type(t) for n, t in zip(names, layout.types)},
                                                null_values=[], strings_can_be_null=False,
                                                quoted_strings_can_be_null=False, true_values=_TRUE,
                                                false_values=_FALSE, check_utf8=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowKeyError, OSError):
        return None
    frame = frame_of_arrow(table, layout)
    if frame is None:
        return None
    if tick_column and frame.n and int(frame.cols[0].min()) < 0:
        return None  # csvio names the bad tick
    return frame


def frame_of_arrow(table: Any, layout: Schema) -> Frame | None:
    """An Arrow table whose columns already have the layout's Arrow types (int64, float64,
    bool, string) as a Frame; None when an addr column holds a value that is not an
    address (csvio reports it)."""
    from dfl.backends.columnar.frame import Frame

    cols = []
    for name, t in zip(layout.names, layout.types):
        col = table.column(name)
        if t.text:
            s = str_column(col)
            if t == Type.ADDR and not all(csvio.ADDRESS.fullmatch(v) for v in s.values.tolist()):
                return None
            cols.append(s)
        else:
            cols.append(numeric_column(col, t))
    return Frame(layout, cols, table.num_rows)


