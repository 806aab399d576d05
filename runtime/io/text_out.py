"""Text files (CSV, JSON lines) assembled from columns with numpy: each column gives each
row's field as bytes (ints as decimal digits computed digit by digit over the whole
column, strings and other texts as a dictionary of encoded values indexed per row), and
the lines are laid out in one output buffer by offsets. No Python object per row.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

_POW10 = np.array([10 ** k for k in range(20)], dtype=np.uint64)


@dataclass
class Field(ABC):
    """One column's text: `lengths[i]` bytes for row i, written by `put`."""
    lengths: np.ndarray  # int64

    @abstractmethod
    def put(self, out: np.ndarray, starts: np.ndarray) -> None:
        """Write row i's bytes at out[starts[i]:starts[i] + lengths[i]] for every row."""


@dataclass
class IntField(Field):
    """Decimal digits of int64 values (a leading '-' for negatives), then `suffix`."""
    values: np.ndarray  # int64
    negative: np.ndarray
    magnitude: np.ndarray  # uint64
    digits: np.ndarray  # int64
    suffix: bytes = b""

    @staticmethod
    def of(c: np.ndarray, suffix: bytes = b"") -> "IntField":
        c = np.asarray(c, dtype=np.int64)
        negative = c < 0
        # |INT_MIN| does not fit in int64: take the magnitude in uint64 (two's complement)
        magnitude = np.where(negative, (~c).astype(np.uint64) + np.uint64(1), c.astype(np.uint64))
        digits = np.searchsorted(_POW10, magnitude, side="right").astype(np.int64)
        digits[digits == 0] = 1  # 0 is one digit
        lengths = digits + negative + len(suffix)
        return IntField(lengths, c, negative, magnitude, digits, suffix)

    def put(self, out: np.ndarray, starts: np.ndarray) -> None:
        k = _kernels(len(starts))
        if k is not None:
            k.put_ints(out, starts, self.values, np.frombuffer(self.suffix, np.uint8))
            return
        out[starts[self.negative]] = ord("-")
        end = starts + self.negative + self.digits  # one past the last digit
        mag = self.magnitude.copy()
        live = np.ones(len(mag), dtype=bool)
        for k in range(20):
            idx = np.flatnonzero(live) if k else np.arange(len(mag))
            if not len(idx):
                break
            out[end[idx] - 1 - k] = (mag[idx] % np.uint64(10)).astype(np.uint8) + ord("0")
            mag[idx] //= np.uint64(10)
            live[idx] = self.digits[idx] > k + 1
        for i, b in enumerate(self.suffix):
            out[end + i] = b


@dataclass
class DictField(Field):
    """Texts chosen per row from a small table of encoded byte strings."""
    data: np.ndarray  # uint8, the texts one after another
    offsets: np.ndarray  # int64, len(texts) + 1
    index: np.ndarray  # int64, per row

    @staticmethod
    def of(texts: list[str], index: np.ndarray) -> "DictField":
        encoded = [t.encode("utf-8") for t in texts]
        sizes = np.fromiter(map(len, encoded), np.int64, count=len(encoded))
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])
        data = np.frombuffer(b"".join(encoded), np.uint8)
        index = np.asarray(index, dtype=np.int64)
        return DictField(sizes[index] if len(index) else np.empty(0, np.int64), data, offsets, index)

    def put(self, out: np.ndarray, starts: np.ndarray) -> None:
        k = _kernels(len(starts))
        if k is not None:
            k.put_texts(out, starts, self.data, self.offsets, self.index)
            return
        total = int(self.lengths.sum())
        if not total:
            return
        row_of_byte = np.repeat(np.arange(len(self.lengths)), self.lengths)
        first_byte = np.cumsum(self.lengths) - self.lengths  # each row's first byte among all bytes
        within = np.arange(total, dtype=np.int64) - first_byte[row_of_byte]
        out[starts[row_of_byte] + within] = self.data[self.offsets[self.index[row_of_byte]] + within]


@dataclass
class Literal(Field):
    """The same bytes on every row (a separator, a key, a line end)."""
    text: bytes

    @staticmethod
    def of(text: bytes, n: int) -> "Literal":
        return Literal(np.full(n, len(text), np.int64), text)

    def put(self, out: np.ndarray, starts: np.ndarray) -> None:
        k = _kernels(len(starts))
        if k is not None:
            k.put_literal(out, starts, np.frombuffer(self.text, np.uint8))
            return
        for i, b in enumerate(self.text):
            out[starts + i] = b


# Rows from which the numba loops take over. numpy lays out 100k rows of three ints in
# ~55 ms and 300k in ~160 ms; loading the three loops from numba's cache costs ~0.1-0.2 s
# in a fresh process (measured 2026-12-02, 2 cores), and 2M rows take numpy ~1.5 s
# against ~0.2 s for the loops.
NATIVE_ROWS = 500_000


def _kernels(n: int):
    """runtime/io/text_kernels.py for outputs of NATIVE_ROWS rows or more (None below, or
    without numba: the numpy forms)."""
    if n < NATIVE_ROWS:
        return None
    try:
        from dfl.runtime.io import text_kernels
    except ImportError:
        return None
    return text_kernels


def assemble(fields: list[Field], n: int) -> bytes:
    """Row i is the concatenation of every field's row i, rows one after another."""
    if n == 0:
        return b""
    widths = np.zeros(n, np.int64)
    for f in fields:
        widths += f.lengths
    row_start = np.cumsum(widths) - widths
    out = np.empty(int(widths.sum()), np.uint8)
    at = row_start.copy()
    for f in fields:
        f.put(out, at)
        at += f.lengths
    return out.tobytes()


def lines(fields: list[Field], n: int, sep: bytes, end: bytes) -> bytes:
    """Fields joined by `sep`, each row ended by `end`."""
    parts: list[Field] = []
    for j, f in enumerate(fields):
        if j:
            parts.append(Literal.of(sep, n))
        parts.append(f)
    parts.append(Literal.of(end, n))
    return assemble(parts, n)
