"""Builtin functions (LANGUAGE.md §6): their reference implementations.

Each entry joins a signature from ir/builtin_sigs.py (arities, typing rule, generator,
may fail) with the Python implementation the interpreter uses; other backends keep their
own lowering tables keyed by the same names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from dfl.ir.builtin_sigs import ADDR_FN, SIGS, BuiltinSig
from dfl.ir.types import Type
from dfl.ir.values import INT_MAX, INT_MIN, wrap64
from dfl.stdlib.hashing import stable_hash


class BuiltinError(Exception):
    """A run-time failure inside a builtin; the backend adds the rule and the values."""


@dataclass(frozen=True)
class Builtin:
    """A builtin's signature (ir/builtin_sigs.py) with the Python implementation the interpreter uses."""

    sig: BuiltinSig
    impl: Callable[..., Any]

    @property
    def name(self) -> str:
        return self.sig.name

    @property
    def arities(self) -> tuple[int, ...]:
        return self.sig.arities

    @property
    def typing(self) -> Callable[[list[Type]], "Type | str"]:
        return self.sig.typing

    @property
    def generator(self) -> bool:
        return self.sig.generator

    @property
    def may_fail(self) -> bool:
        return self.sig.may_fail

    @property
    def doc(self) -> str:
        return self.sig.doc


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


_IMPLS: dict[str, Callable[..., Any]] = {
    "abs": _abs, "min": _minmax(min), "max": _minmax(max), "sqrt": _sqrt, "exp": _exp, "log": _log, "pow": _pow,
    "floor": _floor, "ceil": _ceil, "len": len, "lower": str.lower, "upper": str.upper,
    "substr": lambda s, a, n: s[a:a + n], "contains": lambda s, t: t in s, "starts_with": str.startswith,
    "ends_with": str.endswith, "to_str": _to_str, "to_int": _to_int, "to_float": _to_float, "hash": stable_hash,
    "split": _split, "range": lambda lo, hi: range(lo, hi),
    # an addr is held as the string "Name/key" (LANGUAGE.md §8); names never hold a slash
    "agent_of": lambda a: a.partition("/")[0], "key_of": lambda a: a.partition("/")[2],
    ADDR_FN: lambda name, key: f"{name}/{key}",
}
assert _IMPLS.keys() == SIGS.keys(), "every builtin signature has its implementation, and no more"

BUILTINS: dict[str, Builtin] = {name: Builtin(sig, _IMPLS[name]) for name, sig in SIGS.items()}
