"""The reference interpreter on hand-checked programs: semantics of LANGUAGE.md."""
from __future__ import annotations

import math

import pytest

import dfl


def run(src: str, **rows):
    return dfl.compile(src).run(**rows)


def test_set_semantics_and_sorted_output():
    r = run("input e(a: int)\noutput p(a: int)\np(x) :- e(x).", e=[(3,), (1,), (3,), (2,)])
    assert r["p"] == [(1,), (2,), (3,)]


def test_aggregates_range_over_distinct_combinations():
    src = "input e(a: int, b: int)\noutput deg(a: int, n: int)\ndeg(x, count()) :- e(x, y)."
    assert run(src, e=[(1, 2), (1, 2), (1, 3), (2, 3)])["deg"] == [(1, 2), (2, 1)]


def test_sum_counts_each_combination_not_each_value():
    src = "input e(a: int, b: int, w: int)\noutput s(a: int, t: int)\ns(x, sum(w)) :- e(x, _, w)."
    assert run(src, e=[(1, 2, 5), (1, 3, 5)])["s"] == [(1, 10)]


def test_body_aggregates_on_empty_sets():
    src = ("input n(a: int)\ninput e(a: int, b: int)\noutput c(a: int, k: int)\noutput m(a: int, k: int)\n"
           "c(x, k) :- n(x), k = count : e(x, _).\nm(x, k) :- n(x), k = min y : e(x, y).")
    r = run(src, n=[(1,), (2,)], e=[(1, 5), (1, 4)])
    assert r["c"] == [(1, 2), (2, 0)]
    assert r["m"] == [(1, 4)]


def test_mean_is_float():
    src = "input e(a: int)\noutput m(v: float)\nm(mean(x)) :- e(x)."
    assert run(src, e=[(1,), (2,)])["m"] == [(1.5,)]


def test_min_lattice_recursion():
    src = ("input l(a: int, b: int, c: int)\noutput d(n: int, v: min<int>)\nd(0, 0).\n"
           "d(y, v + c) :- d(x, v), l(x, y, c).")
    r = run(src, l=[(0, 1, 5), (1, 2, 1), (0, 2, 9), (2, 0, 1)])
    assert r["d"] == [(0, 0), (1, 5), (2, 6)]


def test_max_lattice():
    src = "input e(k: str, v: int)\noutput best(k: str, v: max<int>)\nbest(k, v) :- e(k, v)."
    assert run(src, e=[("a", 1), ("a", 7), ("b", 2)])["best"] == [("a", 7), ("b", 2)]


def test_stratified_negation_over_recursion():
    src = ("input e(a: int, b: int)\ninput n(a: int)\nrel r(a: int)\noutput u(a: int)\nr(0).\n"
           "r(y) :- r(x), e(x, y).\nu(x) :- n(x), !r(x).")
    assert run(src, e=[(0, 1), (1, 2), (3, 4)], n=[(i,) for i in range(5)])["u"] == [(3,), (4,)]


@pytest.mark.parametrize("expr,want", [
    ("7 // 2", 3), ("-7 // 2", -4), ("-7 % 3", 2), ("7 % -3", -2), ("2 + 3 * 4", 14),
    ("9223372036854775807 + 1", -9223372036854775808), ("pow(2, 64)", 0), ("abs(-3)", 3),
    ("len(\"héllo\")", 5), ("to_int(\" 42 \")", 42), ("to_int(-2.7)", -2), ("floor(-2.5)", -3),
    ("ceil(2.1)", 3), ("max(3, 9)", 9), ("if 1 < 2 then 10 else 20", 10),
])
def test_int_expressions(expr, want):
    assert run(f"output p(x: int)\np(x) :- x = {expr}.")["p"] == [(want,)]


@pytest.mark.parametrize("expr,want", [
    ("7 / 2", 3.5), ("1 + 0.5", 1.5), ("sqrt(16.0)", 4.0), ("pow(2.0, 3)", 8.0), ("to_float(\"2.5\")", 2.5),
    ("max(1, 2.5)", 2.5), ("-7.5 // 2", -4.0), ("exp(0.0)", 1.0), ("log(1.0)", 0.0),
])
def test_float_expressions(expr, want):
    assert run(f"output p(x: float)\np(x) :- x = {expr}.")["p"] == [(want,)]


@pytest.mark.parametrize("expr,want", [
    ('"ab" + "cd"', "abcd"), ('substr("hello", 1, 3)', "ell"), ('substr("hi", 5, 2)', ""),
    ('lower("AbC")', "abc"), ('upper("abc")', "ABC"), ("to_str(1.0)", "1.0"), ("to_str(true)", "true"),
    ("to_str(0.1 + 0.2)", "0.30000000000000004"),
])
def test_string_expressions(expr, want):
    assert run(f"output p(x: str)\np(x) :- x = {expr}.")["p"] == [(want,)]


def test_generators():
    r = run('input t(id: int, s: str)\noutput w(id: int, x: str)\noutput n(k: int)\n'
            'w(i, x) :- t(i, s), x in split(s, ",").\nn(k) :- k in range(2, 5).', t=[(1, "a,b,a")])
    assert r["w"] == [(1, "a"), (1, "b")]
    assert r["n"] == [(2,), (3,), (4,)]


def test_hash_is_stable():
    src = 'output h(a: int, b: int)\nh(x, y) :- x = hash("abc"), y = hash(42).'
    first, second = run(src)["h"], run(src)["h"]
    assert first == second and first[0][0] != first[0][1]
    from dfl.stdlib.hashing import stable_hash
    assert first == [(stable_hash("abc"), stable_hash(42))]


@pytest.mark.parametrize("expr,msg", [
    ("1 // 0", "division by zero: 1 // 0"), ("5 % 0", "division by zero: 5 % 0"),
    ("to_int(\"x1\")", "to_int"), ("pow(2, -1)", "negative exponent"),
])
def test_runtime_errors_name_the_values(expr, msg):
    with pytest.raises(dfl.DflError) as e:
        run(f"output p(x: int)\np(x) :- x = {expr}.")
    assert e.value.kind == "runtime" and msg in str(e.value) and "line 2" in str(e.value)


def test_log_of_zero_is_a_runtime_error():
    with pytest.raises(dfl.DflError) as e:
        run("output p(x: float)\np(x) :- x = log(0.0).")
    assert e.value.exit_code == 3


def test_float_sum_is_order_independent():
    vals = [(i, 0.1 * (i % 7) + 1e-3 * i) for i in range(200)]
    src = "input e(i: int, v: float)\noutput s(t: float)\ns(sum(v)) :- e(_, v)."
    a = run(src, e=vals)["s"]
    b = run(src, e=list(reversed(vals)))["s"]
    assert a == b and math.isclose(a[0][0], sum(v for _, v in vals))


def test_a_wrapped_int_operand_keeps_its_parentheses():
    # found by hypothesis: `i * (i + i)` once read as `i * wrapped(i + i) - 2**63`
    src = "input p(k: int, i: int)\noutput o(k: int, v: int)\no(k, i * (i + i)) :- p(k, i).\n" \
          "output q(k: int, v: int)\nq(k, (i + i) * i - (i - 1) * -i) :- p(k, i).\n"
    rows = [(0, 0), (1, 3), (2, -5)]
    res = dfl.compile(src).run(target="interp", p=rows)
    assert res["o"] == [(k, i * (i + i)) for k, i in rows]
    assert res["q"] == [(k, (i + i) * i - (i - 1) * -i) for k, i in rows]
