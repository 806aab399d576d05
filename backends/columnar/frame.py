"""A relation's rows held as columns, before a plan's string pool exists or after a tick.

Files are read straight into a Frame (runtime/io/native.py), and a columnar backend's
sinks leave the tick as one (backends/cpu/plan.py), so rows go from file to kernels and
from kernels to file without a Python tuple per row. A Frame is still a sequence of rows
for every consumer that wants rows (the interpreter, the tick loop's comparisons, the
API's result lists): iterating it builds the tuples then, and only then.

Columns: an int64, float64 or bool numpy array per int, float and bool column; a
`StrColumn` (distinct strings and an index into them) per str and addr column, so a
string column costs one Python `str` per distinct value, not per row.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Iterator, Union

import numpy as np

from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import DTYPES, Table, pack
from dfl.ir.types import Schema


@dataclass(frozen=True)
class StrColumn:
    """Strings as `values[index]`: `values` an object array of str, `index` int64."""
    values: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def tolist(self) -> list[str]:
        return self.values[self.index].tolist() if len(self.index) else []

    def take(self, idx: np.ndarray) -> "StrColumn":
        return StrColumn(self.values, self.index[idx])

    def compact(self) -> "StrColumn":
        """Only the values the index uses, in code-point order (Arrow and writers want few)."""
        used, inverse = np.unique(self.index, return_inverse=True)
        vals = self.values[used]
        order = _string_order(vals)
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64)
        return StrColumn(vals[order], rank[inverse.reshape(-1)])

    @staticmethod
    def of(strings: Sequence[str]) -> "StrColumn":
        """Python strings, one per row (dictionary-encoded here)."""
        codes: dict[str, int] = {}
        index = np.fromiter((codes.setdefault(s, len(codes)) for s in strings), np.int64, count=len(strings))
        return StrColumn(np.array(list(codes), dtype=object), index)


Column = Union[np.ndarray, StrColumn]


class Frame(Sequence):
    """A relation's rows as columns in declaration order; `n` rows (a relation with no
    columns still has rows: 0 or 1 as a set)."""

    def __init__(self, schema: Schema, cols: list[Column], n: int | None = None) -> None:
        self.schema = schema
        self.cols = cols
        self.n = len(cols[0]) if cols else int(n or 0)
        self._rows: list[tuple] | None = None
        self.ordered = False  # rows already in the contract's order (sorted())

    # ------------------------------------------------------------- as a sequence of rows
    def __len__(self) -> int:
        return self.n

    def rows(self) -> list[tuple]:
        """The rows as tuples of Python values (made once, then kept)."""
        if self._rows is None:
            if not self.cols:
                self._rows = [()] * self.n
            else:
                self._rows = list(zip(*(c.tolist() for c in self.cols)))
        return self._rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows())

    def __getitem__(self, i):  # type: ignore[override]
        return self.rows()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frame):
            return self.rows() == other.rows()
        if isinstance(other, list):
            return self.rows() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] - rows may change meaning with the schema

    def __repr__(self) -> str:
        return f"Frame({self.schema}, {self.n} rows)"

    # ------------------------------------------------------------- columnar
    @staticmethod
    def from_rows(rows, schema: Schema) -> "Frame":
        """Python rows (already of the declared types) as a Frame; a Frame as it is."""
        if isinstance(rows, Frame):
            return rows
        rows = rows if isinstance(rows, list) else list(rows)
        cols: list[Column] = []
        for j, t in enumerate(schema.types):
            vals = [r[j] for r in rows]
            cols.append(StrColumn.of(vals) if t.text else
                        (np.array(vals, dtype=DTYPES[t]) if vals else np.empty(0, DTYPES[t])))
        return Frame(schema, cols, len(rows))

    @staticmethod
    def from_table(t: Table, schema: Schema, pool: StringPool) -> "Frame":
        """A backend's table as a Frame: string codes index the pool's strings as they are
        now (codes never change meaning, so the pool may grow later)."""
        cols: list[Column] = [StrColumn(pool.values(), c) if ty.text else c for c, ty in zip(t.cols, schema.types)]
        return Frame(schema, cols, t.n)

    def encode(self, pool: StringPool) -> Table:
        """The Frame as a backend's table, strings as codes of `pool` (one lookup per
        distinct string)."""
        cols = []
        for c, t in zip(self.cols, self.schema.types):
            if isinstance(c, StrColumn):
                codes = pool.encode(c.values.tolist()) if len(c.values) else np.empty(0, np.int64)
                cols.append(codes[c.index] if len(c.index) else np.empty(0, np.int64))
            else:
                cols.append(np.ascontiguousarray(c, dtype=DTYPES[t]))
        return Table(cols, self.n)

    def take(self, idx: np.ndarray) -> "Frame":
        return Frame(self.schema, [c.take(idx) if isinstance(c, StrColumn) else c[idx] for c in self.cols], len(idx))

    def sorted(self) -> "Frame":
        """The rows in the I/O contract's order (LANGUAGE.md §7): by column 1, then 2, …;
        numbers numerically with NaN last, strings by code point, false < true."""
        if self.ordered:
            return self
        if not self.cols:
            out = Frame(self.schema, [], min(self.n, 1))  # a relation with no columns holds or not
        elif self.n < 2:
            out = Frame(self.schema, self.cols, self.n)
        else:
            order = _order(self._sort_keys())
            out = self if order is None else self.take(order)
            out = Frame(self.schema, out.cols, out.n)
        out.ordered = True
        return out

    def _sort_keys(self) -> list[np.ndarray]:
        keys = []
        for c in self.cols:
            if isinstance(c, StrColumn):
                c = c.compact()  # index = rank of the string
                keys.append(c.index)
            else:
                keys.append(c)
        return keys

    def to_arrow(self):
        """A pyarrow.Table (str and addr columns as Arrow strings)."""
        import pyarrow as pa

        from dfl.backends.columnar import arrow

        arrays = []
        for c in self.cols:
            if isinstance(c, StrColumn):
                small = c.compact()
                arrays.append(arrow.dictionary_strings(small.index, small.values.tolist()))
            else:
                arrays.append(arrow.numeric(c))
        return pa.Table.from_arrays(arrays, names=list(self.schema.names))


def _order(keys: list[np.ndarray]) -> np.ndarray | None:
    """The permutation that sorts rows by these keys (first key first); None when they are
    in order already. Integer keys that pack into one int64 (mixed radix) sort as one
    column, which is several times faster than a lexsort over them."""
    packed = pack(keys) if all(k.dtype != np.float64 for k in keys) else None
    if packed is not None:
        key = packed[0]
        if len(key) < 2 or bool(np.all(key[1:] >= key[:-1])):
            return None
        return np.argsort(key, kind="stable")
    return np.lexsort(keys[::-1])


def _string_order(vals: np.ndarray) -> np.ndarray:
    """Positions of `vals` (str) in code-point order."""
    if len(vals) < 2:
        return np.arange(len(vals), dtype=np.int64)
    try:
        import pyarrow.compute as pc

        from dfl.backends.columnar import arrow

        # UTF-8 byte order is code-point order; Arrow sorts in C++ without a Python compare
        order = pc.sort_indices(arrow.strings(vals.tolist()))
        # from the buffer: Arrow's to_numpy may import pandas (a second of start-up)
        return np.frombuffer(order.buffers()[1], np.uint64)[order.offset: order.offset + len(order)].astype(np.int64)
    except (ImportError, UnicodeError, ValueError):  # no pyarrow, or a lone surrogate from Python
        return np.asarray(sorted(range(len(vals)), key=vals.__getitem__), dtype=np.int64)
