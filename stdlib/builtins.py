"""Builtin functions (LANGUAGE.md §6): their types and their reference implementation.

Each entry gives the arities, a typing rule (argument types -> result type, or a message
saying what is wrong) and the Python implementation the interpreter uses; other backends
keep their own lowering tables keyed by the same names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from dfl.ir.types import Type
from dfl.ir.values import INT_MAX, INT_MIN, wrap64
from dfl.stdlib.hashing import stable_hash

I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL


class BuiltinError(Exception):
    """A run-time failure inside a builtin; the backend adds the rule and the values."""


@dataclass(frozen=True)
class Builtin:
    name: str
    arities: tuple[int, ...]
    typing: Callable[[list[Type]], "Type | str"]
    impl: Callable[..., Any]
    generator: bool = False  # list-valued: only usable as `v in f(...)`
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


def _any_to(res: Type, allowed: tuple[Type, ...] = (I, F, S, B)):
    def rule(ts: list[Type]) -> Type | str:
        if ts[0] not in allowed:
            return f"does not take {ts[0]}"
        return res

    return rule


def _sqrt(x: float) -> float:
    if x < 0:
        raise BuiltinError(f"sqrt of a negative number ({x!r})")
    return math.sqrt(x)


def _log(x: float) -> float:
    if x <= 0:
        raise BuiltinError(f"log of a non-positive number ({x!r})")
    return math.log(x)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        if b < 0:
            raise BuiltinError(f"pow of ints with a negative exponent ({a}, {b})")
        return wrap64(pow(a, b, 1 << 64))
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):
        raise BuiltinError(f"pow({a!r}, {b!r}) is not a real number") from None


def _to_int_of_float(x: float) -> int:
    if math.isnan(x) or math.isinf(x):
        raise BuiltinError(f"cannot convert {x!r} to int")
    return wrap64(int(x))


def _floor(x) -> int:
    if isinstance(x, int):
        return x
    return _to_int_of_float(x) if not math.isfinite(x) else wrap64(math.floor(x))


def _ceil(x) -> int:
    if isinstance(x, int):
        return x
    return _to_int_of_float(x) if not math.isfinite(x) else wrap64(math.ceil(x))


def _to_int(x) -> int:
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        return _to_int_of_float(x)
    text = x.strip()
    if not text or "_" in text:
        raise BuiltinError(f"to_int: {x!r} is not an integer")
    try:
        v = int(text, 10)
    except ValueError:
        raise BuiltinError(f"to_int: {x!r} is not an integer") from None
    if not INT_MIN <= v <= INT_MAX:
        raise BuiltinError(f"to_int: {x!r} does not fit in 64 bits")
    return v


def _to_float(x) -> float:
    if isinstance(x, str):
        try:
            return float(x.strip()) if "_" not in x else float("x")
        except ValueError:
            raise BuiltinError(f"to_float: {x!r} is not a number") from None
    return float(x)


def _to_str(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return repr(x)
    return str(x)


def _split(s: str, sep: str) -> list[str]:
    if sep == "":
        raise BuiltinError("split with an empty separator")
    return s.split(sep)


def _abs(x):
    return wrap64(abs(x)) if isinstance(x, int) else abs(x)


def _minmax(f):
    def impl(a, b):
        r = f(a, b)
        return float(r) if isinstance(a, float) or isinstance(b, float) else r

    return impl


BUILTINS: dict[str, Builtin] = {b.name: b for b in [
    Builtin("abs", (1,), _numeric(1, "same"), _abs),
    Builtin("min", (2,), _numeric(2, "same"), _minmax(min), doc="the smaller of two numbers"),
    Builtin("max", (2,), _numeric(2, "same"), _minmax(max), doc="the larger of two numbers"),
    Builtin("sqrt", (1,), _numeric(1, "float"), _sqrt),
    Builtin("exp", (1,), _numeric(1, "float"), _exp),
    Builtin("log", (1,), _numeric(1, "float"), _log),
    Builtin("pow", (2,), _numeric(2, "same"), _pow),
    Builtin("floor", (1,), _numeric(1, "int"), _floor),
    Builtin("ceil", (1,), _numeric(1, "int"), _ceil),
    Builtin("len", (1,), _fixed((S,), I), len),
    Builtin("lower", (1,), _fixed((S,), S), str.lower),
    Builtin("upper", (1,), _fixed((S,), S), str.upper),
    Builtin("substr", (3,), _fixed((S, I, I), S), lambda s, a, n: s[a:a + n]),
    Builtin("contains", (2,), _fixed((S, S), B), lambda s, t: t in s),
    Builtin("starts_with", (2,), _fixed((S, S), B), str.startswith),
    Builtin("ends_with", (2,), _fixed((S, S), B), str.endswith),
    Builtin("to_str", (1,), _any_to(S), _to_str),
    Builtin("to_int", (1,), _any_to(I), _to_int),
    Builtin("to_float", (1,), _any_to(F, (I, F, S)), _to_float),
    Builtin("hash", (1,), _any_to(I), stable_hash),
    Builtin("split", (2,), _fixed((S, S), S), _split, generator=True),
    Builtin("range", (2,), _fixed((I, I), I), lambda lo, hi: range(lo, hi), generator=True),
]}
