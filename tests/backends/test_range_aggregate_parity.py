"""`range_aggregate` gives the rows of the plan it replaces: every program here runs with the
pass (interp, cpu, the worker pool) and without it (the interpreter over the correlated join,
the oracle), on every comparison, with duplicates, ties, empty groups, keys the right side
lacks, several keys, string keys, floats and NaN, inside a recursion, and on random events."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dfl
from dfl.api import Program
from dfl.compiler.lower import lower
from dfl.compiler.passes.range_aggregates import range_aggregates
from dfl.compiler.pipeline import PASSES, optimize
from dfl.lang.check import check
from dfl.lang.parser import parse

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/backends: rows_equal
from test_parity import rows_equal  # noqa: E402

CMPS = ["<", "<=", ">", ">="]


def unrewritten(src: str) -> Program:
    """The program as compiled before the pass existed: the correlated join, filter, aggregate."""
    checked = check(parse(src))
    return Program(checked, optimize(lower(checked), tuple(p for p in PASSES if p is not range_aggregates)))


def _ops(g) -> list[str]:
    return [m.op for n in g.nodes for m in ([n] + (list(n.attr("body").nodes) if n.op == "fixpoint" else []))]


def agree(src: str, targets=("interp", "cpu"), **rows) -> dict:
    """Runs src with the pass on each target and without it on the interpreter; the same rows."""
    prog = dfl.compile(src)
    assert "range_aggregate" in _ops(prog.graph), "the pass did not fire: the test checks nothing"
    want = unrewritten(src).run(target="interp", **rows)
    for target in targets:
        got = prog.run(target=target, **rows) if target != "pool" else prog.run(workers=2, **rows)
        for rel in want:
            assert rows_equal(got[rel], want[rel]), f"{target}, {rel}:\n  got  {got[rel]}\n  want {want[rel]}"
    return {rel: want[rel] for rel in want}


# duplicates (the same t twice with different w), ties with the bounds, a user with one
# event, a user only the queries have, a bound below and above every event
EV = [(1, 5, 2), (1, 5, 3), (1, 7, -4), (1, 9, 1), (1, 9, 1), (2, 4, 10), (3, 1, 0), (3, 3, 8), (3, 8, 5)]
Q = [(1, 5), (1, 6), (1, 9), (1, 0), (1, 100), (2, 4), (2, 3), (2, 5), (3, 3), (4, 3)]

INTS = """input ev(u: int, t: int, w: int)
input q(u: int, ts: int)
output o(u: int, ts: int, p: int)
o(u, ts, p) :- q(u, ts), p = {agg} : {{ ev(u, t, w), {cond} }}."""


@pytest.mark.parametrize("cmp", CMPS)
@pytest.mark.parametrize("agg", ["min t", "max t", "count", "sum t", "min w", "max w", "sum w"])
def test_every_comparison_and_aggregate(cmp: str, agg: str) -> None:
    out = agree(INTS.format(agg=agg, cond=f"t {cmp} ts"), ev=EV, q=Q)
    if agg == "count":  # an empty set counts 0: a row for every query
        assert len(out["o"]) == len(set(Q))


@pytest.mark.parametrize("cmp", CMPS)
def test_the_comparison_written_the_other_way_round(cmp: str) -> None:
    agree(INTS.format(agg="max t", cond=f"ts {cmp} t"), ev=EV, q=Q)


@pytest.mark.parametrize("extra", ["t > 4", "w != 1", "ts > 3", "u = 1"])
def test_tests_of_one_side_inside_the_braces_still_qualify(extra: str) -> None:
    agree(INTS.format(agg="count", cond=f"t < ts, {extra}"), ev=EV, q=Q)
    agree(INTS.format(agg="max t", cond=f"t >= ts, {extra}"), ev=EV, q=Q)


def test_max_below_is_the_predecessor_and_an_empty_set_no_row() -> None:
    out = agree(INTS.format(agg="max t", cond="t < ts"), ev=EV, q=Q)
    assert out["o"] == [(1, 6, 5), (1, 9, 7), (1, 100, 9), (2, 5, 4), (3, 3, 1)]


@pytest.mark.parametrize("cond", ["t > ts - 3, t <= ts", "t >= ts - 3, t < ts", "ts - 2 <= t, ts + 1 > t",
                                  "t < ts + 1, t >= ts", "t < ts - 2", "t >= ts + 2", "t > ts - 100, t < ts - 99",
                                  "t > ts + 1, t < ts - 1"])  # the last: a lower bound above the upper
@pytest.mark.parametrize("agg", ["count", "sum w", "min t", "max t"])
def test_windows_and_computed_bounds(cond: str, agg: str) -> None:
    agree(INTS.format(agg=agg, cond=cond), ev=EV, q=Q)


def test_a_window_over_floats() -> None:
    src = """input ev(u: int, t: float)
input q(u: int, ts: float)
output o(u: int, ts: float, n: int, lo: float)
o(u, ts, n, lo) :- q(u, ts), n = count : { ev(u, t), t > ts - 1.5, t <= ts }, lo = min t : { ev(u, t), t >= ts - 0.5, t < ts + 2.0 }."""
    nan = float("nan")
    agree(src, ev=[(1, 0.5), (1, 1.0), (1, 2.25), (1, nan), (2, -1.0)], q=[(1, 1.0), (1, 2.5), (1, nan), (2, 0.0), (3, 1.0)])


def test_empty_inputs() -> None:
    agree(INTS.format(agg="count", cond="t < ts"), ev=[], q=Q)
    agree(INTS.format(agg="max t", cond="t < ts"), ev=EV, q=[])


def test_the_sessions_program() -> None:
    src = """input event(u: int, ts: int)
output session(u: int, start: int)
session(u, ts) :- event(u, ts), p = max t : { event(u, t), t < ts }, ts - p > 1800.
session(u, ts) :- event(u, ts), m = min t : event(u, t), ts = m."""
    ev = [(u, t) for u in range(3) for t in (0, 100, 2000, 2100, 5000 + u, 5001 + u)] + [(9, 7)]
    out = agree(src, targets=("interp", "cpu", "pool"), event=ev)
    assert out["session"] == [(0, 0), (0, 2000), (0, 5000), (1, 0), (1, 2000), (1, 5001), (2, 0), (2, 2000),
                              (2, 5002), (9, 7)]


def test_several_keys_and_string_keys() -> None:
    src = """input ev(a: str, b: int, t: int, w: int)
input q(a: str, b: int, ts: int)
output lo(a: str, b: int, ts: int, p: int)
output n(a: str, b: int, ts: int, k: int)
output s(a: str, b: int, ts: int, k: int)
lo(a, b, ts, p) :- q(a, b, ts), p = min w : { ev(a, b, t, w), t >= ts }.
n(a, b, ts, k) :- q(a, b, ts), k = count : { ev(a, b, t, _), t <= ts }.
s(a, b, ts, k) :- q(a, b, ts), k = sum w : { ev(a, b, t, w), t > ts }."""
    ev = [("x", 1, 1, 4), ("x", 1, 2, 3), ("x", 2, 1, 9), ("é", 1, 5, 1), ("é", 1, 5, 2), ("", 0, 0, 0)]
    q = [("x", 1, 1), ("x", 2, 0), ("x", 3, 1), ("é", 1, 5), ("é", 1, 4), ("", 0, 0), ("y", 1, 1)]
    agree(src, targets=("interp", "cpu", "pool"), ev=ev, q=q)


def test_floats_ties_and_nan() -> None:
    src = """input ev(u: int, t: float, w: float)
input q(u: int, ts: float)
output mx(u: int, ts: float, p: float)
output mn(u: int, ts: float, p: float)
output n(u: int, ts: float, k: int)
mx(u, ts, p) :- q(u, ts), p = max w : { ev(u, t, w), t < ts }.
mn(u, ts, p) :- q(u, ts), p = min t : { ev(u, t, w), t >= ts }.
n(u, ts, k) :- q(u, ts), k = count : { ev(u, t, _), t <= ts }."""
    nan = float("nan")
    ev = [(1, 0.5, 1.5), (1, 0.5, 2.5), (1, 1.25, -3.0), (1, nan, 9.0), (2, -1e300, 1.0), (2, 1e300, 2.0)]
    q = [(1, 0.5), (1, 1.25), (1, 2.0), (1, nan), (2, 0.0), (2, float("inf")), (3, 1.0)]
    agree(src, ev=ev, q=q)


@pytest.mark.parametrize("agg", ["max t", "min w", "count", "sum w"])
def test_ints_of_the_whole_64_bit_range(agg: str) -> None:
    # values too far apart to pack with the key: the cpu target sorts them by rank instead;
    # int sums wrap at 64 bits on both sides of the difference of running sums
    big, small = (1 << 63) - 1, -(1 << 63)
    ev = [(1, small, big), (1, -1, big), (1, 0, 5), (1, big, 1), (2, big - 1, small), (2, big, -1)]
    q = [(1, small), (1, 0), (1, big), (2, big), (2, small), (3, 0)]
    # values 2**59 apart: they pack with the key, but leave no room for the row number beside
    # them in one int64 (the cpu target then argsorts instead of sorting)
    far = [(u, t, w) for u in (1, 2) for t, w in ((0, 3), (1 << 59, 4), ((1 << 59) + 1, -2))]
    far_q = [(1, 1), (1, 1 << 59), (2, (1 << 59) + 5), (2, -1)]
    for cmp in CMPS:
        agree(INTS.format(agg=agg, cond=f"t {cmp} ts"), ev=ev, q=q)
        agree(INTS.format(agg=agg, cond=f"t {cmp} ts"), ev=far, q=far_q)


def test_a_correlated_aggregate_inside_a_recursion() -> None:
    src = """input e(u: int, t: int)
input start(u: int, t: int)
output r(u: int, t: int)
r(u, t) :- start(u, t).
r(u, p) :- r(u, t), p = max s : { e(u, s), s < t }."""
    e = [(u, t) for u in range(3) for t in range(0, 30, u + 2)]
    agree(src, e=e, start=[(0, 29), (1, 12), (2, 3), (5, 1)])


EVENTS = st.lists(st.tuples(st.integers(0, 3), st.integers(-3, 6), st.integers(-5, 5)), max_size=25)
QUERIES = st.lists(st.tuples(st.integers(0, 4), st.integers(-4, 7)), max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=EVENTS, q=QUERIES, cmp=st.sampled_from(CMPS + ["flipped " + c for c in CMPS]),
       agg=st.sampled_from(["min t", "max t", "count", "sum w", "min w", "max w"]),
       window=st.sampled_from(["", "t > ts - 3", "t <= ts + 2", "ts - 1 <= t", "t < ts + 1"]))
def test_random_events(ev, q, cmp: str, agg: str, window: str) -> None:
    cond = f"ts {cmp.split()[1]} t" if cmp.startswith("flipped") else f"t {cmp} ts"
    below = cmp in (">", ">=", "flipped <", "flipped <=")  # t bounded from below
    if agg in ("min w", "max w") or below == window.startswith(("t >", "ts - 1")):
        window = ""  # a window's min/max of another column, two bounds from one side: the plain plan
    agree(INTS.format(agg=agg, cond=cond + (f", {window}" if window else "")), ev=ev, q=q)


def test_the_physical_plan_shows_the_sorted_plan(tmp_path: Path, dfl_cli) -> None:
    prog = tmp_path / "s.dfl"
    prog.write_text(INTS.format(agg="max t", cond="t < ts"))
    r = dfl_cli("compile", str(prog), "--emit", "plan")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    (line,) = [l for l in out.splitlines() if "range_aggregate(" in l]
    assert "sorted by (key, value)" in line and "running_extreme" in line
    assert "aggregate(" not in out.replace("range_aggregate(", "")
