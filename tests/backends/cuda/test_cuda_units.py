"""The cuda backend's own promises, in the simulator: the target is registered, an op it
lacks is named at compile time, columns stay on the device between operators (only the
inputs go up and the sinks come down, besides counters), string builtins run once per
distinct code, fixpoints iterate on the device, and group-by sums are exactly rounded."""
from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cuda_sim_check import cuda_unusable  # noqa: E402

_why = cuda_unusable()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

import dfl  # noqa: E402
from dfl.errors import DflError  # noqa: E402


def _plan(src: str):
    from dfl.backends import registry

    return registry.get("cuda").compile(dfl.compile(src).graph)


def test_registered_and_lowering_covers_every_op() -> None:
    from dfl.backends import registry
    from dfl.backends.cuda.ops import TABLE
    from dfl.ir.ops import OPS

    assert "cuda" in registry.names()
    assert set(TABLE) == set(OPS)


def test_missing_lowering_is_named_at_compile_time(monkeypatch) -> None:
    from dfl.backends.cuda import ops

    monkeypatch.delitem(ops.TABLE, "anti_join")
    with pytest.raises(DflError) as info:
        _plan("input a(x: int)\ninput b(x: int)\noutput o(x: int)\no(x) :- a(x), !b(x).")
    assert info.value.kind == "usage" and "anti_join" in info.value.message and "cuda" in info.value.message


def test_columns_stay_on_the_device() -> None:
    plan = _plan("""
        input e(a: int, b: int)
        output p(a: int, c: int)
        p(x, z) :- e(x, y), e(y, z), x != z.""")
    rows = [(1, 2), (2, 3), (3, 4)]
    res = plan.run({("input", "e"): rows})
    assert res.sinks["p"] == [(1, 3), (2, 4)]
    assert res.stats.get("fused_joins") == 1  # the probe ran the rule's condition and head
    st = plan.dev.stats
    # up: the input's two columns (plus the string ranks); down: counters (8 bytes each) and the sink
    assert st["h2d_bytes"] <= 2 * 8 * len(rows) + 64
    assert st["d2h_bytes"] <= 2 * 8 * 2 + 8 * 16


def test_string_builtins_once_per_distinct_code() -> None:
    from dfl.stdlib import builtins

    calls = []
    real = builtins.BUILTINS["upper"]
    plan = _plan("input w(i: int, s: str)\noutput o(i: int, u: str)\no(i, upper(s)) :- w(i, s).")
    import dataclasses

    spy = dataclasses.replace(real, impl=lambda s: calls.append(s) or real.impl(s))
    builtins.BUILTINS["upper"] = spy
    try:
        res = plan.run({("input", "w"): [(i, "ab" if i % 2 else "cd") for i in range(10)]})
    finally:
        builtins.BUILTINS["upper"] = real
    assert sorted(calls) == ["ab", "cd"]
    assert res.sinks["o"][0] == (0, "CD")


def test_fixpoint_iterates_on_the_device() -> None:
    plan = _plan("""
        input e(a: int, b: int)
        output r(a: int, b: int)
        r(x, y) :- e(x, y).
        r(x, z) :- r(x, y), e(y, z).""")
    chain = [(i, i + 1) for i in range(20)]  # 210 rows: the row set grows and rebuckets
    res = plan.run({("input", "e"): chain})
    assert sorted(res.sinks["r"]) == sorted((i, j) for i in range(21) for j in range(i + 1, 21))
    assert res.stats["iterations"] >= 19
    # nothing but counters came back during the iterations: the closure's rows once at the end
    assert plan.dev.stats["d2h_bytes"] < 210 * 16 + 8 * 1500


def test_float_sum_is_exactly_rounded_whatever_the_order() -> None:
    vals = [1e16, 1.0, -1e16, 3.14, 1e-3, -2.5, 7e15, 0.1] * 2
    random.Random(1).shuffle(vals)
    src = ("input n(i: int, g: int, x: float)\noutput o(g: int, s: float, m: float)\n"
           "o(g, sum(x), mean(x)) :- n(_, g, x).")
    rows = [(i, i % 2, v) for i, v in enumerate(vals)]
    got = dfl.compile(src).run(target="cuda", n=rows)["o"]
    for g, s, m in got:
        part = [v for i, v in enumerate(vals) if i % 2 == g]
        assert s == math.fsum(part) and m == math.fsum(part) / len(part)


def test_int_mean_beyond_2_53_is_exact() -> None:
    big = (1 << 62) + 1
    src = "input n(i: int, x: int)\noutput o(m: float)\no(mean(x)) :- n(_, x)."
    rows = [(0, big), (1, big), (2, 3)]
    assert dfl.compile(src).run(target="cuda", n=rows)["o"] == [((2 * big + 3) / 3,)]


def test_random_relations_agree_with_the_interpreter() -> None:
    """A few hundred random rows with many duplicates and collisions: joins, anti-joins,
    group-by with every aggregate, distinct, a closure and a min-lattice path."""
    rng = random.Random(7)
    e = [(rng.randrange(30), rng.randrange(30), rng.choice([0.5, -0.0, 0.0, 2.25, 1e300, -1e300]))
         for _ in range(150)]
    w = [(rng.randrange(25), rng.choice(["a", "b", "é", "", "zz", "B"])) for _ in range(60)]
    src = """
        input e(a: int, b: int, x: float)
        input w(i: int, s: str)
        output j(a: int, c: int)
        output n(a: int)
        output g(a: int, c: int, s: float, lo: float, hi: float, m: float, d: int)
        output t(a: int, b: int)
        output p(a: int, d: min<int>)
        output ws(s: str, c: int, lo: str, hi: str)
        j(a, c) :- e(a, b, _), e(b, c, _), a < c.
        n(a) :- e(a, _, _), !e(_, a, _).
        g(a, count(), sum(x), min(x), max(x), mean(x), sum(b)) :- e(a, b, x).
        t(a, b) :- e(a, b, _), a < 12, b < 12.
        t(a, c) :- t(a, b), e(b, c, _), c < 12.
        p(0, 0).
        p(b, d + 1) :- p(a, d), e(a, b, _).
        ws(upper(s), count(), min(s), max(s)) :- w(_, s)."""
    ref = dfl.compile(src).run(target="interp", e=e, w=w)
    got = dfl.compile(src).run(target="cuda", e=e, w=w)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from test_parity import assert_same_results

    assert_same_results(got, ref)


def test_the_worker_pool_runs_cuda_partitions() -> None:
    """The cuda executor (backends/cuda/executor.py) on a placed graph over two worker
    processes (simulated, as the parent): joins, aggregates, a closure, a min-lattice
    path, negation and a string builtin, as the interpreter gives them."""
    from dfl.compiler.placement import placement
    from dfl.runtime.dist.partitioned import PartitionedPlan
    from dfl.runtime.pools.pool import LocalPool

    src = """
        input e(a: int, b: int)
        input w(s: str)
        output p(a: int, c: int)
        output q(a: int, n: int)
        output r(a: int, b: int)
        output d(a: int, m: min<int>)
        output u(s: str)
        p(x, z) :- e(x, y), e(y, z), x + z > 2.
        q(x, count()) :- e(x, _).
        r(x, y) :- e(x, y).
        r(x, z) :- r(x, y), e(y, z).
        d(1, 0).
        d(y, m + 1) :- d(x, m), e(x, y).
        u(upper(s)) :- w(s), !e(1, 9)."""
    rows = {"e": [(1, 2), (2, 3), (3, 1), (3, 4), (5, 6)], "w": [("a",), ("b",)]}
    prog = dfl.compile(src)
    want = prog.run(target="interp", **rows)
    g = placement(prog.graph, 2).graph
    with LocalPool(2) as pool:
        res = PartitionedPlan(g, pool, 2, target="cuda").run({("input", k): v for k, v in rows.items()})
    for rel in ("p", "q", "r", "d", "u"):
        assert sorted(res.sinks[rel]) == sorted(want[rel]), rel
