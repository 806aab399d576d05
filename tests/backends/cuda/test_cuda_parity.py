"""The cuda backend against the interpreter, in numba's CUDA simulator: every targeted
program of test_parity.py (together they use every IR op and every builtin, which that
module checks), its run-time errors and float-sum limits, and edge values. The inputs are
those programs' own, a few rows each: the simulator runs about a thousand threads a second.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cuda_sim_check import cuda_unusable  # noqa: E402

_why = cuda_unusable()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/backends: the parity cases
import dfl  # noqa: E402
from dfl.errors import DflError  # noqa: E402
from test_parity import CASES, FLOAT_SUM_LIMITS, RUNTIME_ERRORS, Case, assert_same_results, load_case  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/: the examples
from test_examples import EXAMPLES, cases  # noqa: E402


def cuda_vs_interp(src: str, *, max_ticks=None, each_tick=False, **rows):
    ref = dfl.compile(src).run(target="interp", max_ticks=max_ticks, each_tick=each_tick, **rows)
    got = dfl.compile(src).run(target="cuda", max_ticks=max_ticks, each_tick=each_tick, **rows)
    assert_same_results(got, ref)
    return got


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_cuda_targeted_parity(case: Case) -> None:
    cuda_vs_interp(case.src, max_ticks=case.max_ticks, each_tick=case.each_tick, **case.rows)


@pytest.mark.parametrize("case", cases(EXAMPLES), ids=lambda c: c.name)
def test_cuda_example_agrees_with_interp(case: Path) -> None:
    """Every example through the Python API, every tick (their inputs are small)."""
    loaded = load_case(case)
    if loaded is None:
        return
    prog, kw = loaded
    ref = prog.run(target="interp", each_tick=True, **kw)
    got = dfl.load(case / "prog.dfl").run(target="cuda", each_tick=True, **kw)
    assert_same_results(got, ref, case.name)


@pytest.mark.parametrize("name,src,rows", RUNTIME_ERRORS, ids=[e[0] for e in RUNTIME_ERRORS])
def test_cuda_runtime_errors(name: str, src: str, rows: dict) -> None:
    """An error where the interpreter has one, with the cpu target's message (the host replays
    a failed kernel's steps on the cpu evaluator) and the rule's span."""
    msgs = {}
    for target in ("interp", "cpu", "cuda"):
        with pytest.raises(DflError) as info:
            dfl.compile(src).run(target=target, **rows)
        assert info.value.kind == "runtime", (target, info.value.message)
        msgs[target] = info.value
    assert msgs["cuda"].message == msgs["cpu"].message
    assert msgs["cuda"].span == msgs["interp"].span


@pytest.mark.parametrize("name,src,rows,want", FLOAT_SUM_LIMITS, ids=[e[0] for e in FLOAT_SUM_LIMITS])
def test_cuda_float_sums_at_the_limits(name: str, src: str, rows: dict, want) -> None:
    got = cuda_vs_interp(src, **rows)
    if want is None:
        assert len(got["o"]) == 1 and math.isnan(got["o"][0][0])
    else:
        assert got["o"] == want


def test_cuda_guarded_errors_do_not_fire() -> None:
    cuda_vs_interp("""
        input n(x: int, s: str, f: float)
        output o(a: int, b: int, c: float, d: float, e: int, g: int)
        o(if x != 0 then 10 // x else 0, if x != 0 then 10 % x else 0,
          if f > 0.0 then log(f) else 0.0, if f >= 0.0 then sqrt(f) else 0.0,
          if s != "bad" then to_int(s) else -1, if x >= 0 then pow(2, x) else 0) :- n(x, s, f).""",
                   n=[(0, "bad", -1.0), (2, "5", 4.0), (-1, " 3", 0.0)])


def test_cuda_message_is_the_cpu_targets() -> None:
    src = "input n(x: int)\noutput o(q: int)\n\no(10 // x) :- n(x)."
    with pytest.raises(DflError) as info:
        dfl.compile(src).run(target="cuda", n=[(3,), (0,)])
    assert "division by zero" in info.value.message
    assert info.value.span is not None and info.value.span.line == 4


NAN = float("nan")
EDGES = [  # the edge values of test_parity's NaN and wrap tests, and aggregates over them
    ("nan_values", """
        input f(i: int, x: float)
        output o(i: int, lt: bool, eq: bool, ne: bool, a: float, n: float, h: int, t: str)
        output s(i: int, s: float)
        o(i, x < 1.0, x = x, x != x, abs(x), -x, hash(x), to_str(x)) :- f(i, x).
        s(i, sqrt(x)) :- f(i, x), i < 4.""", {"f": [(1, NAN), (2, 2.0), (3, math.inf), (4, -math.inf)]}),
    ("nan_min_max_builtins", """
        input f(i: int, x: float)
        output mm(i: int, lo: float, hi: float, lo2: float, hi2: float)
        mm(i, min(x, 1.0), max(x, 1.0), min(1.0, x), max(1.0, x)) :- f(i, x).""",
     {"f": [(1, NAN), (2, 2.0), (3, math.inf)]}),
    ("nan_log", "input f(x: float)\noutput o(l: float)\no(log(x)) :- f(x).", {"f": [(NAN,), (1.0,)]}),
    ("nan_from_arithmetic", """
        input f(x: float)
        output o(x: float, m: float, n: float)
        o(x, max(1.0, y), min(1.0, y)) :- f(x), y = exp(x) - exp(x).""", {"f": [(1000.0,), (0.0,)]}),
    ("floor_ceil_wrap", """
        input f(x: float)
        output o(x: float, a: int, b: int, c: int)
        o(x, floor(x), ceil(x), to_int(x)) :- f(x).""", {"f": [(1e19,), (-1e19,), (9.3e18,), (1.5e20,), (2.5,)]}),
    ("int_wrap_and_hash", """
        input n(i: int, x: int)
        output o(i: int, a: int, b: int, c: int, h: int, p: int)
        output g(s: int, lo: int, hi: int, m: float)
        o(i, x + x, x * 3, -x, hash(x), pow(x, 3)) :- n(i, x).
        g(sum(x), min(x), max(x), mean(x)) :- n(_, x).""",
     {"n": list(enumerate([(1 << 63) - 1, -(1 << 63), 0, 1, -1, 12345678901, 1 << 62]))}),
    ("signed_zero_keys", """
        input f(i: int, x: float)
        output d(x: float)
        output c(x: float, n: int)
        d(x) :- f(_, x).
        c(x, count()) :- f(_, x).""", {"f": [(1, 0.0), (2, -0.0), (3, 1.5)]}),
]


@pytest.mark.parametrize("name,src,rows", EDGES, ids=[e[0] for e in EDGES])
def test_cuda_edge_values(name: str, src: str, rows: dict) -> None:
    cuda_vs_interp(src, **rows)
