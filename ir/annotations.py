"""Annotations on the IR: `@partition`, `@device`, `@slo`, `@replicas` as the program wrote them.

They travel on the graph, so placement and the autoscaler read them from the IR alone
(a second front end, or a service that receives a compiled graph, needs no AST):

- a declaration's annotations on its `RelDecl` (`@partition(col)` hashes that relation's rows);
- a rule's annotations on every `Node` lowered from it (`@device(d)` asks for a device);
- program-wide policy (`@replicas`, `@slo`) wherever it was written.

What they ask of a graph (a relation's partition column, a node's device, the program's
policy) is read by `ir/hints.py`; this module is only the value, so the graph can hold it.

An argument is a name (`@device(cuda)`: a `str`) or a constant (`@slo(p99_ms = 50)`: a
typed `Lit`), so a name and a quoted string stay apart, as they are in the source.

>>> a = Annotation("slo", (("p99_ms", Lit(50, Type.INT)),))
>>> str(a), a.values()
('@slo(p99_ms = 50)', {'p99_ms': 50})
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from dfl.ir.expr import Lit
from dfl.ir.types import Type

# every annotation the language knows; the checker and the verifier (ir/hints.py) both read this
KNOWN = ("partition", "device", "slo", "replicas")

Arg = tuple[str | None, Any]  # (keyword or None for a positional, a name (str) or a Lit)


@dataclass(frozen=True)
class Annotation:
    name: str
    args: tuple[Arg, ...] = ()

    def values(self) -> dict[str, Any]:
        """The keyword arguments as {key: Python value} (names as str, constants unwrapped)."""
        return {k: plain(v) for k, v in self.args if k is not None}

    def positional(self) -> Any:
        """The one positional argument, as written (a name is a str, a constant a Lit); else None."""
        return self.args[0][1] if len(self.args) == 1 and self.args[0][0] is None else None

    def __str__(self) -> str:
        return f"@{self.name}(" + ", ".join(_arg_text(k, v) for k, v in self.args) + ")"


def plain(v: Any) -> Any:
    return v.value if isinstance(v, Lit) else v


def _arg_text(key: str | None, v: Any) -> str:
    if isinstance(v, Lit) and isinstance(v.value, str):
        text = '"' + v.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif isinstance(v, Lit) and isinstance(v.value, bool):
        text = "true" if v.value else "false"
    else:
        text = str(plain(v))
    return text if key is None else f"{key} = {text}"


def lit_of(value: Any) -> Lit:
    """A constant argument typed by its Python value (what the parser's constants hold)."""
    t = {bool: Type.BOOL, int: Type.INT, float: Type.FLOAT, str: Type.STR}.get(type(value))
    if t is None:
        raise ValueError(f"an annotation argument must be a name or a constant, not {value!r}")
    return Lit(value, t)


def find(anns: Iterable[Annotation], name: str) -> Annotation | None:
    return next((a for a in anns if a.name == name), None)
