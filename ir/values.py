"""Values as the IR's types define them: int64 wrap-around, and how the I/O contract writes,
reads and orders them (LANGUAGE.md §7). Next to ir/types.py, so the checker, the stdlib,
every backend and the runtime read one definition from below them all."""
from __future__ import annotations

import math
from typing import Any, Sequence

from dfl.ir.types import Type

INT_MIN = -(1 << 63)
INT_MAX = (1 << 63) - 1


def wrap64(x: int) -> int:
    """Integer overflow wraps as 64-bit two's complement, in every backend."""
    if INT_MIN <= x <= INT_MAX:
        return x
    return ((x + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)


def format_value(v: Any, t: Type | None = None) -> str:
    """Floats as Python's repr, booleans as true/false, the rest as str."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def value_key(v: Any) -> tuple:
    """Orders numbers numerically, strings by code point, false < true; NaN last among numbers."""
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, (int, float)):
        if isinstance(v, float) and math.isnan(v):
            return (1, math.inf, 1)
        return (1, v, 0)
    return (2, v)


def row_key(row: Sequence[Any]) -> tuple:
    return tuple(value_key(v) for v in row)


def sort_rows(rows, types: Sequence[Type] | None = None) -> list[tuple]:
    """Rows in the contract's order. Typed columns compare correctly as plain tuples (ints
    numerically, strings by code point, False < True) unless a float column holds a NaN,
    so the key function is only needed then (or when the types are not known)."""
    rows = list(rows)
    if types is not None:
        floats = [i for i, t in enumerate(types) if t == Type.FLOAT]
        if not any(r[i] != r[i] for r in rows for i in floats):
            return sorted(rows)
    return sorted(rows, key=row_key)
