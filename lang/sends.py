"""Sends (LANGUAGE.md §8): `chan@dest(args) :- body.` inside an agent, written as a rule of an
ordinary output relation before checking.

The rule becomes `__send_chan(dest, args) :- body.`, with `output __send_chan(__to: addr, ...)`
declared in the agent's program: each tick's rows of that output are the rows the instance
sends that tick (one message per distinct row; the runtime delivers them at a later tick of
`dest`, runtime/agents/instance.py). So the checker types a send like any head, the compiler
plans it like any rule, and every backend runs it unchanged.

The columns after `to` are the channel's: those of `chan` as declared in the sending agent, or
else in the agents that declare it (they must agree), or else, for a channel no agent declares
(a reply to an outside client, labelled with its name), the types the send's arguments have.

`@allow` is checked here where the destination is known from the source: `self`, or a variable
bound by `d = Name(...)` in the rule's body; the runtime refuses the other cases.

Example: in agent Kv, `got@c(k, v) :- get(k, c), store(k, v).` with `got` declared nowhere
becomes `__send_got(c, k, v) :- get(k, c), store(k, v).` and `output __send_got(__to: addr,
c1: str, c2: str)`.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from dfl.errors import DflError, Span
from dfl.ir.builtin_sigs import ADDR_FN
from dfl.ir.types import Type
from dfl.lang import ast
from dfl.lang.addresses import SELF

SEND_PREFIX = "__send_"
DEST_COLUMN = "__to"  # never a user column name (`__` is reserved)


def send_relation(channel: str) -> str:
    return SEND_PREFIX + channel


def sent_channel(relation: str) -> str | None:
    """The channel an agent's hidden send relation sends on; None for any other relation."""
    return relation[len(SEND_PREFIX):] if relation.startswith(SEND_PREFIX) else None


# (rule, the agent program's relations, its functions) -> each head argument's type
HeadTyper = Callable[[ast.Rule, dict[str, ast.Decl], dict[str, ast.FnDef]], list[Type]]


@dataclasses.dataclass
class AgentDecls:
    """What a sender needs of every agent type: its declarations and `@allow` lists."""
    decls: dict[str, dict[str, ast.Decl]]  # agent -> name -> decl (policies taken off)
    allow: dict[str, dict[str, frozenset[str]]]  # agent -> channel -> allowed senders


def rewrite_sends(agent: str, rules: list[ast.Rule], own: dict[str, ast.Decl], fns: dict[str, ast.FnDef],
                  every: AgentDecls, head_types: HeadTyper, errors: list[DflError]) \
        -> tuple[list[ast.Rule], list[ast.Decl]]:
    """The agent's rules with sends made rules of hidden outputs, and those outputs' declarations."""
    out: list[ast.Rule] = []
    columns: dict[str, tuple[ast.ColumnDecl, ...]] = {}
    undeclared: list[ast.Rule] = []
    for rule in rules:
        head = rule.head
        if head.dest is None:
            out.append(rule)
            continue
        ch = head.rel
        if rule.kind != "rule":
            errors.append(DflError(f"`{rule.kind}` cannot stand before a send: a sent row always arrives at a "
                                   f"later tick of its receiver", rule.span, hint=f"write `{ch}@{head.dest.name}(...) :- ...`"))
            continue
        if ch in own and own[ch].storage != "channel":
            errors.append(DflError(f"'{ch}' is a {own[ch].storage} of agent {agent}; a send goes to a channel",
                                   head.span, hint=f"declare `channel {ch}(...)` where it is received"))
            continue
        new = dataclasses.replace(rule, head=ast.Head(send_relation(ch), (head.dest, *head.args), head.span))
        _check_allow(agent, rule, every, errors)
        cols = _declared(agent, ch, own, every, head.span, errors)
        if cols is False:
            continue
        if cols is None:
            undeclared.append(new)
            continue
        if ch not in columns:
            columns[ch] = cols
        if len(cols) != len(head.args):
            errors.append(DflError(f"channel '{ch}' has {len(cols)} column(s) but this send gives {len(head.args)}",
                                   head.span))
            continue
        out.append(new)
    relations = dict(own)
    for ch, cols in columns.items():
        relations[send_relation(ch)] = _decl(ch, cols, own)
    for rule in undeclared:  # a reply channel: typed by what is sent on it
        ch = rule.head.rel[len(SEND_PREFIX):]
        try:
            ts = head_types(dataclasses.replace(rule, head=dataclasses.replace(rule.head, args=rule.head.args[1:])),
                            relations, fns)
        except DflError as e:
            errors.extend(e.all())
            continue
        cols = tuple(ast.ColumnDecl(f"c{i + 1}", t, None, a.span) for i, (t, a) in enumerate(zip(ts, rule.head.args[1:])))
        if ch in columns and tuple(c.type for c in columns[ch]) != tuple(c.type for c in cols):
            was = ", ".join(str(c.type) for c in columns[ch])
            errors.append(DflError(f"the sends on '{ch}' give rows of different types: ({was}) and "
                                   f"({', '.join(str(c.type) for c in cols)})", rule.head.span,
                                   hint=f"declare `channel {ch}(...)` in an agent that receives it, or convert"))
            continue
        columns.setdefault(ch, cols)
        relations[send_relation(ch)] = _decl(ch, columns[ch], own)
        out.append(rule)
    decls = [_decl(ch, cols, own) for ch, cols in columns.items()]
    return out, decls


def _decl(ch: str, cols: tuple[ast.ColumnDecl, ...], own: dict[str, ast.Decl]) -> ast.Decl:
    span = cols[0].span if cols else (own[ch].span if ch in own else Span("<send>", 1, 1, 1, 1))
    dest = ast.ColumnDecl(DEST_COLUMN, Type.ADDR, None, span)
    plain = tuple(dataclasses.replace(c, lattice=None) for c in cols)
    return ast.Decl(send_relation(ch), frozenset({"output"}), (dest, *plain), span, span)


def _declared(agent: str, ch: str, own: dict[str, ast.Decl], every: AgentDecls, span: Span,
              errors: list[DflError]):
    """The columns of channel `ch` where some agent declares it; None where none does; False
    (with an error) where agents disagree."""
    if ch in own:
        return own[ch].columns
    found = {a: d[ch] for a, d in sorted(every.decls.items()) if ch in d and d[ch].storage == "channel"}
    if not found:
        return None
    kinds = {tuple(c.type for c in d.columns) for d in found.values()}
    if len(kinds) > 1:
        where = ", ".join(f"{a}.{ch}{d.schema}" for a, d in found.items())
        errors.append(DflError(f"channel '{ch}' is declared with different columns ({where}); a send from "
                               f"{agent} cannot be typed", span, hint="rename one, or declare it in the sender"))
        return False
    return next(iter(found.values())).columns


def _destination_agent(agent: str, rule: ast.Rule) -> str | None:
    """The agent type the rule sends to, where the source says: `self`, or `d = Name(...)`."""
    dest = rule.head.dest.name
    if dest == SELF:
        return agent
    for lit in rule.body:
        if isinstance(lit, ast.Filter) and isinstance(lit.expr, ast.Compare) and lit.expr.op == "=":
            for a, b in ((lit.expr.left, lit.expr.right), (lit.expr.right, lit.expr.left)):
                if isinstance(a, ast.Var) and a.name == dest and isinstance(b, ast.Call) and b.name == ADDR_FN \
                        and isinstance(b.args[0], ast.Const):
                    return b.args[0].value
    return None


def _check_allow(agent: str, rule: ast.Rule, every: AgentDecls, errors: list[DflError]) -> None:
    to = _destination_agent(agent, rule)
    ch = rule.head.rel
    if to is None or to not in every.decls:
        return
    d = every.decls[to].get(ch)
    if d is None or d.storage != "channel":
        errors.append(DflError(f"agent {to} has no channel '{ch}'", rule.head.span,
                               hint=f"its channels: {', '.join(sorted(n for n, x in every.decls[to].items() if x.storage == 'channel')) or 'none'}"))
        return
    allowed = every.allow.get(to, {}).get(ch)
    if allowed is not None and agent not in allowed:
        errors.append(DflError(f"{to}.{ch} accepts messages only from {', '.join(sorted(allowed))}, and this "
                               f"send is from {agent}", rule.head.span,
                               hint=f"add {agent} to its @allow, or send through an allowed agent"))
