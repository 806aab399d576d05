"""AST expressions -> IR expressions, with explicit int->float conversions and inlined `fn`s."""
from __future__ import annotations

from typing import Mapping

from dfl.errors import DflError
from dfl.ir.builtin_sigs import SIGS
from dfl.ir.expr import Fn, IRExpr, Lit
from dfl.ir.types import Type
from dfl.lang import ast

F, I, S, B = Type.FLOAT, Type.INT, Type.STR, Type.BOOL
_BINOPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "//": "floordiv", "%": "mod"}
_CMPS = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
# builtins whose numeric operands must share one type
_SAME_TYPE = {"min", "max", "pow"}


def to_float(e: IRExpr) -> IRExpr:
    if e.type == F:
        return e
    if isinstance(e, Lit):
        return Lit(float(e.value), F)
    return Fn("float", (e,), F)


def coerce(e: IRExpr, want: Type) -> IRExpr:
    """An int where a float is expected becomes a float."""
    return to_float(e) if want == F and e.type == I else e


def _unify(a: IRExpr, b: IRExpr) -> tuple[IRExpr, IRExpr]:
    if a.type == b.type:
        return a, b
    if a.type.numeric and b.type.numeric:
        return to_float(a), to_float(b)
    return a, b


def lower_expr(e: ast.Expr, env: Mapping[str, IRExpr], fns: Mapping[str, ast.FnDef]) -> IRExpr:
    """`env` maps each variable to the IR expression of its value (a column, or a fn argument)."""
    if isinstance(e, ast.Const):
        return Lit(e.value, e.type)
    if isinstance(e, ast.Var):
        return env[e.name]
    if isinstance(e, ast.BinOp):
        l, r = lower_expr(e.left, env, fns), lower_expr(e.right, env, fns)
        op = _BINOPS[e.op]
        if op == "add" and l.type == S:
            return Fn("add", (l, r), S)
        if op == "div":
            return Fn("div", (to_float(l), to_float(r)), F)
        l, r = _unify(l, r)
        return Fn(op, (l, r), l.type)
    if isinstance(e, ast.Compare):
        l, r = _unify(lower_expr(e.left, env, fns), lower_expr(e.right, env, fns))
        return Fn(_CMPS[e.op], (l, r), B)
    if isinstance(e, ast.Neg):
        x = lower_expr(e.operand, env, fns)
        if isinstance(x, Lit):
            return Lit(-x.value, x.type)
        return Fn("neg", (x,), x.type)
    if isinstance(e, ast.Not):
        return Fn("not", (lower_expr(e.operand, env, fns),), B)
    if isinstance(e, ast.If):
        c = lower_expr(e.cond, env, fns)
        a, b = _unify(lower_expr(e.then, env, fns), lower_expr(e.else_, env, fns))
        return Fn("if", (c, a, b), a.type)
    if isinstance(e, ast.Call):
        args = [lower_expr(a, env, fns) for a in e.args]
        if e.name in fns:
            fn = fns[e.name]
            inner = {p.name: coerce(a, p.type) for p, a in zip(fn.params, args)}
            return coerce(lower_expr(fn.body, inner, fns), fn.ret)
        b = SIGS[e.name]
        if e.name in _SAME_TYPE and len(args) == 2:
            args = list(_unify(args[0], args[1]))
        result = b.typing([a.type for a in args])
        assert isinstance(result, Type)
        return Fn(e.name, tuple(args), result)
    raise DflError(f"cannot lower expression {type(e).__name__}", getattr(e, "span", None))
