"""Text -> AST. The grammar (dfl.lark) shapes the tree; each Transformer method builds one node.

Atoms and calls, and `( … )` groups and parenthesised expressions, are parsed alike and
classified here afterwards (see the grammar's header), then bodies are put in DNF.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import lark
from lark import Token, Transformer_NonRecursive, v_args

from dfl.errors import DflError, Span
from dfl.ir.builtin_sigs import SIGS
from dfl.ir.types import BASE_TYPES, LATTICE_OPS, Type
from dfl.ir.values import INT_MAX, INT_MIN
from dfl.lang import ast
from dfl.lang.limits import MAX_ALTERNATIVES, check_raw_nesting
from dfl.lang.parse_table import grammar
from dfl.lang.syntax_errors import syntax_error


@dataclass(frozen=True)
class _Group:
    """`( disj )` before classification: a disjunction of conjunctions of raw literals."""

    disj: tuple[tuple[Any, ...], ...]
    span: Span


@dataclass(frozen=True)
class _RawAgg:
    result: Any
    func: str
    arg: Any
    body: Any
    span: Span


def parse(source: str, file: str = "<string>") -> ast.Program:
    """Parses a whole program; raises DflError (kind compile) on a syntax error."""
    try:
        tree = grammar().parse(source)
    except lark.exceptions.UnexpectedInput as e:
        raise syntax_error(e, source, file) from None
    builder = _Builder(file, source)
    try:
        items = builder.transform(tree).children
    except lark.exceptions.VisitError as e:
        if isinstance(e.orig_exc, DflError):
            e.orig_exc.source = source
            raise e.orig_exc from None
        raise
    try:
        check_raw_nesting(items, _Group)
    except DflError as e:
        e.source = source
        raise
    prog = ast.Program(file=file, source=source)
    errors: list[DflError] = []
    fn_names = {i.name for i in items if isinstance(i, ast.FnDef)}
    _fill(prog, items, fn_names, errors)
    if errors:
        for err in errors:
            err.source = source
        first = errors[0]
        first.related = errors[1:]
        raise first
    return prog


def _fill(prog: ast.Program, items: list, fn_names: set[str], errors: list[DflError], top: bool = True) -> None:
    """Adds parsed items to `prog`: annotations go to the item after them, rules are split
    into their `;` alternatives, an agent's items become its own program."""
    pending: list[ast.Annotation] = []
    for item in items:
        if isinstance(item, ast.Annotation):
            pending.append(item)
            continue
        anns, pending = tuple(pending), []
        if isinstance(item, ast.Decl):
            prog.decls.append(_with(item, annotations=anns))
        elif isinstance(item, ast.FnDef):
            prog.fns.append(_with(item, annotations=anns))
        elif isinstance(item, ast.AgentDef):
            if top:
                # an agent's items are a program of their own (lang/agents.py checks it)
                sub = ast.Program(file=prog.file, source=prog.source)
                _fill(sub, list(item.items), fn_names, errors, top=False)
                prog.agents.append(_with(item, body=sub, annotations=anns))
            else:
                errors.append(DflError(f"agent {item.name} is inside another agent", item.span,
                                       hint="agents are declared at the top level of a program"))
        else:  # a raw rule: (kind, heads, body, span)
            kind, heads, body, span = item
            try:
                if body is not None and (n := _dnf_size(body, fn_names)) > MAX_ALTERNATIVES:
                    raise DflError(f"this rule's `;` alternatives expand to {n:,} rules (at most "
                                   f"{MAX_ALTERNATIVES:,})", span,
                                   hint="each `(a ; b)` group doubles the rules; put the alternatives in "
                                        "a relation of their own: `ab(x) :- a(x). ab(x) :- b(x).`")
                disjuncts = _dnf(body, fn_names) if body is not None else [()]
            except DflError as err:
                errors.append(err)
                continue
            for head in heads:
                for conj in disjuncts:
                    prog.rules.append(ast.Rule(head, tuple(conj), kind, span, anns))
    prog.stray_annotations.extend(pending)


def _with(obj, **changes):
    from dataclasses import replace

    return replace(obj, **changes)


# ---------------------------------------------------------------- classification


def _is_atom_name(name: str, fn_names: set[str]) -> bool:
    return name not in SIGS and name not in fn_names


def _dnf(disj: tuple[tuple[Any, ...], ...], fn_names: set[str]) -> list[tuple[ast.Literal, ...]]:
    """All conjunctions of classified literals: `a, (b ; c)` -> [(a, b), (a, c)]."""
    out: list[tuple[ast.Literal, ...]] = []
    for conj in disj:
        choices = [_literal_choices(lit, fn_names) for lit in conj]
        for combo in itertools.product(*choices):
            out.append(tuple(l for part in combo for l in part))
    return out


def _dnf_size(disj: tuple[tuple[Any, ...], ...], fn_names: set[str]) -> int:
    """How many conjunctions _dnf makes, counted without making them."""
    total = 0
    for conj in disj:
        n = 1
        for raw in conj:
            if isinstance(raw, _Group) and not (len(raw.disj) == 1 and len(raw.disj[0]) == 1
                                                and not _is_literal_only(raw.disj[0][0], fn_names)):
                n *= _dnf_size(raw.disj, fn_names)
        total += n
    return total


def _literal_choices(raw: Any, fn_names: set[str]) -> list[tuple[ast.Literal, ...]]:
    """The alternatives one raw literal stands for (a group with `;` gives several)."""
    if isinstance(raw, _Group):
        if len(raw.disj) == 1 and len(raw.disj[0]) == 1 and not _is_literal_only(raw.disj[0][0], fn_names):
            return [(ast.Filter(_expr(raw, fn_names), raw.span),)]
        return _dnf(raw.disj, fn_names)
    return [(_literal(raw, fn_names),)]


def _is_literal_only(raw: Any, fn_names: set[str]) -> bool:
    """True when a raw item can only be a literal (an atom, a negation, an aggregate, …)."""
    if isinstance(raw, ast.Call):
        return _is_atom_name(raw.name, fn_names)
    if isinstance(raw, _Group):
        return any(_is_literal_only(x, fn_names) for conj in raw.disj for x in conj) or \
            len(raw.disj) > 1 or len(raw.disj[0]) > 1
    return isinstance(raw, (ast.Negation, ast.Generator, _RawAgg, tuple))


def _literal(raw: Any, fn_names: set[str]) -> ast.Literal:
    if isinstance(raw, ast.Call) and _is_atom_name(raw.name, fn_names):
        for a in raw.args:
            _check_term(a, fn_names)
        return ast.Atom(raw.name, tuple(_expr(a, fn_names) for a in raw.args), raw.span)
    if isinstance(raw, tuple) and raw[0] == "negation":
        call: ast.Call = raw[1]
        if _is_atom_name(call.name, fn_names):
            atom = _literal(call, fn_names)
            return ast.Negation(atom, raw[2])
        return ast.Filter(ast.Not(_expr(call, fn_names), raw[2]), raw[2])
    if isinstance(raw, ast.Generator):
        return ast.Generator(raw.var, _expr(raw.expr, fn_names), raw.span)
    if isinstance(raw, _RawAgg):
        return _body_agg(raw, fn_names)
    return ast.Filter(_expr(raw, fn_names), getattr(raw, "span"))


def _check_term(raw: Any, fn_names: set[str]) -> None:
    if isinstance(raw, _Group) and _is_literal_only(raw, fn_names):
        raise DflError("a group of literals cannot stand as an argument of an atom", raw.span,
                       hint="atom arguments are variables, constants or expressions")


def _body_agg(raw: _RawAgg, fn_names: set[str]) -> ast.BodyAgg:
    func, arg = raw.func, raw.arg
    if func not in ast.AGGREGATES:
        raise DflError(f"unknown aggregate '{func}'", raw.span,
                       hint="aggregates are count, sum, min, max and mean")
    if func == "count" and arg is not None:
        raise DflError("count takes no operand: write `n = count : atom`", raw.span)
    if func != "count" and arg is None:
        raise DflError(f"{func} needs an operand: write `v = {func} x : atom`", raw.span)
    body = raw.body
    if isinstance(body, tuple):  # `{ disj }`
        conjs = _dnf(body, fn_names)
        if len(conjs) != 1:
            raise DflError("`;` inside an aggregate body is not supported yet", raw.span,
                           hint="write one aggregate per alternative, or a helper relation")
        lits = conjs[0]
    else:
        lits = (_literal(body, fn_names),)
    return ast.BodyAgg(_expr(raw.result, fn_names), func, None if arg is None else _expr(arg, fn_names),
                       lits, raw.span)


def _expr(raw: Any, fn_names: set[str]) -> ast.Expr:
    """Classifies a raw expression: groups must hold exactly one expression."""
    if isinstance(raw, _Group):
        if len(raw.disj) != 1 or len(raw.disj[0]) != 1:
            raise DflError("expected an expression inside these parentheses, found literals joined by `,` or `;`",
                           raw.span, hint="parentheses group literals only where a literal stands")
        return _expr(raw.disj[0][0], fn_names)
    if isinstance(raw, ast.Call):
        return ast.Call(raw.name, tuple(_expr(a, fn_names) for a in raw.args), raw.span)
    if isinstance(raw, ast.BinOp):
        return ast.BinOp(raw.op, _expr(raw.left, fn_names), _expr(raw.right, fn_names), raw.span)
    if isinstance(raw, ast.Compare):
        return ast.Compare(raw.op, _expr(raw.left, fn_names), _expr(raw.right, fn_names), raw.span)
    if isinstance(raw, ast.Neg):
        operand = raw.operand
        if isinstance(operand, ast.Const) and operand.type in (Type.INT, Type.FLOAT):
            return _in_range(ast.Const(-operand.value, operand.type, raw.span))  # -7 counts as a constant
        return ast.Neg(_expr(operand, fn_names), raw.span)
    if isinstance(raw, ast.If):
        return ast.If(_expr(raw.cond, fn_names), _expr(raw.then, fn_names), _expr(raw.else_, fn_names), raw.span)
    if isinstance(raw, ast.Const):
        return _in_range(raw)
    if isinstance(raw, ast.Var):
        return raw
    if isinstance(raw, tuple) and raw and raw[0] == "negation":
        raise DflError("`!` negates an atom or a bool call where a literal stands, not inside an expression",
                       raw[2])
    span = getattr(raw, "span", None)
    raise DflError("expected an expression here", span)


def _in_range(c: ast.Const) -> ast.Const:
    if c.type == Type.INT and not INT_MIN <= c.value <= INT_MAX:
        raise DflError(f"the integer {c.value} does not fit in 64 bits", c.span,
                       hint=f"ints range from {INT_MIN} to {INT_MAX}; write a float (e.g. 1e19) for more")
    return c


# ---------------------------------------------------------------- the tree builder


@v_args(meta=True)
class _Builder(Transformer_NonRecursive):
    def __init__(self, file: str, source: str) -> None:
        super().__init__()
        self.file = file
        self.source = source

    def _span(self, meta) -> Span:
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, t: Token) -> Span:
        return Span(self.file, t.line, t.column, t.end_line, t.end_column)

    # -- annotations
    def annotation(self, meta, c):
        return ast.Annotation(str(c[0]), tuple(x for x in c[1:] if x is not None), self._span(meta))

    def ann_kw(self, meta, c):
        return (str(c[0]), c[1])

    def ann_pos(self, meta, c):
        return (None, c[0])

    def ann_name(self, meta, c):
        return str(c[0])

    # -- declarations
    def decl(self, meta, c):
        kinds = [str(k.children[0]) for k in c if isinstance(k, lark.Tree)]
        rest = [x for x in c if not isinstance(x, lark.Tree)]
        name_tok, cols = rest[0], rest[1:]
        dup = {k for k in kinds if kinds.count(k) > 1}
        if dup:
            raise DflError(f"'{dup.pop()}' is written twice in the declaration of {name_tok}", self._span(meta),
                           source=self.source)
        return ast.Decl(str(name_tok), frozenset(kinds), tuple(cols), self._span(meta), self._tok_span(name_tok))

    def column(self, meta, c):
        t, lat = c[1]
        return ast.ColumnDecl(str(c[0]), t, lat, self._span(meta))

    def plain_type(self, meta, c):
        return (self._base_type(c[0]), None)

    def lattice_type(self, meta, c):
        op, lt, base, gt = c
        if str(op) not in LATTICE_OPS:
            raise DflError(f"unknown lattice '{op}'", self._tok_span(op), hint="lattice columns are min<T> or max<T>",
                           source=self.source)
        t = self._base_type(base)
        if t not in (Type.INT, Type.FLOAT):
            raise DflError(f"a {op} lattice holds int or float, not {t}", self._tok_span(base), source=self.source)
        return (t, str(op))

    def _base_type(self, tok: Token) -> Type:
        if str(tok) not in BASE_TYPES:
            raise DflError(f"unknown type '{tok}'", self._tok_span(tok),
                           hint="column types are int, float, str, bool and addr (Soufflé's number is int, symbol is str)", source=self.source)
        return BASE_TYPES[str(tok)]

    # -- functions and agents
    def fn_def(self, meta, c):
        name = c[1]
        params = tuple(x for x in c[2:-3])  # c[-3] is the `->`
        ret, lat = c[-2]
        if lat:
            raise DflError("a function returns a plain type, not a lattice", self._span(meta), source=self.source)
        check_raw_nesting([c[-1]], _Group)  # before classifying it, which recurses
        return ast.FnDef(str(name), params, ret, _expr(c[-1], set()), self._span(meta))

    def param(self, meta, c):
        t, lat = c[1]
        if lat:
            raise DflError("a parameter has a plain type, not a lattice", self._span(meta), source=self.source)
        return ast.Param(str(c[0]), t, self._span(meta))

    def agent_def(self, meta, c):
        return ast.AgentDef(str(c[1]), tuple(c[2:]), self._span(meta))

    # -- rules
    def fact_or_rule(self, meta, c):
        return ("rule", c[0], None, self._span(meta))

    def plain_rule(self, meta, c):
        return ("rule", c[0], c[2], self._span(meta))

    def next_rule(self, meta, c):
        return ("next", [c[1]], c[3], self._span(meta))

    def delete_rule(self, meta, c):
        return ("delete", [c[1]], c[3], self._span(meta))

    def heads(self, meta, c):
        return list(c)

    def local_head(self, meta, c):
        return ast.Head(str(c[0]), tuple(self._head_arg(a) for a in c[1:]), self._span(meta))

    def send_head(self, meta, c):
        dest = ast.Var(str(c[1]), self._tok_span(c[1]))
        return ast.Head(str(c[0]), tuple(self._head_arg(a) for a in c[2:]), self._span(meta), dest)

    def _head_arg(self, raw):
        check_raw_nesting([raw], _Group)  # before classifying it, which recurses
        # In a head, count()/sum(e)/mean(e) and one-argument min/max are aggregates.
        if isinstance(raw, ast.Call) and raw.name in ast.AGGREGATES:
            if raw.name == "count" and not raw.args:
                return ast.HeadAgg("count", None, raw.span)
            if raw.name in ("sum", "mean", "min", "max") and len(raw.args) == 1:
                return ast.HeadAgg(raw.name, _expr(raw.args[0], set()), raw.span)
            if raw.name in ("count", "sum", "mean"):
                raise DflError(f"{raw.name} in a head takes {'no' if raw.name == 'count' else 'one'} argument",
                               raw.span, source=self.source)
        return _expr(raw, set())

    # -- bodies
    def disj(self, meta, c):
        return tuple(c)

    def conj(self, meta, c):
        return tuple(c)

    def negation(self, meta, c):
        return ("negation", c[0], self._span(meta))

    def generator(self, meta, c):
        return ast.Generator(ast.Var(str(c[0]), self._tok_span(c[0])), c[2], self._span(meta))

    def body_agg(self, meta, c):
        result, (func, arg), body = c
        return _RawAgg(result, func, arg, body, self._span(meta))

    def agg_plain(self, meta, c):
        return (str(c[0]), None)

    def agg_with(self, meta, c):
        return (str(c[0]), c[1])

    def agg_call(self, meta, c):
        call: ast.Call = c[0]
        if len(call.args) > 1:
            raise DflError(f"an aggregate takes one operand; parenthesise an expression: `{call.name} (a + b) : …`",
                           call.span, source=self.source)
        return (call.name, call.args[0] if call.args else None)

    # -- expressions
    def group(self, meta, c):
        return _Group(c[0], self._span(meta))

    def if_expr(self, meta, c):
        return ast.If(c[1], c[3], c[5], self._span(meta))

    def compare(self, meta, c):
        return ast.Compare(str(c[1].children[0]), c[0], c[2], self._span(meta))

    def compare_eq(self, meta, c):
        return ast.Compare("=", c[0], c[1], self._span(meta))

    def binop(self, meta, c):
        return ast.BinOp(str(c[1]), c[0], c[2], self._span(meta))

    def neg(self, meta, c):
        return ast.Neg(c[1], self._span(meta))

    def call(self, meta, c):
        return ast.Call(str(c[0]), tuple(c[1:]), self._span(meta))

    def var(self, meta, c):
        return ast.Var(str(c[0]), self._span(meta))

    def int_lit(self, meta, c):
        return ast.Const(int(c[0]), Type.INT, self._span(meta))

    def float_lit(self, meta, c):
        return ast.Const(float(c[0]), Type.FLOAT, self._span(meta))

    def str_lit(self, meta, c):
        return ast.Const(_unescape(str(c[0])[1:-1], self._tok_span(c[0]), self.source), Type.STR, self._span(meta))

    def true_lit(self, meta, c):
        return ast.Const(True, Type.BOOL, self._span(meta))

    def false_lit(self, meta, c):
        return ast.Const(False, Type.BOOL, self._span(meta))


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _unescape(body: str, span: Span, source: str) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise DflError(f"unknown escape '\\{nxt}' in a string", span, source=source,
                               hint='the escapes are \\" \\\\ \\n \\t')
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)
