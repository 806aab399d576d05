"""Property: the `cpu` backend computes what the reference interpreter computes.

Programs and data come from the colleague's generator (`strategies.programs()`: joins,
constants, comparisons, guarded arithmetic bindings, `;`, negation and head/body aggregates
over lower strata, linear/non-linear/mutual recursion, `min<int>` shortest paths), drawn
as a whole and per kind of relation group (the `graph` kind makes the linear closures the
cpu backend runs as BFS). A second family runs fixed programs over the value types the
generator does not draw (strings, floats, bools, int64 extremes) and over the exact shapes
the cpu backend specialises (linear closure, Dijkstra shortest paths), with random rows.

cpu == interp: every output relation, row for row (floats within 1e-9 relative); a
program the interpreter rejects at run time must fail on cpu with the same error kind.
"""
from __future__ import annotations

import functools
import os
import sys

from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from strategies import GenProgram, programs

# one definition of "the same results" for every parity test (floats within 1e-9)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "backends"))
from test_parity import rows_equal  # noqa: E402

import dfl
from dfl.errors import DflError

INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SCALE = float(os.environ.get("DFL_PROPERTY_SCALE", "1"))  # e.g. 20 for a long bug hunt


def n(examples: int) -> int:
    return max(1, int(examples * SCALE))


def run(source: str, target: str, rows: dict):
    try:
        return "ok", dfl.compile(source).run(target=target, **rows)
    except DflError as e:
        return "error", e


def check_parity(source: str, rows: dict) -> None:
    note(source)
    ref_status, ref = run(source, "interp", rows)
    cpu_status, cpu = run(source, "cpu", rows)
    if ref_status == "error":
        assert cpu_status == "error" and cpu.kind == ref.kind, \
            f"interp failed ({ref.kind}: {ref.message}); cpu gave {cpu if cpu_status == 'error' else cpu.relations}"
        return
    assert cpu_status == "ok", f"cpu failed ({cpu.kind}: {cpu.message}); interp gave {ref.relations}"
    assert sorted(cpu) == sorted(ref)
    for rel in ref:
        assert rows_equal(cpu[rel], ref[rel]), f"{rel}:\n  cpu:    {cpu[rel]}\n  interp: {ref[rel]}"


# ---------------------------------------------------------------- the colleague's programs

TC_LEFT = GenProgram("""\
input e0(c0: int, c1: int)
input e1(c0: int, c1: int, c2: int)
output r0(c0: int, c1: int)
output r1(c0: int, c1: int, c2: min<int>)
r0(x, y) :- e0(x, y).
r0(x, z) :- e0(x, y), r0(y, z).
r1(x, y, k) :- e1(x, y, k), k >= 0.
r1(x, z, d + k) :- r1(x, y, d), e1(y, z, k), k >= 0.
""", {"e0": [(0, 1), (1, 2), (2, 0), (3, 3), (4, 5)], "e1": [(0, 1, 4), (1, 2, 0), (0, 2, 5), (2, 0, 1)]})


@example(TC_LEFT)
@settings(max_examples=n(120), **SETTINGS)
@given(programs())
def test_cpu_matches_interp_on_generated_programs(prog: GenProgram) -> None:
    check_parity(prog.source, prog.inputs)


@settings(max_examples=n(40), **SETTINGS)
@given(programs(kinds=("graph", "lattice")))
def test_cpu_matches_interp_on_recursive_programs(prog: GenProgram) -> None:
    check_parity(prog.source, prog.inputs)


# ---------------------------------------------------------------- fixed shapes, random rows of every type

SMALL_INT = st.integers(-3, 6)
EDGE_INT = st.sampled_from([INT_MIN, INT_MIN + 1, -(1 << 62), -1, 0, 1, 1 << 62, INT_MAX - 1, INT_MAX])
ANY_INT = st.one_of(SMALL_INT, EDGE_INT)
FLOAT = st.one_of(st.sampled_from([0.0, -0.0, 0.5, -2.5, 1e16, -1e16, 1.0, 3.0, 0.1]),
                  st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
TEXT = st.one_of(st.sampled_from(["", "a", "b", "B", "é", "a,b", "日本", "🎉", "a b", " a", "z"]),
                 st.text(alphabet="ab é,日🎉", max_size=4))


def rows_of(*cols, max_size: int = 12):
    return st.lists(st.tuples(*cols), max_size=max_size)


CLOSURE_RIGHT = """
input e(a: int, b: int)
input s(a: int, b: int)
output r(a: int, b: int)
r(x, y) :- s(x, y).
r(x, z) :- r(x, y), e(y, z).
"""
CLOSURE_LEFT_STR = """
input e(a: str, b: str)
output r(a: str, b: str)
output n(a: str, k: int)
r(x, y) :- e(x, y).
r(x, z) :- e(x, y), r(y, z).
n(x, count()) :- r(x, _).
"""
SHORTEST = """
input e(a: int, b: int, w: int)
input s(a: int, d: int)
output d(n: int, v: min<int>)
d(x, v) :- s(x, v).
d(y, v + w) :- d(x, v), e(x, y, w).
"""
SHORTEST_FLOAT = """
input e(a: str, b: str, w: float)
output d(n: str, v: min<float>)
output far(n: str, v: max<float>)
d("a", 0.0).
d(y, v + w) :- d(x, v), e(x, y, w).
far(n, v) :- d(n, v).
"""
TYPES = """
input p(k: str, x: float, i: int, b: bool)
output agg(k: str, s: float, m: float, lo: float, hi: float, n: int)
output iagg(b: bool, s: int, m: float, lo: int, hi: int)
output sagg(b: bool, lo: str, hi: str)
output body(k: str, s: float, c: int)
output expr(k: str, a: int, d: int, m: int, n: int, f: int, t: str)
output cmp(a: str, b: str)
output neg(k: str)
agg(k, sum(x), mean(x), min(x), max(x), count()) :- p(k, x, _, _).
iagg(b, sum(i), mean(i), min(i), max(i)) :- p(_, _, i, b).
sagg(b, min(k), max(k)) :- p(k, _, _, b).
body(k, s, c) :- p(k, _, _, _), s = sum x : p(k, x, _, true), c = count : { p(k, _, i, _), i > 0 }.
expr(k, i + j, i - j, i * j, -i, floor(x), to_str(x)) :- p(k, x, i, _), p(k, _, j, _).
cmp(a, b) :- p(a, _, _, _), p(b, _, _, _), a < b.
neg(k) :- p(k, _, _, _), !p(k, _, _, false).
"""


@settings(max_examples=n(40), **SETTINGS)
@given(rows_of(SMALL_INT, SMALL_INT, max_size=20), rows_of(SMALL_INT, SMALL_INT, max_size=4))
def test_linear_closure_right(edges, seeds) -> None:
    check_parity(CLOSURE_RIGHT, {"e": edges, "s": seeds})


@settings(max_examples=n(30), **SETTINGS)
@given(rows_of(TEXT, TEXT, max_size=15))
def test_linear_closure_left_strings(edges) -> None:
    check_parity(CLOSURE_LEFT_STR, {"e": edges})


@settings(max_examples=n(40), **SETTINGS)
@given(st.booleans(), rows_of(SMALL_INT, SMALL_INT, st.integers(-2, 9), max_size=20),
       rows_of(SMALL_INT, st.integers(0, 5), max_size=3))
def test_shortest_paths(dag: bool, edges, seeds) -> None:
    """Any graph with weights >= 0 (Dijkstra), or a DAG with negative weights too (the generic
    fixpoint); never a negative cycle, whose distances would fall without end on every backend."""
    if dag:
        edges = [(a, b, w) for a, b, w in edges if a < b]
    else:
        edges = [(a, b, abs(w)) for a, b, w in edges]
    check_parity(SHORTEST, {"e": edges, "s": seeds})


@settings(max_examples=n(30), **SETTINGS)
@given(rows_of(st.sampled_from("abcdé"), st.sampled_from("abcdé"),
               st.floats(0, 100, allow_nan=False, allow_infinity=False), max_size=15))
def test_shortest_paths_float(edges) -> None:
    check_parity(SHORTEST_FLOAT, {"e": edges})


@settings(max_examples=n(60), **SETTINGS)
@given(rows_of(TEXT, FLOAT, ANY_INT, st.booleans(), max_size=10))
def test_every_value_type(rows) -> None:
    check_parity(TYPES, {"p": rows})


# ---------------------------------------------------------------- random expressions over every type

INT_LITS = ["0", "1", "2", "-1", "3", "7", "-7", "9223372036854775807", "-9223372036854775807", "4611686018427387904"]
FLOAT_LITS = ["0.0", "-0.0", "0.5", "1.5", "-2.5", "1e16", "1e-3", "3.0", "1e300"]
STR_LITS = ['""', '"a"', '"b"', '"é"', '"a,b"', '" "', '"日本"', '"12"', '"-3"', '"1.5"']
COLS = {"int": ["i", "j"], "float": ["x", "y"], "str": ["s", "t"], "bool": ["b"]}


@functools.lru_cache(maxsize=None)  # strategies are built once per (type, depth), not per example
def expr(t: str, depth: int):
    """A random well-typed DFL expression of type t (every operator and scalar builtin)."""
    leaves = st.one_of(st.sampled_from(COLS[t]), st.sampled_from(
        {"int": INT_LITS, "float": FLOAT_LITS, "str": STR_LITS, "bool": ["true", "false"]}[t]))
    if depth <= 0:
        return leaves
    d = depth - 1
    I, F, S, B = (lambda: expr("int", d)), (lambda: expr("float", d)), (lambda: expr("str", d)), (lambda: expr("bool", d))
    N = lambda: st.one_of(I(), F())
    two = lambda a, b, f: st.tuples(a, b).map(lambda p: f(*p))
    three = lambda a, b, c, f: st.tuples(a, b, c).map(lambda p: f(*p))
    opts = [leaves, three(B(), expr(t, d), expr(t, d), lambda c, a, b: f"(if {c} then {a} else {b})")]
    if t == "int":
        opts += [two(I(), I(), lambda a, b, op=op: f"({a} {op} {b})") for op in ["+", "-", "*", "//", "%"]]
        opts += [I().map(lambda a: f"(-{a})"), I().map(lambda a: f"abs({a})"),
                 two(I(), I(), lambda a, b: f"min({a}, {b})"), two(I(), I(), lambda a, b: f"max({a}, {b})"),
                 two(I(), st.sampled_from(["0", "1", "2", "3", "63", "64", "j"]), lambda a, b: f"pow({a}, {b})"),
                 F().map(lambda a: f"floor({a})"), F().map(lambda a: f"ceil({a})"), F().map(lambda a: f"to_int({a})"),
                 S().map(lambda a: f"len({a})"), S().map(lambda a: f"to_int({a})"), B().map(lambda a: f"to_int({a})"),
                 st.one_of(I(), F(), S(), B()).map(lambda a: f"hash({a})")]
    elif t == "float":
        opts += [two(N(), F(), lambda a, b, op=op: f"({a} {op} {b})") for op in ["+", "-", "*", "/", "//", "%"]]
        opts += [two(I(), I(), lambda a, b: f"({a} / {b})"), F().map(lambda a: f"(-{a})"),
                 F().map(lambda a: f"abs({a})"), N().map(lambda a: f"sqrt({a})"), N().map(lambda a: f"exp({a})"),
                 N().map(lambda a: f"log({a})"), two(F(), N(), lambda a, b: f"pow({a}, {b})"),
                 two(F(), N(), lambda a, b: f"min({a}, {b})"), two(N(), F(), lambda a, b: f"max({a}, {b})"),
                 I().map(lambda a: f"to_float({a})"), S().map(lambda a: f"to_float({a})")]
    elif t == "str":
        opts += [two(S(), S(), lambda a, b: f"({a} + {b})"), S().map(lambda a: f"lower({a})"),
                 S().map(lambda a: f"upper({a})"),
                 three(S(), st.sampled_from(["0", "1", "-1", "2", "i"]), st.sampled_from(["0", "1", "3", "j"]),
                       lambda a, b, c: f"substr({a}, {b}, {c})"),
                 st.one_of(I(), F(), S(), B()).map(lambda a: f"to_str({a})")]
    else:
        for ty in ("int", "float", "str", "bool"):
            opts += [two(expr(ty, d), expr(ty, d), lambda a, b, op=op: f"({a} {op} {b})")
                     for op in ["<", "<=", ">", ">=", "=", "!="]]
        opts += [two(S(), S(), lambda a, b, fn=fn: f"{fn}({a}, {b})") for fn in ["contains", "starts_with", "ends_with"]]
    return st.one_of(*opts)


EXPR_ROW = st.tuples(
    st.sampled_from([0, 1, -1, 2, 3, -7, 7, INT_MIN, INT_MAX, 1 << 62]),
    st.sampled_from([0, 1, -1, 2, 3, 63, INT_MIN, INT_MAX]),
    st.sampled_from([0.0, -0.0, 0.5, -2.5, 1e16, 1e300, -1e300, 3.0, 1e-300, 2.5]),
    st.sampled_from([0.0, -0.0, 1.0, -1.5, 1e-3, 7.0]),
    st.sampled_from(["", "a", "B", "é", "a,b", "12", " 7 ", "日本", "🎉", "1e3"]),
    st.sampled_from(["", "a", "b", ",", " ", "é", "3"]),
    st.booleans())

@st.composite
def expr_programs(draw):
    """One typed expression in a head, one bool expression as a filter, over rows of every type."""
    t = draw(st.sampled_from(["int", "float", "str", "bool"]))
    e = draw(expr(t, draw(st.integers(1, 3))))
    cond = draw(expr("bool", draw(st.integers(0, 2))))
    src = ("input p(k: int, i: int, j: int, x: float, y: float, s: str, t: str, b: bool)\n"
           f"output o(k: int, v: {t})\noutput f(k: int)\n"
           f"o(k, {e}) :- p(k, i, j, x, y, s, t, b).\n"
           f"f(k) :- p(k, i, j, x, y, s, t, b), {cond}.\n")
    rows = draw(st.lists(EXPR_ROW, min_size=1, max_size=6))
    return src, {"p": [(k, *r) for k, r in enumerate(rows)]}


@settings(max_examples=n(300), **SETTINGS)
@given(expr_programs())
def test_random_expressions(prog) -> None:
    source, rows = prog
    check_parity(source, rows)
