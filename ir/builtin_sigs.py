"""Builtin functions' signatures (LANGUAGE.md §6): names, arities, typing rules, generator or
not, and which can fail at run time; no implementations.

The checker (lang/) and the verifier (ir/verify.py) read these without importing the
implementations, which live a layer up in stdlib/builtins.py (and in each backend's
lowering tables, keyed by the same names). `MAY_FAIL` is the one list of the IR functions
that can raise a run-time error: the checker orders rule bodies by it (lang/safety.py) and
filter push-down keeps such conjuncts where the rule put them (compiler/passes/pushdown.py).

Example:
    SIGS["sqrt"].typing([Type.INT])   # Type.FLOAT
    may_fail(Fn("div", (a, b), F))    # True: division by zero
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from dfl.ir.expr import Fn
from dfl.ir.types import Type

I, F, S, B, A = Type.INT, Type.FLOAT, Type.STR, Type.BOOL, Type.ADDR

# `Name(e)` (an agent's address, LANGUAGE.md §8) is lowered by lang/agents.py to a call of
# this builtin with the agent's name first; users write the constructor, never this name.
ADDR_FN = "__addr"


@dataclass(frozen=True)
class BuiltinSig:
    name: str
    arities: tuple[int, ...]
    typing: Callable[[list[Type]], "Type | str"]  # argument types -> result type, or what is wrong
    generator: bool = False  # list-valued: only usable as `v in f(...)`
    may_fail: bool = False  # can raise a run-time error (sqrt of a negative number, ...)
    doc: str = ""


def _numeric(n: int, result: str):
    """Typing for numeric builtins: "same" keeps the operands' type (int only if all are int)."""

    def rule(ts: list[Type]) -> Type | str:
        if any(not t.numeric for t in ts):
            return "expects numbers"
        if result == "same":
            return I if all(t == I for t in ts) else F
        return {"float": F, "int": I}[result]

    return rule


def _fixed(args: tuple[Type, ...], res: Type):
    def rule(ts: list[Type]) -> Type | str:
        for got, want in zip(ts, args):
            if got != want and not (want == F and got == I):
                return f"expects ({', '.join(map(str, args))})"
        return res

    return rule


def _address(ts: list[Type]) -> Type | str:
    if ts[1] != S:
        return "needs a str key: an agent's address is Name(key), the key a str expression"
    return A


def _any_to(res: Type, allowed: tuple[Type, ...] = (I, F, S, B)):
    def rule(ts: list[Type]) -> Type | str:
        if ts[0] not in allowed:
            return f"does not take {ts[0]}"
        return res

    return rule


SIGS: dict[str, BuiltinSig] = {b.name: b for b in [
    BuiltinSig("abs", (1,), _numeric(1, "same")),
    BuiltinSig("min", (2,), _numeric(2, "same"), doc="the smaller of two numbers"),
    BuiltinSig("max", (2,), _numeric(2, "same"), doc="the larger of two numbers"),
    BuiltinSig("sqrt", (1,), _numeric(1, "float"), may_fail=True),
    BuiltinSig("exp", (1,), _numeric(1, "float")),
    BuiltinSig("log", (1,), _numeric(1, "float"), may_fail=True),
    BuiltinSig("pow", (2,), _numeric(2, "same"), may_fail=True),
    BuiltinSig("floor", (1,), _numeric(1, "int"), may_fail=True),
    BuiltinSig("ceil", (1,), _numeric(1, "int"), may_fail=True),
    BuiltinSig("len", (1,), _fixed((S,), I)),
    BuiltinSig("lower", (1,), _fixed((S,), S)),
    BuiltinSig("upper", (1,), _fixed((S,), S)),
    BuiltinSig("substr", (3,), _fixed((S, I, I), S)),
    BuiltinSig("contains", (2,), _fixed((S, S), B)),
    BuiltinSig("starts_with", (2,), _fixed((S, S), B)),
    BuiltinSig("ends_with", (2,), _fixed((S, S), B)),
    BuiltinSig("to_str", (1,), _any_to(S, (I, F, S, B, A))),
    BuiltinSig("to_int", (1,), _any_to(I), may_fail=True),
    BuiltinSig("to_float", (1,), _any_to(F, (I, F, S)), may_fail=True),
    BuiltinSig("hash", (1,), _any_to(I)),
    BuiltinSig("split", (2,), _fixed((S, S), S), generator=True, may_fail=True),
    BuiltinSig("range", (2,), _fixed((I, I), I), generator=True),
    BuiltinSig("agent_of", (1,), _fixed((A,), S), doc="the agent type of an address (`Kv` of Kv/k1)"),
    BuiltinSig("key_of", (1,), _fixed((A,), S), doc="the instance key of an address (`k1` of Kv/k1)"),
    BuiltinSig(ADDR_FN, (2,), _address, doc="Name(key): the address of instance `key` of agent Name"),
]}

# source operators that can fail (by zero), with the IR function each lowers to
FAILING_OPERATORS: dict[str, str] = {"/": "div", "//": "floordiv", "%": "mod"}

# every IR function (ir/expr.py Fn.op) that can raise a run-time error
MAY_FAIL: frozenset[str] = frozenset(FAILING_OPERATORS.values()) | {n for n, b in SIGS.items() if b.may_fail}


def may_fail(e: Any) -> bool:
    """Can evaluating the IR expression e raise a run-time error (division by zero, log of 0, …)?"""
    return isinstance(e, Fn) and (e.op in MAY_FAIL or any(may_fail(a) for a in e.args))
