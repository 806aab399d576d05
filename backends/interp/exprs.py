"""IR expressions -> Python closures over a row (a tuple). Compiled once per node."""
from __future__ import annotations

import operator
from typing import Any, Callable

from dfl.ir.expr import Col, Fn, IRExpr, Lit
from dfl.ir.types import Type
from dfl.runtime.values import wrap64
from dfl.stdlib.builtins import BUILTINS, BuiltinError

Row = tuple
RowFn = Callable[[Row], Any]

_CMP = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
        "gt": operator.gt, "ge": operator.ge}
_SYM = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%"}


def _checked_div(op: str, f: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def impl(x, y):
        if y == 0:
            raise BuiltinError(f"division by zero: {_show(x)} {_SYM[op]} {_show(y)}")
        return f(x, y)

    return impl


def _show(v: Any) -> str:
    return repr(v) if isinstance(v, (float, str)) else str(v)


def _float_floordiv(x: float, y: float) -> float:
    return x // y


_INT_ARITH = {
    "add": lambda x, y: wrap64(x + y),
    "sub": lambda x, y: wrap64(x - y),
    "mul": lambda x, y: wrap64(x * y),
    "floordiv": _checked_div("floordiv", lambda x, y: wrap64(x // y)),
    "mod": _checked_div("mod", operator.mod),
}
_FLOAT_ARITH = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "div": _checked_div("div", operator.truediv),
    "floordiv": _checked_div("floordiv", _float_floordiv),
    "mod": _checked_div("mod", operator.mod),
}


def compile_expr(e: IRExpr) -> RowFn:
    if isinstance(e, Col):
        return operator.itemgetter(e.index)
    if isinstance(e, Lit):
        v = e.value
        return lambda r: v
    args = [compile_expr(a) for a in e.args]
    op = e.op
    if op in _SYM:
        a, b = args
        if op == "add" and e.type == Type.STR:
            return lambda r: a(r) + b(r)
        f = (_INT_ARITH if e.type == Type.INT else _FLOAT_ARITH)[op]
        return lambda r: f(a(r), b(r))
    if op in _CMP:
        a, b = args
        f = _CMP[op]
        return lambda r: f(a(r), b(r))
    if op == "neg":
        (a,) = args
        return (lambda r: wrap64(-a(r))) if e.type == Type.INT else (lambda r: -a(r))
    if op == "not":
        (a,) = args
        return lambda r: not a(r)
    if op == "and":
        return lambda r: all(f(r) for f in args)
    if op == "if":
        c, a, b = args
        return lambda r: a(r) if c(r) else b(r)
    if op == "float":
        (a,) = args
        return lambda r: float(a(r))
    impl = BUILTINS[op].impl
    if len(args) == 1:
        (a,) = args
        return lambda r: impl(a(r))
    if len(args) == 2:
        a, b = args
        return lambda r: impl(a(r), b(r))
    return lambda r: impl(*(f(r) for f in args))
