"""The source-level AST: dataclasses with spans. Separate from the IR (DESIGN.md, style 2).

Bodies are stored in disjunctive normal form after parsing: `p :- a, (b ; c).` becomes two
`Rule`s that share the head, one per disjunct, each with a flat list of literals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Union

from dfl.errors import Span
from dfl.ir.types import Column, Schema, Type, storage_of

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Var:
    name: str
    span: Span

    @property
    def is_wildcard(self) -> bool:
        return self.name == "_"


@dataclass(frozen=True)
class Const:
    value: Any
    type: Type
    span: Span


@dataclass(frozen=True)
class Call:
    """A builtin or user function call (in a body literal position it may be an atom)."""

    name: str
    args: tuple["Expr", ...]
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str  # + - * / // %
    left: "Expr"
    right: "Expr"
    span: Span


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    span: Span


@dataclass(frozen=True)
class Not:
    operand: "Expr"
    span: Span


@dataclass(frozen=True)
class Compare:
    op: str  # = != < <= > >=
    left: "Expr"
    right: "Expr"
    span: Span


@dataclass(frozen=True)
class If:
    cond: "Expr"
    then: "Expr"
    else_: "Expr"
    span: Span


@dataclass(frozen=True)
class HeadAgg:
    """`count()`, `sum(e)`, … in a rule head."""

    func: str
    arg: "Expr | None"
    span: Span


Expr = Union[Var, Const, Call, BinOp, Neg, Not, Compare, If, HeadAgg]

AGGREGATES = ("count", "sum", "min", "max", "mean")

# ---------------------------------------------------------------- literals


@dataclass(frozen=True)
class Atom:
    rel: str
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Negation:
    atom: Atom
    span: Span


@dataclass(frozen=True)
class Filter:
    """A comparison or a bool-valued call; an `=` with a lone unbound variable becomes a binding."""

    expr: Expr
    span: Span


@dataclass(frozen=True)
class Generator:
    var: Var
    expr: Expr
    span: Span


@dataclass(frozen=True)
class BodyAgg:
    """`result = func arg : { body }`; the body is one conjunction."""

    result: Expr
    func: str
    arg: Expr | None
    body: tuple["Literal", ...]
    span: Span


Literal = Union[Atom, Negation, Filter, Generator, BodyAgg]

# ---------------------------------------------------------------- items


@dataclass(frozen=True)
class Head:
    rel: str
    args: tuple[Expr, ...]
    span: Span
    dest: Var | None = None  # `rel@dest(...)`: an async send to an agent (not supported yet)


@dataclass(frozen=True)
class Rule:
    """One disjunct of a rule (or a fact when `body` is empty); kind: rule, next or delete."""

    head: Head
    body: tuple[Literal, ...]
    kind: str
    span: Span
    annotations: tuple["Annotation", ...] = ()

    @property
    def is_fact(self) -> bool:
        return not self.body and self.kind == "rule"


@dataclass(frozen=True)
class Annotation:
    name: str
    args: tuple[tuple[str | None, Any], ...]
    span: Span


@dataclass(frozen=True)
class ColumnDecl:
    name: str
    type: Type
    lattice: str | None
    span: Span


@dataclass(frozen=True)
class Decl:
    name: str
    kinds: frozenset[str]  # input output rel table channel
    columns: tuple[ColumnDecl, ...]
    span: Span
    name_span: Span
    annotations: tuple[Annotation, ...] = ()

    @property
    def schema(self) -> Schema:
        return Schema(tuple(Column(c.name, c.type, c.lattice) for c in self.columns))

    @property
    def storage(self) -> str:
        return storage_of(self.kinds)


@dataclass(frozen=True)
class Param:
    name: str
    type: Type
    span: Span


@dataclass(frozen=True)
class FnDef:
    name: str
    params: tuple[Param, ...]
    ret: Type
    body: Expr
    span: Span
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class AgentDef:
    name: str
    items: tuple[Any, ...]  # as parsed
    span: Span
    body: "Program | None" = None  # the items as a program of their own (the parser builds it)
    annotations: tuple[Annotation, ...] = ()


@dataclass
class Program:
    file: str
    source: str
    decls: list[Decl] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    fns: list[FnDef] = field(default_factory=list)
    agents: list[AgentDef] = field(default_factory=list)
    stray_annotations: list[Annotation] = field(default_factory=list)


def literal_atoms(lit: "Literal") -> Iterator["Atom"]:
    """The atoms a body literal reads: itself, a negation's atom, an aggregate body's atoms."""
    if isinstance(lit, Atom):
        yield lit
    elif isinstance(lit, Negation):
        yield lit.atom
    elif isinstance(lit, BodyAgg):
        for inner in lit.body:
            yield from literal_atoms(inner)


def expr_vars(e: Expr | None) -> list[Var]:
    """Variables of an expression, in order of appearance (wildcards included)."""
    if e is None or isinstance(e, Const):
        return []
    if isinstance(e, Var):
        return [e]
    if isinstance(e, Call):
        return [v for a in e.args for v in expr_vars(a)]
    if isinstance(e, (BinOp, Compare)):
        return expr_vars(e.left) + expr_vars(e.right)
    if isinstance(e, (Neg, Not)):
        return expr_vars(e.operand)
    if isinstance(e, If):
        return expr_vars(e.cond) + expr_vars(e.then) + expr_vars(e.else_)
    if isinstance(e, HeadAgg):
        return expr_vars(e.arg)
    raise TypeError(e)


def literal_vars(lit: Literal) -> list[Var]:
    if isinstance(lit, Atom):
        return [v for a in lit.args for v in expr_vars(a)]
    if isinstance(lit, Negation):
        return literal_vars(lit.atom)
    if isinstance(lit, Filter):
        return expr_vars(lit.expr)
    if isinstance(lit, Generator):
        return [lit.var, *expr_vars(lit.expr)]
    if isinstance(lit, BodyAgg):
        inner = [v for l in lit.body for v in literal_vars(l)] + expr_vars(lit.arg)
        return expr_vars(lit.result) + inner
    raise TypeError(lit)
