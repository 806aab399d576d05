"""Addresses in the source (LANGUAGE.md §8): `Name(key)` and `self`, written away before checking.

- `Name(e)`, where Name is an agent type, becomes the builtin call `__addr("Name", e)`, so the
  checker, the IR and every backend see one ordinary function (ir/builtin_sigs.ADDR_FN); an
  `addr` value is held as the string "Name/key".
- `self` inside an agent is a variable bound by one more body atom, `__self(self)`: `__self` is
  an input relation of the agent's program holding one row, the instance's own address, which
  the runtime gives each instance (runtime/agents/instance.py). The agent's plan is compiled
  once for all its instances; the address is data, not code.

Example: in `agent Kv { ... got@c(k, v) :- get(k), c = Kv("main"), store(k, v). }` the
binding becomes `c = __addr("Kv", "main")`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from dfl.errors import DflError, Span
from dfl.ir.builtin_sigs import ADDR_FN
from dfl.ir.types import Type
from dfl.lang import ast

SELF = "self"
SELF_REL = "__self"  # the input relation holding an instance's own address


def resolve_constructors(prog: ast.Program, errors: list[DflError]) -> ast.Program:
    """`prog` with every `Name(e)` of an agent type Name, top level and agents alike, made a call
    of the address builtin. A user function of the same name keeps its calls."""
    agents = {a.name for a in prog.agents}
    if not agents:
        return prog
    fns = {f.name for f in prog.fns}
    names = agents - fns

    def fix(node: Any) -> Any:
        if isinstance(node, ast.Call) and node.name in names:
            args = tuple(fix(a) for a in node.args)
            if len(args) != 1:
                errors.append(DflError(f"the address {node.name}(key) takes one argument, the instance's key; "
                                       f"got {len(args)}", node.span))
                return node
            return ast.Call(ADDR_FN, (ast.Const(node.name, Type.STR, node.span), args[0]), node.span)
        return _map(node, fix)

    agents_out = []
    for a in prog.agents:
        body = a.body
        if body is not None:
            body = dataclasses.replace(body, rules=[fix(r) for r in body.rules],
                                       fns=[fix(f) for f in body.fns])
        agents_out.append(dataclasses.replace(a, body=body))
    return dataclasses.replace(prog, rules=[fix(r) for r in prog.rules], fns=[fix(f) for f in prog.fns],
                               agents=agents_out)


def _map(node: Any, f) -> Any:
    """`node` with f applied to each AST child (a dataclass field or a tuple's element)."""
    if isinstance(node, tuple):
        return tuple(f(x) for x in node)
    if not dataclasses.is_dataclass(node) or isinstance(node, (Span, ast.Const, ast.Var)):
        return node
    changes = {}
    for fld in dataclasses.fields(node):
        v = getattr(node, fld.name)
        nv = f(v) if isinstance(v, tuple) or (dataclasses.is_dataclass(v) and not isinstance(v, Span)) else v
        if nv is not v:
            changes[fld.name] = nv
    return dataclasses.replace(node, **changes) if changes else node


def uses_self(rule: ast.Rule) -> list[ast.Var]:
    """Every `self` in the rule: its head, its destination, its body."""
    vs = [v for a in rule.head.args for v in ast.expr_vars(a)]
    if rule.head.dest is not None:
        vs.append(rule.head.dest)
    vs += [v for lit in rule.body for v in ast.literal_vars(lit)]
    return [v for v in vs if v.name == SELF]


def bind_self(rule: ast.Rule) -> ast.Rule:
    """The rule reading its instance's address from `__self` where it mentions `self`."""
    if not uses_self(rule):
        return rule
    atom = ast.Atom(SELF_REL, (ast.Var(SELF, rule.head.span),), rule.head.span)
    return dataclasses.replace(rule, body=(atom, *rule.body))


def self_decl(span: Span) -> ast.Decl:
    return ast.Decl(SELF_REL, frozenset({"input"}), (ast.ColumnDecl("a", Type.ADDR, None, span),), span, span)


def check_self_outside(prog: ast.Program, errors: list[DflError]) -> None:
    """`self` is the address of an instance: outside every agent it means nothing. (An agent's
    own program, checked alone, has its rules reading `__self` already: bind_self.)"""
    for rule in prog.rules:
        if any(isinstance(a, ast.Atom) and a.rel == SELF_REL for a in rule.body):
            continue
        for v in uses_self(rule)[:1]:
            errors.append(DflError("`self` is the address of an agent instance and exists only inside an agent",
                                   v.span, hint="rename the variable, or move the rule into an agent"))
