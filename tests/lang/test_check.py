"""The checker (LANGUAGE.md §2–§6, §8): names, arities, types, safety, stratification, and what is not supported yet."""
from __future__ import annotations

import pytest

import dfl
from dfl.errors import DflError
from dfl.ir.types import Type
from dfl.lang.check import check
from dfl.lang.parser import parse

H = "input e(a: int, b: int)\ninput s(t: str)\ninput f(v: float)\n"  # lines 1-3


def checked(src: str):
    return check(parse(src, "f.dfl"))


def error(src: str) -> DflError:
    with pytest.raises(DflError) as info:
        checked(src)
    err = info.value
    assert err.kind == "compile" and err.exit_code == 1
    assert err.span is not None, err.render()
    return err


def at(err: DflError, line: int, col: int | None = None) -> None:
    assert err.span.line == line, err.render()
    if col is not None:
        assert err.span.col == col, err.render()
    text = err.render()
    assert text.startswith(f"f.dfl:{line}:"), text
    assert "^" in text  # the source line and a caret are shown


def run(src: str, **rows):
    return dfl.compile(src, "f.dfl").run(**rows)


# ---------------------------------------------------------------- names and arities


def test_undeclared_relation_in_a_body_with_did_you_mean() -> None:
    err = error(H + "output path(a: int)\npath(x) :- e(x, _), pth(x).\n")
    assert "pth" in err.message and "not declared" in err.message
    assert err.hint and "path" in err.hint and "did you mean" in err.hint
    at(err, 5, 21)


def test_undeclared_relation_in_a_head() -> None:
    err = error(H + "output path(a: int)\npaths(x) :- e(x, _).\n")
    assert "paths" in err.message and "path" in err.hint
    at(err, 5, 1)


def test_undeclared_without_a_close_name_suggests_declaring_it() -> None:
    err = error(H + "output p(a: int)\np(x) :- e(x, _), zzz(x).\n")
    assert "zzz" in err.message and "rel zzz" in err.hint


def test_undeclared_in_a_negation_and_inside_an_aggregate() -> None:
    err = error(H + "output p(a: int)\np(x) :- e(x, _), !zz(x).\n")
    at(err, 5, 19)
    err = error(H + "output p(n: int)\np(n) :- n = count : zz(_).\n")
    assert "zz" in err.message
    at(err, 5, 21)


def test_declared_twice() -> None:
    err = error(H + "output p(a: int)\nrel p(a: int)\n")
    assert "'p'" in err.message and "twice" in err.message
    assert "f.dfl:4:1" in err.hint  # where it was first declared
    at(err, 5, 5)


def test_relation_may_be_used_before_its_declaration() -> None:
    res = run("p(x) :- e(x, _).\noutput p(a: int)\ninput e(a: int, b: int)\n", e=[(1, 2)])
    assert res["p"] == [(1,)]


@pytest.mark.parametrize("rule, line_col", [
    ("p(x) :- e(x).", (5, 9)),
    ("p(x) :- e(x, _, _).", (5, 9)),
    ("p(x, x) :- e(x, _).", (5, 1)),
    ("p(x) :- e(x, _), !e(x).", (5, 19)),
])
def test_arity(rule: str, line_col) -> None:
    err = error(H + "output p(a: int)\n" + rule + "\n")
    assert "column" in err.message
    assert "declared as" in err.hint
    at(err, *line_col)


def test_duplicate_and_misplaced_columns() -> None:
    err = error(H + "output p(a: int, a: int)\n")
    assert "'a'" in err.message and "twice" in err.message
    err = error(H + "output p(a: min<int>, b: int)\n")
    assert "'b'" in err.message and "lattice" in err.message
    at(err, 4, 23)


def test_table_and_channel_at_once() -> None:
    err = error(H + "table channel p(a: int)\n")
    assert "table" in err.message and "channel" in err.message


# ---------------------------------------------------------------- types


def test_type_mismatch_between_atoms() -> None:
    err = error(H + "output p(a: int)\np(x) :- e(x, _), s(x).\n")
    assert "'x'" in err.message and "int" in err.message and "str" in err.message
    at(err, 5, 20)


def test_type_mismatch_through_a_derived_relation() -> None:
    err = error(H + "rel r(a: str)\noutput p(a: int)\nr(t) :- s(t).\np(x) :- r(x).\n")
    assert "int" in err.message and "str" in err.message
    at(err, 7, 3)


def test_head_column_type() -> None:
    err = error(H + "output p(a: int)\np(t) :- s(t).\n")
    assert "column 'a'" in err.message and "str" in err.message
    at(err, 5, 3)


def test_fact_column_type() -> None:
    err = error(H + "output p(a: int)\np(\"a\").\n")
    at(err, 5, 3)
    err = error(H + "output p(a: int)\np(1.5).\n")
    assert "float" in err.message


@pytest.mark.parametrize("lit, words", [
    ('y = t + 1', ["str", "int"]),
    ('y = t * 2', ["str", "int"]),
    ('y = -t', ["-", "str"]),
    ('t < 1', ["compare", "str", "int"]),
    ('y = if t then 1 else 2', ["condition", "str"]),
    ('y = if t = "a" then 1 else "b"', ["branches"]),
    ('t + "x"', ["true or false", "str"]),
    ('y = len(1)', ["len"]),
    ('y = abs(t)', ["abs"]),
    ('y = abs(1, 2)', ["abs", "2"]),
    ('y = frob(t)', ["frob"]),
    ('y = _ + 1', ["wildcard"]),
    ('y in len(t)', ["list"]),
])
def test_expression_type_errors(lit: str, words: list[str]) -> None:
    err = error(H + f"output p(a: str)\np(t) :- s(t), {lit}.\n")
    for w in words:
        assert w in err.message, err.render()
    at(err, 5)
    assert err.span.col >= 15  # points into the literal, not at the rule


def test_int_and_float_compare_and_mix() -> None:
    prog = checked(H + "output p(a: float)\np(x * v) :- e(x, _), f(v), x < v.\n")
    (r,) = prog.rules
    assert r.types["x"] == Type.INT and r.types["v"] == Type.FLOAT


def test_int_literal_accepted_as_float() -> None:
    src = H + ("output p(a: float)\np(1).\np(x) :- e(x, _).\n"
               "fn half(x: float) -> float = x / 2\noutput q(a: float)\nq(y) :- e(x, _), y = half(x).\n"
               "output r(a: int)\nr(1) :- f(1).\n")
    res = run(src, e=[(3, 0)], f=[(1.0,)], s=[])
    assert res["p"] == [(1.0,), (3.0,)]
    assert all(type(v) is float for (v,) in res["p"])
    assert res["q"] == [(1.5,)]
    assert res["r"] == [(1,)]


def test_float_not_accepted_as_int() -> None:
    err = error(H + "output p(a: int)\np(v) :- f(v).\n")
    assert "int" in err.message and "float" in err.message
    assert "to_int" in (err.hint or "")


def test_aggregate_types() -> None:
    err = error(H + "output p(n: int)\np(n) :- n = sum t : s(t).\n")
    assert "sum" in err.message and "str" in err.message
    err = error(H + "output p(a: float)\np(mean(t)) :- s(t).\n")
    assert "mean" in err.message
    err = error(H + "output p(a: int)\np(mean(x)) :- e(x, _).\n")
    assert "float" in err.message  # mean is float, the column is int
    prog = checked(H + "output p(a: int, b: float, c: int, d: float)\n"
                       "p(count(), mean(x), sum(x), max(v)) :- e(x, _), f(v).\n")
    assert prog.rules


# ---------------------------------------------------------------- functions


def test_function_argument_and_return_types() -> None:
    err = error(H + "fn g(x: int) -> int = x + 1\noutput p(a: int)\np(y) :- s(t), y = g(t).\n")
    assert "argument 'x'" in err.message and "g" in err.message
    at(err, 6, 21)
    err = error("fn g(x: int) -> str = x + 1\n")
    assert "returns str" in err.message
    at(err, 1, 23)
    err = error(H + "fn g(x: int) -> int = x\noutput p(a: int)\np(y) :- e(x, _), y = g(x, x).\n")
    assert "g" in err.message and "argument" in err.message


def test_function_calls_another_function() -> None:
    src = (H + "fn sq(x: float) -> float = x * x\n"
           "fn norm(a: float, b: float) -> float = sqrt(sq(a) + sq(b))\n"
           "output p(d: float)\np(norm(x, y)) :- e(x, y).\n")
    assert run(src, e=[(3, 4)], s=[], f=[])["p"] == [(5.0,)]


def test_function_recursion() -> None:
    err = error("fn f(x: int) -> int = if x > 0 then f(x - 1) else 0\n")
    assert "'f'" in err.message and "recursive" in err.message
    at(err, 1, 1)


def test_mutual_function_recursion_names_the_cycle() -> None:
    err = error("fn f(x: int) -> int = g(x)\nfn g(x: int) -> int = f(x)\n")
    assert "recursive" in err.message
    assert "f" in err.message and "g" in err.message and "->" in err.message


def test_function_defined_twice_and_bad_parameters() -> None:
    err = error("fn f(x: int) -> int = x\nfn f(y: int) -> int = y\n")
    assert "twice" in err.message
    at(err, 2, 1)
    err = error("fn f(x: int, x: int) -> int = x\n")
    assert "'x'" in err.message


@pytest.mark.parametrize("src, name", [
    ("input len(a: int)\n", "len"),
    ("rel abs(a: int)\n", "abs"),
    ("output min(a: int)\n", "min"),
    ("rel split(a: str)\n", "split"),
    ("fn abs(x: int) -> int = x\n", "abs"),
    ("fn hash(x: int) -> int = x\n", "hash"),
    ("input q(a: int)\nfn q(x: int) -> int = x\n", "q"),
])
def test_builtin_and_relation_names_clash(src: str, name: str) -> None:
    err = error(src)
    assert f"'{name}'" in err.message and "namespace" in err.message


# ---------------------------------------------------------------- safety


def test_unsafe_head_variable() -> None:
    err = error(H + "output p(a: int, b: int)\np(x, far_node) :- e(x, _).\n")
    assert "far_node" in err.message and "unsafe" in err.message
    at(err, 5, 6)


def test_unsafe_fact_variable() -> None:
    err = error(H + "output p(a: int)\np(x).\n")
    assert "'x'" in err.message


def test_unsafe_negation_variable() -> None:
    err = error(H + "output p(a: int)\np(x) :- e(x, _), !e(x, y).\n")
    assert "'y'" in err.message and "negation" in err.message
    at(err, 5, 24)


def test_unsafe_comparison_variable() -> None:
    err = error(H + "output p(a: int)\np(x) :- e(x, _), y > 1.\n")
    assert "'y'" in err.message and "comparison" in err.message
    at(err, 5, 18)


def test_unsafe_generator_argument() -> None:
    err = error(H + "output p(a: str)\np(w) :- s(t), w in split(u, \" \").\n")
    assert "'u'" in err.message


def test_head_variable_bound_only_inside_an_aggregate_is_named() -> None:
    err = error(H + "output p(a: int, n: int)\np(y, n) :- e(x, _), n = count : e(x, y).\n")
    assert "unsafe" in err.message
    assert "'y'" in err.message, err.render()  # the message names the variable that is not bound


def test_wildcard_in_head() -> None:
    err = error(H + "output p(a: int)\np(_) :- e(_, _).\n")
    assert "wildcard" in err.message
    at(err, 5, 3)


def test_binding_either_way_and_chained_bindings_are_safe() -> None:
    src = H + "output p(a: int, b: int, c: int)\np(x, y, z) :- z = y * 2, x + 1 = y, e(x, _).\n"
    assert run(src, e=[(1, 0), (5, 0)], s=[], f=[])["p"] == [(1, 2, 4), (5, 6, 12)]


def test_equality_between_bound_variables_is_a_test() -> None:
    src = H + "output p(a: int)\np(x) :- e(x, y), x = y.\n"
    assert run(src, e=[(1, 1), (1, 2), (3, 3)], s=[], f=[])["p"] == [(1,), (3,)]


# ---------------------------------------------------------------- stratification


def test_negation_cycle_names_the_relations_and_points_at_the_literal() -> None:
    err = error(H + "rel even_node(x: int)\nrel odd_node(x: int)\n"
                    "even_node(x) :- e(x, _), !odd_node(x).\nodd_node(x) :- e(x, _), !even_node(x).\n")
    assert "even_node" in err.message and "odd_node" in err.message
    assert "negation" in err.message
    assert (err.span.line, err.span.col) in ((6, 26), (7, 25))


def test_self_negation() -> None:
    err = error(H + "rel a(x: int)\na(x) :- e(x, _), !a(x).\n")
    assert "'a'" in err.message and "itself" in err.message
    at(err, 5, 18)


def test_long_negation_cycle_names_every_relation() -> None:
    err = error(H + "rel a(x: int)\nrel b(x: int)\nrel c(x: int)\n"
                    "a(x) :- b(x).\nb(x) :- c(x).\nc(x) :- e(x, _), !a(x).\n")
    for r in ("'a'", "'b'", "'c'"):
        assert r in err.message
    assert "->" in err.message
    at(err, 9, 18)


def test_head_aggregate_cycle() -> None:
    err = error(H + "rel a(x: int, n: int)\na(x, count()) :- a(x, _).\n")
    assert "'a'" in err.message and "aggregate" in err.message
    at(err, 5, 18)


def test_body_aggregate_cycle() -> None:
    err = error(H + "rel a(x: int)\nrel b(x: int)\na(n) :- e(_, _), n = count : b(_).\nb(x) :- a(x).\n")
    assert "'a'" in err.message and "'b'" in err.message and "aggregate" in err.message
    at(err, 6, 18)


def test_recursion_through_lattice_columns_is_accepted() -> None:
    src = H + "output d(n: int, c: min<int>)\nd(1, 0).\nd(y, c + 1) :- d(x, c), e(x, y).\n"
    res = run(src, e=[(1, 2), (2, 3), (3, 1), (1, 3)], s=[], f=[])
    assert res["d"] == [(1, 0), (2, 1), (3, 1)]


def test_recursion_through_max_lattice_is_accepted() -> None:
    src = H + "output best(n: int, c: max<int>)\nbest(x, y) :- e(x, y).\nbest(x, c) :- e(x, y), best(y, c).\n"
    res = run(src, e=[(1, 2), (2, 3), (3, 1), (4, 9)], s=[], f=[])
    assert res["best"] == [(1, 3), (2, 3), (3, 3), (4, 9)]


def test_stratified_negation_and_aggregates_are_accepted() -> None:
    prog = checked(H + "rel reach(x: int)\nrel unreach(x: int)\noutput n(c: int)\n"
                       "reach(y) :- e(1, y).\nreach(y) :- reach(x), e(x, y).\n"
                       "unreach(x) :- e(x, _), !reach(x).\nn(c) :- c = count : unreach(_).\n")
    order = [rel for s in prog.strata for rel in s.relations]
    assert order.index("reach") < order.index("unreach") < order.index("n")
    (rec,) = [s for s in prog.strata if s.recursive]
    assert rec.relations == ("reach",)


def test_next_rule_does_not_create_a_same_tick_dependency() -> None:
    # negation of a relation derived from the table, in a `next` rule, is stratified (Dedalus)
    checked("table t(a: int)\nrel seen(a: int)\nchannel c(a: int)\n"
            "seen(x) :- t(x).\nnext t(x) :- c(x), !seen(x).\n")


# ---------------------------------------------------------------- body aggregates


def test_correlated_body_aggregates() -> None:
    src = H + ("output cnt(a: int, n: int)\noutput tot(a: int, n: int)\noutput lo(a: int, n: int)\n"
               "cnt(x, n) :- e(x, _), n = count : e(x, _).\n"
               "tot(x, s) :- e(x, _), s = sum y : { e(x, y), y > 0 }.\n"
               "lo(x, m) :- e(x, _), m = min y : e(x, y).\n")
    res = run(src, e=[(1, 2), (1, 3), (1, -4), (2, 5)], s=[], f=[])
    assert res["cnt"] == [(1, 3), (2, 1)]
    assert res["tot"] == [(1, 5), (2, 5)]
    assert res["lo"] == [(1, -4), (2, 5)]


def test_uncorrelated_body_aggregates_and_empty_sets() -> None:
    src = H + ("output n(c: int)\noutput t(c: int)\noutput m(c: int)\noutput k(c: float)\n"
               "n(c) :- c = count : e(7, _).\nt(c) :- c = sum y : e(7, y).\n"
               "m(c) :- c = min y : e(7, y).\nk(c) :- c = mean y : e(7, y).\n")
    res = run(src, e=[(1, 2)], s=[], f=[])
    assert res["n"] == [(0,)] and res["t"] == [(0,)]
    assert res["m"] == [] and res["k"] == []


def test_aggregate_over_an_expression() -> None:
    src = H + "output m(v: int)\noutput t(v: int)\nm(x) :- x = max (-y) : e(y, _).\nt(x) :- x = sum (y * 2) : e(y, _).\n"
    res = run(src, e=[(1, 2), (2, 3)], s=[], f=[])
    assert res["m"] == [(-1,)]
    assert res["t"] == [(6,)]


def test_aggregates_count_distinct_combinations_wildcards_included() -> None:
    src = H + ("output d(a: int, n: int)\noutput b(n: int)\n"
               "d(x, count()) :- e(x, _).\nb(n) :- n = count : e(_, _).\n")
    res = run(src, e=[(1, 2), (1, 3), (2, 3)], s=[], f=[])
    assert res["d"] == [(1, 2), (2, 1)]
    assert res["b"] == [(3,)]


def test_aggregate_result_tested_when_already_bound() -> None:
    src = H + "output p(a: int)\np(x) :- e(x, n), n = count : e(x, _).\n"
    res = run(src, e=[(1, 2), (1, 3), (2, 1), (3, 5)], s=[], f=[])
    assert res["p"] == [(1,), (2,)]


# ---------------------------------------------------------------- several errors, unsupported features


def test_several_errors_reported_in_one_run() -> None:
    err = error(H + "output p(a: int)\n"
                    "p(x) :- q(x).\n"
                    "p(x) :- e(x).\n"
                    "p(y) :- e(x, _).\n"
                    "p(t) :- s(t).\n")
    errs = err.all()
    assert [e.span.line for e in errs] == [5, 6, 7, 8]
    text = err.render()
    assert "4 errors" in text
    assert "'q'" in text and "column(s)" in text and "'y'" in text and "str" in text


def test_errors_in_declarations_functions_and_rules_together() -> None:
    err = error("rel p(a: int)\nrel p(a: int)\nfn f(x: int) -> str = x\nq(1).\n")
    lines = sorted(e.span.line for e in err.all())
    assert lines == [2, 3, 4]


def test_agents_are_checked_as_programs_of_their_own() -> None:
    prog = checked(H + "agent Counter {\n  channel incr(by: int)\n  table total(n: int)\n}\n")
    assert set(prog.agents["Counter"].checked.relations) == {"e", "s", "f", "incr", "total"}  # e s f: the top-level inputs


def test_a_send_outside_an_agent_is_an_error() -> None:
    err = error(H + "output r(a: int)\nr@c(x) :- e(x, c).\n")
    assert "only inside an agent" in err.message and "r@c" in err.message
    at(err, 5, 1)


def test_delete_needs_a_table() -> None:
    err = error(H + "rel t(a: int)\ndelete t(x) :- e(x, _).\n")
    assert "'t'" in err.message and "table" in err.message
    assert "table t" in err.hint
    at(err, 5, 8)


def test_delete_and_next_on_a_table_are_accepted() -> None:
    prog = checked("table t(a: int)\nchannel c(a: int)\nnext t(x) :- c(x).\ndelete t(x) :- c(x), t(x).\n")
    assert prog.ticked


def test_unknown_annotation_is_an_error_and_known_ones_are_accepted() -> None:
    err = error(H + "@frob(1)\noutput p(a: int)\np(x) :- e(x, _).\n")
    assert "@frob" in err.message
    at(err, 4, 1)
    prog = checked(H + "@partition(a)\noutput p(a: int)\n@device(cpu)\np(x) :- e(x, _).\n")
    assert prog.warnings == []


def test_partition_must_name_a_column_of_its_declaration() -> None:
    err = error(H + "@partition(zz)\noutput p(a: int)\np(x) :- e(x, _).\n")
    assert "@partition takes one column of p" in err.message and "columns: a" in (err.hint or "")
    at(err, 4, 1)
    err = error(H + "output p(a: int)\n@partition(a)\np(x) :- e(x, _).\n")
    assert "annotates a declaration" in err.message


def test_annotation_that_annotates_nothing() -> None:
    err = error(H + "output p(a: int)\np(x) :- e(x, _).\n@device(cpu)\n")
    assert "annotates nothing" in err.message
    at(err, 6, 1)


def test_out_of_range_int_literal_is_an_error() -> None:
    # ints are 64-bit; 9223372036854775808 does not fit (its negation, the minimum, does)
    assert run("output p(a: int)\np(-9223372036854775808).\n")["p"] == [(-9223372036854775808,)]
    err = error("output p(a: int)\np(9223372036854775808).\n")
    at(err, 2, 3)


def test_a_relation_named_like_a_builtin_is_the_one_error_reported() -> None:
    # its atoms would read as calls of the builtin: no cascade of errors about that misreading
    err = error("input log(u: int, ts: int)\noutput s(u: int)\n"
                "s(u) :- log(u, ts), p = max t : { log(u, t), t < ts }, ts - p > 1800.\n")
    at(err, 1, 7)
    assert "'log' is a builtin function" in str(err) and err.related == []
