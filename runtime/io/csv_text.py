"""§7's CSV from rows: the reference writer (runtime/io/writers.py lays out the same bytes
from columns, and the tests compare the two)."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

from dfl.ir.types import Schema
from dfl.ir.values import format_value, sort_rows


def format_csv_text(schema: Schema, rows: Iterable[Sequence[Any]]) -> str:
    """A relation as §7's CSV: a header of column names, then the rows sorted ascending.

    A relation with no columns is an empty header line, then one empty line when it holds.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(schema.names)
    if schema.arity == 0:
        # However many () rows the caller passes, the relation just holds.
        rows = [()] if any(True for _ in rows) else []
    types = schema.types
    for row in sort_rows(rows, schema.types):
        writer.writerow([format_value(v, t) for v, t in zip(row, types)])
    return buf.getvalue()
