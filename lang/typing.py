"""Types of expressions (LANGUAGE.md §6), given the types of the variables."""
from __future__ import annotations

from typing import Mapping

from dfl.errors import DflError
from dfl.ir.builtin_sigs import SIGS
from dfl.ir.types import Type
from dfl.lang import ast

I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL


def unify_numeric(a: Type, b: Type) -> Type | None:
    """The common type of two operands, or None: int with float is float."""
    if a == b:
        return a
    if a.numeric and b.numeric:
        return F
    return None


def assignable(src: Type, dst: Type) -> bool:
    """Can a value of type src stand where dst is expected? (an int where a float is expected)"""
    return src == dst or (src == I and dst == F)


class Typer:
    """Types expressions in an environment of variable types; user functions are typed by signature."""

    def __init__(self, env: Mapping[str, Type], fns: Mapping[str, ast.FnDef]) -> None:
        self.env = env
        self.fns = fns

    def type_of(self, e: ast.Expr) -> Type:
        if isinstance(e, ast.Const):
            return e.type
        if isinstance(e, ast.Var):
            if e.is_wildcard:
                raise DflError("the wildcard `_` stands only as an argument of an atom", e.span)
            if e.name not in self.env:
                raise DflError(f"variable '{e.name}' is not bound here", e.span,
                               hint="bind it with a positive atom, `v = expr` or `v in split(...)` first")
            return self.env[e.name]
        if isinstance(e, ast.BinOp):
            return self._binop(e)
        if isinstance(e, ast.Neg):
            t = self.type_of(e.operand)
            if not t.numeric:
                raise DflError(f"unary `-` needs a number, got {t}", e.span)
            return t
        if isinstance(e, ast.Not):
            t = self.type_of(e.operand)
            if t != B:
                raise DflError(f"`!` needs a bool, got {t}", e.span)
            return B
        if isinstance(e, ast.Compare):
            lt, rt = self.type_of(e.left), self.type_of(e.right)
            if unify_numeric(lt, rt) is None:
                raise DflError(f"cannot compare {lt} with {rt}", e.span,
                               hint="convert one side, e.g. with to_str(x) or to_int(s)")
            if lt == Type.ADDR and e.op not in ("=", "!="):
                raise DflError("addresses can only be compared with = and !=", e.span)
            return B
        if isinstance(e, ast.If):
            ct = self.type_of(e.cond)
            if ct != B:
                raise DflError(f"the condition of `if` must be a bool, got {ct}", e.cond.span)
            a, b = self.type_of(e.then), self.type_of(e.else_)
            u = unify_numeric(a, b)
            if u is None:
                raise DflError(f"the branches of `if` have different types ({a} and {b})", e.span)
            return u
        if isinstance(e, ast.Call):
            return self._call(e)
        if isinstance(e, ast.HeadAgg):
            raise DflError(f"the aggregate {e.func}(…) stands only as a head argument", e.span)
        raise TypeError(e)

    def _binop(self, e: ast.BinOp) -> Type:
        lt, rt = self.type_of(e.left), self.type_of(e.right)
        if e.op == "+" and lt == S and rt == S:
            return S
        if not (lt.numeric and rt.numeric):
            what = "concatenate" if e.op == "+" and S in (lt, rt) else f"apply `{e.op}` to"
            hint = "convert the number with to_str(x)" if e.op == "+" and S in (lt, rt) else None
            raise DflError(f"cannot {what} {lt} and {rt}", e.span, hint=hint)
        if e.op == "/":
            return F
        return I if lt == I and rt == I else F

    def _call(self, e: ast.Call) -> Type:
        if e.name in self.fns:
            fn = self.fns[e.name]
            if len(e.args) != len(fn.params):
                raise DflError(f"{e.name} takes {len(fn.params)} argument(s), got {len(e.args)}", e.span)
            for a, p in zip(e.args, fn.params):
                t = self.type_of(a)
                if not assignable(t, p.type):
                    raise DflError(f"argument '{p.name}' of {e.name} is {p.type}, got {t}", a.span)
            return fn.ret
        b = SIGS.get(e.name)
        if b is None:
            if e.name in ast.AGGREGATES:
                raise DflError(f"the aggregate {e.name} stands in a head or as `v = {e.name} x : body`", e.span)
            raise DflError(f"unknown function '{e.name}'", e.span)
        if len(e.args) not in b.arities:
            raise DflError(f"{e.name} takes {' or '.join(map(str, b.arities))} argument(s), got {len(e.args)}",
                           e.span)
        ts = [self.type_of(a) for a in e.args]
        r = b.typing(ts)
        if isinstance(r, str):
            got = ", ".join(map(str, ts))
            raise DflError(f"{e.name} {r} (got {got})", e.span)
        return r
