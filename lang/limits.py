"""How deep and how big an expression may be (docs/semantics.md, "Limits").

The parser's classification, the checker, the lowering and the backends' code generators
walk expressions recursively, one or two Python frames per level; an expression nested
beyond MAX_DEPTH levels is a compile error pointing at it, not a RecursionError in some pass.
User functions are inlined at every call, so functions that each call the previous one
twice double at every step (20 of them: a million nodes): an expression or function whose
inlined form is deeper than MAX_DEPTH or has more than MAX_NODES nodes is a compile error
too, found by counting, without inlining anything.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping

from dfl.errors import DflError
from dfl.lang import ast

MAX_DEPTH = 256
MAX_NODES = 100_000
MAX_ALTERNATIVES = 4096  # rules one rule's `;` groups expand to (each group multiplies them)

_EXPRS = (ast.Call, ast.BinOp, ast.Compare, ast.Neg, ast.Not, ast.If)


def kids(e: Any) -> tuple:
    if isinstance(e, ast.Call):
        return e.args
    if isinstance(e, (ast.BinOp, ast.Compare)):
        return (e.left, e.right)
    if isinstance(e, (ast.Neg, ast.Not)):
        return (e.operand,)
    if isinstance(e, ast.If):
        return (e.cond, e.then, e.else_)
    if isinstance(e, ast.HeadAgg):
        return () if e.arg is None else (e.arg,)
    return ()


def _too_deep(what: str, span) -> DflError:
    return DflError(f"{what} nests more than {MAX_DEPTH} levels deep", span,
                    hint="name intermediate results with bindings (`t = …, u = t + …`) or split the rule")


_LEAVES = (str, int, float, bool, type(None), ast.Var, ast.Const)  # nothing nests inside these
_FIELDS: dict[type, tuple[str, ...]] = {}


def check_raw_nesting(items: Iterable[Any], group_type: type) -> None:
    """The parser's raw items (before classification): expressions and parenthesised groups
    each nest at most MAX_DEPTH deep. Iterative: the point is not to recurse that deep."""
    stack: list[tuple[Any, int, int]] = [(x, 0, 0) for x in items]
    while stack:
        x, depth, groups = stack.pop()
        if isinstance(x, _EXPRS):
            depth += 1
            if depth > MAX_DEPTH:
                raise _too_deep("this expression", x.span)
        elif isinstance(x, group_type):
            groups += 1
            if groups > MAX_DEPTH:
                raise _too_deep("this parenthesised group", x.span)
        if isinstance(x, (tuple, list)):
            stack.extend((c, depth, groups) for c in x if not isinstance(c, _LEAVES))
        else:
            names = _FIELDS.get(type(x))
            if names is None:
                names = _FIELDS[type(x)] = tuple(f.name for f in dataclasses.fields(x) if f.name != "span") \
                    if dataclasses.is_dataclass(x) and not isinstance(x, type) else ()
            for n in names:
                c = getattr(x, n)
                if not isinstance(c, _LEAVES):
                    stack.append((c, depth, groups))


class Inlined:
    """The depth and node count of expressions once user functions are inlined, per
    function: its body's depth and size, and how many times each parameter occurs."""

    def __init__(self, fns: Mapping[str, ast.FnDef], order: Iterable[str]) -> None:
        self.fns = fns
        self.depth: dict[str, int] = {}
        self.size: dict[str, int] = {}
        self.uses: dict[str, dict[str, tuple[int, int]]] = {}
        for name in order:  # callees first
            f = fns[name]
            params = {p.name: {p.name: (1, 1)} for p in f.params}
            d, n, uses = self.measure(f.body, params)
            if d > MAX_DEPTH:
                raise _too_deep(f"function '{name}', with the functions it calls inlined,", f.span)
            if n > MAX_NODES:
                raise self._too_big(f"function '{name}'", n, f.span)
            self.depth[name], self.size[name], self.uses[name] = d, n, uses

    @staticmethod
    def _too_big(what: str, n: int, span) -> DflError:
        return DflError(f"{what} has {n:,} nodes once user functions are inlined (at most {MAX_NODES:,})", span,
                        hint="a function that uses a parameter or calls another function several times "
                             "copies it each time; bind a shared value once in the rule instead")

    def measure(self, e: ast.Expr, env: Mapping[str, dict[str, tuple[int, int]]]) -> tuple[int, int, dict]:
        """(depth, nodes, uses) of e inlined, where uses maps each outer parameter to (how many
        times it occurs, the depth of its deepest occurrence); `env` maps a variable to the
        parameters it stands for (in a rule: none). Iterative, post-order."""
        vals: list[tuple[int, int, dict[str, tuple[int, int]]]] = []
        stack: list[tuple[Any, bool]] = [(e, False)]
        while stack:
            x, done = stack.pop()
            ks = kids(x)
            if not done:
                stack.append((x, True))
                stack.extend((k, False) for k in reversed(ks))
                continue
            parts = vals[len(vals) - len(ks):]
            del vals[len(vals) - len(ks):]
            if isinstance(x, ast.Var):
                res = (1, 1, dict(env.get(x.name, {})))
            elif isinstance(x, ast.Call) and x.name in self.depth:
                res = self._call(x, parts)
            else:
                uses: dict[str, tuple[int, int]] = {}
                for _, _, u in parts:
                    for p, (c, pd) in u.items():
                        c0, pd0 = uses.get(p, (0, 0))
                        uses[p] = (c0 + c, max(pd0, pd + 1))
                res = (1 + max((d for d, _, _ in parts), default=0), 1 + sum(n for _, n, _ in parts), uses)
            vals.append(res)
        return vals[0]

    def _call(self, x: ast.Call, parts: list) -> tuple[int, int, dict[str, tuple[int, int]]]:
        f = self.fns[x.name]
        d, n, uses = self.depth[x.name], self.size[x.name], {}
        for p, (ad, an, au) in zip(f.params, parts):
            k, pd = self.uses[x.name].get(p.name, (0, 0))
            if not k:
                continue
            n += k * (an - 1)  # each occurrence of the parameter becomes a copy of the argument
            d = max(d, pd - 1 + ad)  # the argument hangs where the parameter stood
            for q, (c, qd) in au.items():
                c0, qd0 = uses.get(q, (0, 0))
                uses[q] = (c0 + k * c, max(qd0, pd - 1 + qd))
        return d, n, uses

    def check(self, e: ast.Expr | None) -> None:
        """A rule's expression: an error at it when its inlined form is too deep or too big."""
        if e is None:
            return
        d, n, _ = self.measure(e, {})
        if d > MAX_DEPTH:
            raise _too_deep("this expression, with the functions it calls inlined,", getattr(e, "span", None))
        if n > MAX_NODES:
            raise self._too_big("this expression", n, getattr(e, "span", None))
