"""Scalar expressions of the IR: over the columns of an operator's input, typed.

`Col(i)` is column i of the input row, `Lit` a constant, `Fn(op, args)` an operator or a
builtin. Operators: add sub mul div floordiv mod neg not and eq ne lt le gt ge if, the
conversion `float` (an int where a float is expected), and every builtin of
`dfl.ir.builtin_sigs` by its name. User functions are inlined when lowering.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from dfl.ir.types import Type

ARITH_OPS = ("add", "sub", "mul", "div", "floordiv", "mod")
CMP_OPS = ("eq", "ne", "lt", "le", "gt", "ge")
OTHER_OPS = ("neg", "not", "and", "if", "float")


@dataclass(frozen=True)
class Col:
    index: int
    type: Type


@dataclass(frozen=True)
class Lit:
    value: Any
    type: Type


@dataclass(frozen=True)
class Fn:
    op: str
    args: tuple["IRExpr", ...]
    type: Type


IRExpr = Union[Col, Lit, Fn]


def cols_used(e: IRExpr) -> set[int]:
    if isinstance(e, Col):
        return {e.index}
    if isinstance(e, Fn):
        return set().union(*(cols_used(a) for a in e.args)) if e.args else set()
    return set()


def shift(e: IRExpr, mapping: dict[int, int]) -> IRExpr:
    """Renumbers the columns an expression reads."""
    if isinstance(e, Col):
        return Col(mapping[e.index], e.type)
    if isinstance(e, Fn):
        return Fn(e.op, tuple(shift(a, mapping) for a in e.args), e.type)
    return e


def conj(preds: list[IRExpr]) -> IRExpr:
    """The `and` of predicates (true when there are none)."""
    if not preds:
        return Lit(True, Type.BOOL)
    if len(preds) == 1:
        return preds[0]
    return Fn("and", tuple(preds), Type.BOOL)
