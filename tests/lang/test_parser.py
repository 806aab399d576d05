"""The parser (LANGUAGE.md §1–§3, §5, §6, §8, §9): every syntax form, and syntax errors a person understands."""
from __future__ import annotations

import re

import pytest

from dfl.errors import DflError
from dfl.ir.types import Type
from dfl.lang import ast
from dfl.lang.parser import parse

I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL


def rules_of(src: str) -> list[ast.Rule]:
    return parse(src).rules


def body(src: str) -> tuple[ast.Literal, ...]:
    (rule,) = rules_of(src)
    return rule.body


def lit(src: str) -> ast.Literal:
    """The one literal of `p(x) :- q(x), <src>.` that is not `q(x)`."""
    lits = body(f"p(x) :- q(x), {src}.")
    assert len(lits) == 2
    return lits[1]


def shape(x):
    """An AST value without its spans, for comparisons: Var('x') -> ('Var', 'x'), ..."""
    if isinstance(x, ast.Var):
        return x.name
    if isinstance(x, ast.Const):
        return (x.type.name, x.value)
    if isinstance(x, ast.Call):
        return ("call", x.name, *map(shape, x.args))
    if isinstance(x, ast.BinOp):
        return (x.op, shape(x.left), shape(x.right))
    if isinstance(x, ast.Compare):
        return ("cmp", x.op, shape(x.left), shape(x.right))
    if isinstance(x, ast.Neg):
        return ("neg", shape(x.operand))
    if isinstance(x, ast.Not):
        return ("not", shape(x.operand))
    if isinstance(x, ast.If):
        return ("if", shape(x.cond), shape(x.then), shape(x.else_))
    if isinstance(x, ast.HeadAgg):
        return ("hagg", x.func, shape(x.arg) if x.arg is not None else None)
    if isinstance(x, ast.Atom):
        return (x.rel, *map(shape, x.args))
    if isinstance(x, ast.Negation):
        return ("!", shape(x.atom))
    if isinstance(x, ast.Filter):
        return ("filter", shape(x.expr))
    if isinstance(x, ast.Generator):
        return ("in", x.var.name, shape(x.expr))
    if isinstance(x, ast.BodyAgg):
        return ("agg", shape(x.result), x.func, shape(x.arg) if x.arg is not None else None,
                tuple(map(shape, x.body)))
    if isinstance(x, ast.Rule):
        return (x.kind, (x.head.rel, *map(shape, x.head.args)), tuple(map(shape, x.body)))
    raise TypeError(x)


def rule_shapes(src: str) -> list:
    return [shape(r) for r in rules_of(src)]


# ---------------------------------------------------------------- declarations


def test_declaration_kinds_and_columns() -> None:
    prog = parse("""
input  edge(src: int, dst: int)      # rows supplied at run time
output path(src: int, dst: int)
rel    hop(src: int, dst: int)
input output base(a: str, b: str)
table  store(key: str, val: str)
channel put(key: str, val: str)
rel    all_types(i: int, f: float, s: str, b: bool, a: addr)
""")
    kinds = {d.name: d.kinds for d in prog.decls}
    assert kinds == {
        "edge": {"input"}, "path": {"output"}, "hop": {"rel"}, "base": {"input", "output"},
        "store": {"table"}, "put": {"channel"}, "all_types": {"rel"},
    }
    edge = prog.decls[0]
    assert [(c.name, c.type, c.lattice) for c in edge.columns] == [("src", I, None), ("dst", I, None)]
    types = [c.type for c in prog.decls[-1].columns]
    assert types == [I, F, S, B, Type.ADDR]
    assert prog.decls[4].storage == "table" and prog.decls[5].storage == "channel" and prog.decls[2].storage == "rel"


def test_declaration_spans_lines_and_may_have_zero_columns() -> None:
    prog = parse("output wide(\n  a: int,\n  b: str\n)\nrel done()\n")
    wide, done = prog.decls
    assert [c.name for c in wide.columns] == ["a", "b"]
    assert wide.span.line == 1 and wide.span.end_line == 4
    assert done.columns == ()


@pytest.mark.parametrize("text, base, op", [
    ("min<int>", I, "min"), ("min<float>", F, "min"), ("max<int>", I, "max"), ("max<float>", F, "max"),
])
def test_lattice_column_types(text: str, base: Type, op: str) -> None:
    (d,) = parse(f"output dist(node: int, d: {text})").decls
    assert (d.columns[1].type, d.columns[1].lattice) == (base, op)
    assert d.columns[0].lattice is None


@pytest.mark.parametrize("text, words", [
    ("avg<int>", ["lattice", "avg"]),
    ("min<str>", ["min", "str"]),
    ("max<bool>", ["max", "bool"]),
])
def test_bad_lattice_types(text: str, words: list[str]) -> None:
    err = syntax(f"output dist(node: int, d: {text})")
    for w in words:
        assert w in err.message


def test_unknown_column_type_names_soufflé_equivalents() -> None:
    err = syntax("input e(a: number)")
    assert "number" in err.message
    assert (err.span.line, err.span.col) == (1, 12)


# ---------------------------------------------------------------- facts and rules


def test_facts() -> None:
    (fact,) = rules_of('edge(1, 2).')
    assert fact.is_fact and fact.kind == "rule" and fact.body == ()
    assert shape(fact) == ("rule", ("edge", ("INT", 1), ("INT", 2)), ())
    f2, = rules_of('base("a", "b").')
    assert shape(f2)[1] == ("base", ("STR", "a"), ("STR", "b"))


def test_facts_with_every_constant_kind() -> None:
    (fact,) = rules_of('r(-7, 2.5, "s", true, false, -0.5).')
    assert shape(fact)[1] == ("r", ("INT", -7), ("FLOAT", 2.5), ("STR", "s"), ("BOOL", True), ("BOOL", False),
                              ("FLOAT", -0.5))
    # a negative number is a constant, not an expression
    assert isinstance(fact.head.args[0], ast.Const)


def test_rule_and_recursion() -> None:
    assert rule_shapes("path(x, y) :- edge(x, y).\npath(x, z) :- path(x, y), edge(y, z).") == [
        ("rule", ("path", "x", "y"), (("edge", "x", "y"),)),
        ("rule", ("path", "x", "z"), (("path", "x", "y"), ("edge", "y", "z"))),
    ]


def test_rule_may_span_lines_with_comments_between() -> None:
    src = "p(x) :-   # the head\n   q(x),   # first\n\n   r(x).   # last\n"
    assert rule_shapes(src) == [("rule", ("p", "x"), (("q", "x"), ("r", "x")))]


def test_wildcards_in_atoms() -> None:
    (a,) = body("p(x) :- edge(x, _).")
    assert shape(a) == ("edge", "x", "_")
    assert a.args[1].is_wildcard


def test_head_expressions() -> None:
    assert rule_shapes("q(x, y + 1) :- p(x, y).") == [
        ("rule", ("q", "x", ("+", "y", ("INT", 1))), (("p", "x", "y"),)),
    ]


def test_several_heads_share_a_body() -> None:
    assert rule_shapes("a(x), b(x) :- q(x).") == [
        ("rule", ("a", "x"), (("q", "x"),)),
        ("rule", ("b", "x"), (("q", "x"),)),
    ]


def test_next_and_delete_rules() -> None:
    src = ("next   store(k, v) :- put(k, v).\n"
           "delete store(k, old) :- put(k, _), store(k, old).\n")
    r1, r2 = rules_of(src)
    assert r1.kind == "next" and r2.kind == "delete"
    assert shape(r2) == ("delete", ("store", "k", "old"), (("put", "k", "_"), ("store", "k", "old")))
    assert not r1.is_fact


# ---------------------------------------------------------------- disjunction (DNF)


def test_disjunction_comma_binds_tighter_than_semicolon() -> None:
    assert rule_shapes("p(x) :- a(x), b(x) ; c(x).") == [
        ("rule", ("p", "x"), (("a", "x"), ("b", "x"))),
        ("rule", ("p", "x"), (("c", "x"),)),
    ]


def test_parenthesised_disjunction() -> None:
    assert rule_shapes("p(x) :- a(x), (b(x) ; c(x)).") == [
        ("rule", ("p", "x"), (("a", "x"), ("b", "x"))),
        ("rule", ("p", "x"), (("a", "x"), ("c", "x"))),
    ]


def test_disjunction_with_multi_literal_alternatives() -> None:
    assert rule_shapes("p(x) :- (a(x), b(x) ; c(x)), d(x).") == [
        ("rule", ("p", "x"), (("a", "x"), ("b", "x"), ("d", "x"))),
        ("rule", ("p", "x"), (("c", "x"), ("d", "x"))),
    ]


def test_two_disjunctions_multiply_out() -> None:
    shapes = rule_shapes("p(x) :- (a(x) ; b(x)), (c(x) ; d(x)).")
    bodies = [tuple(l[0] for l in s[2]) for s in shapes]
    assert sorted(bodies) == [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")]


def test_nested_groups() -> None:
    shapes = rule_shapes("p(x) :- a(x), (b(x) ; (c(x) ; d(x)), e(x)).")
    bodies = sorted(tuple(l[0] for l in s[2]) for s in shapes)
    assert bodies == [("a", "b"), ("a", "c", "e"), ("a", "d", "e")]


def test_disjunction_with_several_heads_gives_every_combination() -> None:
    shapes = rule_shapes("h1(x), h2(x) :- a(x) ; b(x).")
    assert sorted((s[1][0], s[2][0][0]) for s in shapes) == [("h1", "a"), ("h1", "b"), ("h2", "a"), ("h2", "b")]


def test_disjunction_keeps_annotations_on_every_rule() -> None:
    rules = rules_of("@device(cpu)\np(x) :- a(x) ; b(x).")
    assert len(rules) == 2
    assert all([a.name for a in r.annotations] == ["device"] for r in rules)


# ---------------------------------------------------------------- body literals


def test_negation_of_an_atom() -> None:
    n = lit("!r(x, _)")
    assert isinstance(n, ast.Negation)
    assert shape(n) == ("!", ("r", "x", "_"))


def test_negation_of_a_bool_builtin_is_a_filter() -> None:
    f = lit('!starts_with(x, "a")')
    assert isinstance(f, ast.Filter)
    assert shape(f) == ("filter", ("not", ("call", "starts_with", "x", ("STR", "a"))))


def test_bool_call_literal() -> None:
    assert shape(lit('contains(x, "b")')) == ("filter", ("call", "contains", "x", ("STR", "b")))


def test_bool_user_function_literal_is_not_an_atom() -> None:
    prog = parse("fn big(x: int) -> bool = x > 10\np(x) :- q(x), big(x), !big(x + 1).")
    _, f1, f2 = prog.rules[0].body
    assert shape(f1) == ("filter", ("call", "big", "x"))
    assert shape(f2) == ("filter", ("not", ("call", "big", ("+", "x", ("INT", 1)))))


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_comparisons(op: str) -> None:
    assert shape(lit(f"x {op} 3")) == ("filter", ("cmp", op, "x", ("INT", 3)))


def test_comparison_of_expressions_and_parenthesised_start() -> None:
    assert shape(lit("(x + y) < z * 2")) == ("filter", ("cmp", "<", ("+", "x", "y"), ("*", "z", ("INT", 2))))
    assert shape(lit("(x > 1)")) == ("filter", ("cmp", ">", "x", ("INT", 1)))


def test_bindings_either_side() -> None:
    assert shape(lit("y = x + 1")) == ("filter", ("cmp", "=", "y", ("+", "x", ("INT", 1))))
    assert shape(lit("x + 1 = y")) == ("filter", ("cmp", "=", ("+", "x", ("INT", 1)), "y"))


def test_binding_with_minus_is_not_an_aggregate() -> None:
    # `j = i - 1` must not be read as the start of `j = AGG e : ...` (DESIGN.md style 1)
    assert shape(lit("j = x - 1")) == ("filter", ("cmp", "=", "j", ("-", "x", ("INT", 1))))
    assert shape(lit("j = x - y")) == ("filter", ("cmp", "=", "j", ("-", "x", "y")))


def test_generators() -> None:
    g = lit('w in split(x, " ")')
    assert isinstance(g, ast.Generator)
    assert shape(g) == ("in", "w", ("call", "split", "x", ("STR", " ")))
    assert shape(lit("i in range(0, x + 1)")) == ("in", "i", ("call", "range", ("INT", 0), ("+", "x", ("INT", 1))))


def test_literals_in_any_order() -> None:
    lits = body("p(y) :- y = x + 1, !r(x), x > 0, q(x).")
    assert [type(l).__name__ for l in lits] == ["Filter", "Negation", "Filter", "Atom"]


# ---------------------------------------------------------------- aggregates


@pytest.mark.parametrize("src, expected", [
    ("n = count : edge(x, _)", ("agg", "n", "count", None, (("edge", "x", "_"),))),
    ("s = sum w : { edge(x, y, w), y > 0 }",
     ("agg", "s", "sum", "w", (("edge", "x", "y", "w"), ("filter", ("cmp", ">", "y", ("INT", 0)))))),
    ("d = min z : length(x, y, z)", ("agg", "d", "min", "z", (("length", "x", "y", "z"),))),
    ("d = max z : length(x, y, z)", ("agg", "d", "max", "z", (("length", "x", "y", "z"),))),
    ("m = mean z : length(x, y, z)", ("agg", "m", "mean", "z", (("length", "x", "y", "z"),))),
    ("s = sum (w * 2) : { e(x, w) }", ("agg", "s", "sum", ("*", "w", ("INT", 2)), (("e", "x", "w"),))),
    ("m = max (-y) : p(y)", ("agg", "m", "max", ("neg", "y"), (("p", "y"),))),
    ("m = max (-7) : p(y)", ("agg", "m", "max", ("INT", -7), (("p", "y"),))),
    ("s = sum 1 : p(y)", ("agg", "s", "sum", ("INT", 1), (("p", "y"),))),
    ("s = sum 2.5 : p(y)", ("agg", "s", "sum", ("FLOAT", 2.5), (("p", "y"),))),
    ("c = count : { p(y), !r(y), y > x }",
     ("agg", "c", "count", None, (("p", "y"), ("!", ("r", "y")), ("filter", ("cmp", ">", "y", "x"))))),
    ("c = count : { p(y), w in range(0, y) }",
     ("agg", "c", "count", None, (("p", "y"), ("in", "w", ("call", "range", ("INT", 0), "y"))))),
    ("3 = count : p(_)", ("agg", ("INT", 3), "count", None, (("p", "_"),))),
])
def test_body_aggregates(src: str, expected) -> None:
    a = lit(src)
    assert isinstance(a, ast.BodyAgg)
    assert shape(a) == expected


@pytest.mark.parametrize("src, words", [
    ("n = count x : q(x)", ["count", "operand"]),
    ("n = sum : q(x)", ["sum", "operand"]),
    ("n = avg x : q(x)", ["avg"]),
    ("n = sum (x, y) : q(x, y)", []),
    ("n = count : { q(x) ; r(x) }", ["`;`"]),
])
def test_malformed_body_aggregates(src: str, words: list[str]) -> None:
    err = syntax(f"p(n) :- {src}.")
    assert err.span is not None and err.span.line == 1
    for w in words:
        assert w in err.message


def test_head_aggregates() -> None:
    (r,) = rules_of("stats(g, min(c), max(c), count(), mean(c), sum(c * 2)) :- v(g, c).")
    assert shape(r)[1] == ("stats", "g", ("hagg", "min", "c"), ("hagg", "max", "c"), ("hagg", "count", None),
                           ("hagg", "mean", "c"), ("hagg", "sum", ("*", "c", ("INT", 2))))


def test_head_two_argument_min_max_are_builtins() -> None:
    (r,) = rules_of("p(min(a, b), max(a, 1)) :- q(a, b).")
    assert shape(r)[1] == ("p", ("call", "min", "a", "b"), ("call", "max", "a", ("INT", 1)))


@pytest.mark.parametrize("head", ["p(count(x)) :- q(x).", "p(sum(x, y)) :- q(x, y).", "p(mean()) :- q(x)."])
def test_malformed_head_aggregates(head: str) -> None:
    err = syntax(head)
    assert err.span is not None and (err.span.line, err.span.col) == (1, 3)


# ---------------------------------------------------------------- expressions


@pytest.mark.parametrize("src, expected", [
    ("y = 1 + 2 * 3", ("+", ("INT", 1), ("*", ("INT", 2), ("INT", 3)))),
    ("y = (1 + 2) * 3", ("*", ("+", ("INT", 1), ("INT", 2)), ("INT", 3))),
    ("y = 1 - 2 - 3", ("-", ("-", ("INT", 1), ("INT", 2)), ("INT", 3))),
    ("y = 8 / 4 // 2 % 3", ("%", ("//", ("/", ("INT", 8), ("INT", 4)), ("INT", 2)), ("INT", 3))),
    ("y = -x * 2", ("*", ("neg", "x"), ("INT", 2))),
    ("y = -(x * 2)", ("neg", ("*", "x", ("INT", 2)))),
    ("y = - -x", ("neg", ("neg", "x"))),
    ("y = x - -7", ("-", "x", ("INT", -7))),
    ('y = "a" + "b"', ("+", ("STR", "a"), ("STR", "b"))),
    ("y = sqrt(pow(x, 2) + 1)", ("call", "sqrt", ("+", ("call", "pow", "x", ("INT", 2)), ("INT", 1)))),
])
def test_arithmetic_precedence(src: str, expected) -> None:
    assert shape(lit(src)) == ("filter", ("cmp", "=", "y", expected))


def test_if_then_else() -> None:
    assert shape(lit("y = if x > 1 then x else 0")) == (
        "filter", ("cmp", "=", "y", ("if", ("cmp", ">", "x", ("INT", 1)), "x", ("INT", 0))))
    assert shape(lit("y = 1 + (if x > 1 then x else 0)")) == (
        "filter", ("cmp", "=", "y", ("+", ("INT", 1), ("if", ("cmp", ">", "x", ("INT", 1)), "x", ("INT", 0)))))
    (r,) = rules_of('p(if x > 1 then "big" else "small") :- q(x).')
    assert shape(r)[1][1][0] == "if"


def test_if_inside_a_larger_expression_needs_parentheses() -> None:
    err = syntax("p(y) :- q(x), y = 1 + if x > 1 then 1 else 2.")
    assert (err.span.line, err.span.col) == (1, 23)


# ---------------------------------------------------------------- lexical


@pytest.mark.parametrize("text, value", [
    (r'"plain"', "plain"),
    (r'"a\"b\n"', 'a"b\n'),
    (r'"back\\slash"', "back\\slash"),
    (r'"tab\there"', "tab\there"),
    (r'"\\n is not a newline"', "\\n is not a newline"),
    (r'""', ""),
    (r'"# not a comment"', "# not a comment"),
    (r'"ünïcödé ✓"', "ünïcödé ✓"),
])
def test_string_escapes(text: str, value: str) -> None:
    (r,) = rules_of(f"s({text}).")
    c = r.head.args[0]
    assert isinstance(c, ast.Const) and c.type == S and c.value == value


def test_unknown_string_escape() -> None:
    err = syntax(r'p("a\qb").')
    assert r"\q" in err.message and err.span.line == 1


@pytest.mark.parametrize("text, value", [
    ("3.5", 3.5), ("1e-3", 1e-3), ("2.0e5", 2.0e5), ("1E3", 1000.0), ("0.0", 0.0), ("2.5e+2", 250.0),
])
def test_float_literals(text: str, value: float) -> None:
    (r,) = rules_of(f"f({text}).")
    c = r.head.args[0]
    assert c.type == F and c.value == value and isinstance(c.value, float)


def test_integer_literals() -> None:
    (r,) = rules_of("f(42, 0, 9223372036854775807, -9223372036854775808).")
    assert [(a.type, a.value) for a in r.head.args] == [(I, 42), (I, 0), (I, 9223372036854775807),
                                                         (I, -9223372036854775808)]


def test_five_dot_is_an_int_and_a_full_stop() -> None:
    # `5.` is not a float: the `.` ends the rule
    (r,) = rules_of("p(x) :- q(x), x = 5.")
    cmp = r.body[1].expr
    assert cmp.right.type == I and cmp.right.value == 5
    (f,) = rules_of("f(5).")
    assert f.head.args[0].type == I


def test_dot_five_is_not_a_float() -> None:
    err = syntax("p(x) :- q(x), x = .5.")
    assert (err.span.line, err.span.col) == (1, 19)


def test_comments_run_to_the_end_of_the_line() -> None:
    prog = parse("# a comment\ninput e(a: int) # trailing\n#p(x) :- e(x).\noutput p(a: int)\np(x) :- e(x). # done")
    assert [d.name for d in prog.decls] == ["e", "p"]
    assert len(prog.rules) == 1


def test_identifiers_are_case_sensitive_and_aggregate_names_are_not_reserved() -> None:
    prog = parse("rel Edge(a: int)\nrel edge(a: int)\nrel count(n: int)\n"
                 "p(count, Max) :- count(count), edge(Max).")
    assert [d.name for d in prog.decls] == ["Edge", "edge", "count"]
    assert shape(prog.rules[0]) == ("rule", ("p", "count", "Max"), (("count", "count"), ("edge", "Max")))


@pytest.mark.parametrize("word", ["input", "output", "rel", "table", "channel", "agent", "fn", "next",
                                  "delete", "if", "then", "else", "in", "true", "false"])
def test_reserved_words_are_not_names(word: str) -> None:
    err = syntax(f"rel {word}(x: int)")
    assert err.span.line == 1


# ---------------------------------------------------------------- functions, annotations, agents


def test_function_definitions() -> None:
    prog = parse("fn sq(x: float) -> float = x * x\n"
                 "fn dist(ax: float, ay: float, bx: float, by: float) -> float = sqrt(sq(ax - bx) + sq(ay - by))\n"
                 "fn label(b: bool) -> str = if b then \"yes\" else \"no\"\n")
    sq, dist, label = prog.fns
    assert (sq.name, [(p.name, p.type) for p in sq.params], sq.ret) == ("sq", [("x", F)], F)
    assert shape(sq.body) == ("*", "x", "x")
    assert [p.name for p in dist.params] == ["ax", "ay", "bx", "by"]
    assert shape(dist.body)[0:2] == ("call", "sqrt")
    assert label.ret == S and shape(label.body)[0] == "if"


def test_function_may_not_return_a_lattice() -> None:
    err = syntax("fn f(x: int) -> min<int> = x")
    assert "lattice" in err.message


def test_annotations_attach_to_the_next_item() -> None:
    prog = parse("""
@partition(src)
@slo(p99_ms = 50)
rel hop(src: int, dst: int)
@device(cuda)
hop(x, y) :- e(x, y).
@replicas(min = 0, max = 8)
fn f(x: int) -> int = x
""")
    (d,) = prog.decls
    assert [a.name for a in d.annotations] == ["partition", "slo"]
    assert d.annotations[0].args == ((None, "src"),)
    key, val = d.annotations[1].args[0]
    assert key == "p99_ms" and val.value == 50
    assert [a.name for a in prog.rules[0].annotations] == ["device"]
    assert prog.rules[0].annotations[0].args == ((None, "cuda"),)
    assert [a.name for a in prog.fns[0].annotations] == ["replicas"]
    assert [(k, v.value) for k, v in prog.fns[0].annotations[0].args] == [("min", 0), ("max", 8)]
    assert prog.stray_annotations == []


def test_trailing_annotation_is_stray() -> None:
    prog = parse("p(1).\n@device(cpu)\n")
    assert [a.name for a in prog.stray_annotations] == ["device"]


def test_agents_are_parsed() -> None:
    prog = parse("""
agent Counter {
  channel incr(by: int)
  table total(n: int)
  next total(n + b) :- total(n), incr(b).
}
""")
    (agent,) = prog.agents
    assert agent.name == "Counter"
    assert agent.span.line == 2 and agent.span.end_line == 6
    assert len(agent.items) == 3
    assert [d.name for d in agent.items[:2]] == ["incr", "total"]


def test_async_send_head() -> None:
    (r,) = rules_of("reply@c(id, v) :- get(id, k, c), store(k, v).")
    assert r.head.rel == "reply" and r.head.dest is not None and r.head.dest.name == "c"
    assert [shape(a) for a in r.head.args] == ["id", "v"]


# ---------------------------------------------------------------- spans


def test_spans_point_at_the_source() -> None:
    prog = parse("input e(a: int)\n\np(x) :-\n    e(x), x > 1.\n", "f.dfl")
    (r,) = prog.rules
    assert (r.span.file, r.span.line, r.span.col) == ("f.dfl", 3, 1)
    atom = r.body[0]
    assert (atom.span.line, atom.span.col, atom.span.end_col) == (4, 5, 9)
    assert (r.body[1].span.line, r.body[1].span.col) == (4, 11)
    assert (prog.decls[0].name_span.line, prog.decls[0].name_span.col) == (1, 7)


# ---------------------------------------------------------------- syntax errors


def syntax(src: str, file: str = "f.dfl") -> DflError:
    with pytest.raises(DflError) as info:
        parse(src, file)
    err = info.value
    assert err.kind == "compile" and err.exit_code == 1
    return err


def check_rendered(err: DflError, line: int, col: int) -> str:
    """The rendered error names file:line:col, shows the source line and a caret under column col."""
    text = err.render()
    lines = text.splitlines()
    assert lines[0].startswith(f"f.dfl:{line}:{col}: error: "), text
    gutter = re.match(r"\s*\d+ \| ", lines[1])
    assert gutter, text
    caret = lines[2]
    assert caret.index("^") == len(gutter.group(0)) + col - 1, text
    assert "Traceback" not in text and "lark" not in text.lower()
    return lines[0]


@pytest.mark.parametrize("prefix", ["", "input e(a: int)\n"])
@pytest.mark.parametrize("mistake", ["p(x) :- q(x)\np(y) :- q(y).", "p(x) :- q(x), x > 1\n", "edge(1, 2)\nedge(2, 3)."])
def test_missing_dot_wherever_it_is(prefix: str, mistake: str) -> None:
    # The friendly message must not depend on what comes before the mistake.
    err = syntax(prefix + mistake)
    first = check_rendered(err, err.span.line, err.span.col)
    assert "must end with `.`" in first, err.render()


@pytest.mark.parametrize("prefix", ["", "input e(a: int)\n"])
@pytest.mark.parametrize("mistake", ["p(x) :- q(x, y.", "edge(1, 2."])
def test_missing_parenthesis_wherever_it_is(prefix: str, mistake: str) -> None:
    err = syntax(prefix + mistake)
    first = check_rendered(err, err.span.line, err.span.col)
    assert "missing `)`" in first, err.render()


@pytest.mark.parametrize("prefix", ["", "p(0).\n", "input e(a: int)\n"])
def test_souffle_decl_wherever_it_is(prefix: str) -> None:
    err = syntax(prefix + ".decl edge(x: int)\n")
    first = check_rendered(err, err.span.line, 1)
    assert ".decl" in first, err.render()


@pytest.mark.parametrize("src, line, col", [
    ("p(x) :- q(x, y.\n", 1, 15),
    ("p(x) :- q(x), r(x, y.\n", 1, 21),
    ("edge(1, 2.\n", 1, 10),
])
def test_missing_closing_parenthesis(src: str, line: int, col: int) -> None:
    err = syntax(src)
    first = check_rendered(err, line, col)
    assert "missing `)`" in first
    assert err.hint


def test_missing_parenthesis_names_the_line_of_the_acceptance_case() -> None:
    src = ("# comment\n# comment\ninput edge(a: int, b: int)\noutput path(a: int, b: int)\n\n# base case\n"
           "path(x, y) :- edge(x, y).\n\n# recursive case\n\npath(x, z) :- path(x, y), edge(y, z.\n")
    err = syntax(src)
    assert err.span.line == 11
    assert "f.dfl:11:" in err.render()


@pytest.mark.parametrize("src, col", [("p(x) := q(x).", 6), ("p(x) : q(x).", 6)])
def test_colon_equals_instead_of_neck(src: str, col: int) -> None:
    err = syntax(src)
    first = check_rendered(err, 1, col)
    assert ":-" in first


@pytest.mark.parametrize("src, col", [
    ("p(x) :- q(x), 1 < x < 3.", 21),
    ("p(x) :- q(x), 1 < x <= 3.", 21),
    ("p(x) :- q(x), 1 = x = 3.", 21),
])
def test_chained_comparisons(src: str, col: int) -> None:
    err = syntax(src)
    first = check_rendered(err, 1, col)
    assert "do not chain" in first
    assert "a < b, b < c" in err.hint


@pytest.mark.parametrize("src, col", [("p(x) :- q(x) r(x).", 14), ("p(x) :- q(x) !r(x).", 14)])
def test_missing_comma(src: str, col: int) -> None:
    err = syntax(src)
    first = check_rendered(err, 1, col)
    assert "`,`" in first


def test_not_keyword() -> None:
    err = syntax("p(x) :- q(x), not r(x).")
    first = check_rendered(err, 1, 19)
    assert "`!r(...)`" in first or "!r(" in err.hint


@pytest.mark.parametrize("src, col, ch", [
    ("p(x) :- q(x), x $ 1.", 17, "$"),
    ("p(x) :- q(x), x = 'a'.", 19, "'"),
    ("p(x) :- q(x) ? r(x).", 14, "?"),
])
def test_unknown_character(src: str, col: int, ch: str) -> None:
    err = syntax(src)
    first = check_rendered(err, 1, col)
    assert "character" in first and ch in first
    # the message is about the character, not a guess at another mistake
    assert "negation" not in first and "chain" not in first, first


@pytest.mark.parametrize("src, line, col", [
    ('p("abc) :- q(x).\n', 1, 3),
    ('input e(a: str)\np(x) :- e(x), x = "abc\n', 2, 19),
])
def test_unterminated_string(src: str, line: int, col: int) -> None:
    err = syntax(src)
    first = check_rendered(err, line, col)
    assert "string" in first.lower() and ("unterminated" in first.lower() or "not closed" in first.lower()
                                          or "never closed" in first.lower()), err.render()


@pytest.mark.parametrize("src, line, col", [
    ("p(x) :- q(x),", 1, 14),
    ("input e(a: int", 1, 15),
    ("input e(a: int)\np(x) :- ", 2, 9),
])
def test_unexpected_end_of_file(src: str, line: int, col: int) -> None:
    err = syntax(src)
    assert err.span.line == line
    first = err.render().splitlines()[0]
    assert first.startswith(f"f.dfl:{line}:")
    assert "end of the file" in first


def test_syntax_error_message_names_what_was_found_and_expected() -> None:
    err = syntax("p(x) :- q(x), .")
    first = check_rendered(err, 1, 15)
    assert "`.`" in first
    assert err.hint and "expected" in err.hint


def test_syntax_error_on_a_later_line_points_there() -> None:
    src = "input e(a: int)\n\n\noutput p(a: int)\np(x) :- e(x), .\n"
    err = syntax(src)
    check_rendered(err, 5, 15)


def test_error_spans_use_the_given_file_name() -> None:
    err = syntax("p(x) :- q(x", "some/dir/prog.dfl")
    assert err.render().startswith("some/dir/prog.dfl:1:")


def test_two_equals_signs() -> None:
    err = syntax("p(x) :- q(x), x == 1.")
    check_rendered(err, 1, 18)


def test_group_of_literals_as_an_atom_argument() -> None:
    err = syntax("p(x) :- q((r(x), s(x))).")
    assert err.span.line == 1 and err.span.col == 11
