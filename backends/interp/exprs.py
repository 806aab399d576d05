"""IR expressions -> Python source, compiled once per node into a function over rows.

Generating one list comprehension per operator (instead of a tree of closures per row)
keeps the interpreter simple and several times faster; the semantics are the builtins'
(`dfl.stdlib.builtins`) and Python's, with 64-bit wraparound for ints.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable

from dfl.ir.expr import Col, IRExpr, Lit
from dfl.ir.types import Type
from dfl.ir.values import wrap64
from dfl.stdlib.builtins import BUILTINS, BuiltinError

_SYM = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%"}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
# x wrapped to 64-bit two's complement, inline (cheaper than a call per operation); the
# outer parentheses matter: the result is an operand of the enclosing expression
# (`i * (i + i)` must not read as `i * (wrapped(i + i) + C & M) - C`)
_WRAP = "(((({}) + 9223372036854775808) & 18446744073709551615) - 9223372036854775808)"


_MAX_PARENS = 40  # parentheses in one generated expression before it moves to a helper


def _show(v: Any) -> str:
    return repr(v) if isinstance(v, (float, str)) else str(v)


def _checked(sym: str, f: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def impl(x, y):
        if y == 0:
            raise BuiltinError(f"division by zero: {_show(x)} {sym} {_show(y)}")
        return f(x, y)

    return impl


_HELPERS: dict[str, Any] = {
    "_div": _checked("/", operator.truediv),
    "_fdiv": _checked("//", operator.floordiv),
    "_mod": _checked("%", operator.mod),
    "_wrap": wrap64,
    "_NAN": math.nan,
    **{f"_b_{name}": b.impl for name, b in BUILTINS.items()},
}


class _Gen:
    """Turns expressions into Python source; constants go into the namespace by name."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = dict(_HELPERS)

    def const(self, v: Any) -> str:
        if isinstance(v, bool) or v is None:
            return repr(v)
        if isinstance(v, int):
            return f"({v})"
        name = f"_k{len(self.ns)}"
        self.ns[name] = v
        return name

    def src(self, e: IRExpr) -> str:
        """The source of e over the row `r`. A deep expression is cut into helper functions
        of `r` (a call where the subexpression stood, so `if` and `and` still evaluate lazily):
        Python's parser refuses more than 200 nested parentheses, and every int operation
        adds four."""
        code = self._src(e)
        if code.count("(") <= _MAX_PARENS:
            return code
        name = f"_h{len(self.ns)}"
        exec(compile(f"def {name}(r):\n    return {code}\n", "<dfl-interp>", "exec"), self.ns)
        return f"{name}(r)"

    def _src(self, e: IRExpr) -> str:
        if isinstance(e, Col):
            return f"r[{e.index}]"
        if isinstance(e, Lit):
            return self.const(e.value)
        a = [self.src(x) for x in e.args]
        op = e.op
        if op in _SYM:
            if op == "div":
                return f"_div({a[0]}, {a[1]})"
            if op == "floordiv":
                inner = f"_fdiv({a[0]}, {a[1]})"
                return _WRAP.format(inner) if e.type == Type.INT else inner
            if op == "mod":
                return f"_mod({a[0]}, {a[1]})"
            inner = f"{a[0]} {_SYM[op]} {a[1]}"
            return _WRAP.format(inner) if e.type == Type.INT else f"({inner})"
        if op in _CMP:
            return f"({a[0]} {_CMP[op]} {a[1]})"
        if op == "neg":
            return _WRAP.format(f"-{a[0]}") if e.type == Type.INT else f"(-{a[0]})"
        if op == "not":
            return f"(not {a[0]})"
        if op == "and":
            return "(" + " and ".join(a) + ")"
        if op == "if":
            return f"({a[1]} if {a[0]} else {a[2]})"
        if op == "float":
            return f"float({a[0]})"
        if op in BUILTINS:
            return f"_b_{op}({', '.join(a)})"
        raise ValueError(f"the interp backend has no lowering for expression op '{op}'")

    def compile(self, code: str) -> Callable:
        exec(compile(code, "<dfl-interp>", "exec"), self.ns)
        return self.ns["_f"]


def _one_nan(src: str) -> str:
    """Every NaN a row holds is the one object `math.nan`: Python's sets find a row by
    identity before equality, so rows that differ only in which NaN object they hold are
    then one row (a relation is a set, and the cpu backend's NaNs are all equal)."""
    return f"(_v if (_v := {src}) == _v else _NAN)"


def row_function(exprs: tuple[IRExpr, ...]) -> Callable[[list[tuple]], list[tuple]]:
    """rows -> [tuple(exprs) for each row]"""
    g = _Gen()
    body = ", ".join(_one_nan(g.src(e)) if e.type == Type.FLOAT and not isinstance(e, (Col, Lit)) else g.src(e)
                     for e in exprs)
    return g.compile(f"def _f(rows):\n    return [({body}{',' if exprs else ''}) for r in rows]\n")


def filter_function(pred: IRExpr) -> Callable[[list[tuple]], list[tuple]]:
    g = _Gen()
    return g.compile(f"def _f(rows):\n    return [r for r in rows if {g.src(pred)}]\n")


def value_function(e: IRExpr) -> Callable[[tuple], Any]:
    """row -> the value of e"""
    g = _Gen()
    return g.compile(f"def _f(r):\n    return {g.src(e)}\n")


def compile_expr(e: IRExpr) -> Callable[[tuple], Any]:
    return value_function(e)
