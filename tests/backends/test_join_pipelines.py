"""Fused join pipelines (backends/cpu/pipeline.py): the same results as the interpreter.

Every pipeline here is forced onto the fused path (DFL_FUSE_MIN_ROWS=0) and each test
checks that it ran fused (the run's `pipelines` stat), so a silent fallback to the node by
node path cannot pass for the fused loop. Shapes: join + filter + map + group-by (every
aggregate, groups from the build side and hashed), join + output, self-join, string keys
and string order, float keys with -0.0 and NaN, empty sides, duplicate build keys,
multi-column keys, a global aggregate, division by zero, the parallel loop, and random
data through hypothesis.
"""
from __future__ import annotations

import math
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dfl
from dfl.backends.cpu import pipeline

sys.path.insert(0, os.path.dirname(__file__))
from test_parity import assert_same_results  # noqa: E402


@pytest.fixture(autouse=True)
def fuse_everything(monkeypatch, tmp_path):
    monkeypatch.setenv("DFL_FUSE_MIN_ROWS", "0")
    monkeypatch.setenv("DFL_CACHE_DIR", str(tmp_path / "cache"))


def fused_parity(src: str, **rows) -> dict:
    """Runs src on cpu (a pipeline fused) and on the interpreter; returns interp's result."""
    prog = dfl.compile(src)
    assert pipeline.find_pipelines(prog.graph), "the program has no join pipeline"
    cpu = prog.run(target="cpu", **rows)
    ref = dfl.compile(src).run(target="interp", **rows)
    assert_same_results(cpu, ref)
    assert cpu.stats.get("pipelines", 0) >= 1, f"no pipeline ran fused: {cpu.stats}"
    return ref


FACT = [(i, i % 13, (i * 37) % 101 - 20, (i % 7) * 0.5 - 1.25) for i in range(400)]
DIM = [(d, d % 4, d * 3 % 11, f"g{d % 5}") for d in range(0, 13)] + [(13, 0, 1, "none")]
HEAD = ("input fact(id: int, d: int, v: int, f: float)\n"
        "input dim(d: int, c: int, w: int, s: str)\n")


def test_join_filter_map_group_by_with_every_aggregate() -> None:
    ref = fused_parity(HEAD + "output o(c: int, n: int, s: int, m: float, lo: int, hi: int, sf: float, mf: float)\n"
                       "o(c, count(), sum(x), mean(x), min(x), max(x), sum(f), mean(f)) :- "
                       "fact(_, d, v, f), dim(d, c, w, _), v >= 0, w < 9, x = v * 2 - w.",
                       fact=FACT, dim=DIM)
    assert ref["o"]


def test_groups_hashed_from_probe_side_columns() -> None:
    fused_parity(HEAD + "output o(k: int, b: bool, n: int, s: float, lo: str, hi: str)\n"
                 "o(v % 5, v > 10, count(), sum(f), min(s), max(s)) :- fact(_, d, v, f), dim(d, _, _, s).",
                 fact=FACT, dim=DIM)


def test_group_by_a_float_key_and_a_bool_min() -> None:
    fused_parity(HEAD + "output o(f: float, n: int, b: bool)\n"
                 "o(f, count(), min(v > 3)) :- fact(_, d, v, f), dim(d, _, _, _).",
                 fact=FACT, dim=DIM)


def test_a_global_aggregate() -> None:
    fused_parity(HEAD + "output o(n: int, s: int)\no(count(), sum(v)) :- fact(_, d, v, _), dim(d, _, w, _), w > 2.",
                 fact=FACT, dim=DIM)


def test_join_then_output() -> None:
    fused_parity(HEAD + "output o(id: int, s: str, y: int)\n"
                 "o(id, s, y) :- fact(id, d, v, _), dim(d, c, w, s), v > c, y = v - w.",
                 fact=FACT, dim=DIM)


def test_self_join() -> None:
    fused_parity("input e(a: int, b: int)\noutput p(a: int, c: int)\np(a, c) :- e(a, b), e(b, c), a != c.",
                 e=[(i, (i * 7) % 30) for i in range(60)] + [(3, 3)])


def test_string_keys_and_order() -> None:
    fused_parity("input a(k: str, x: int)\ninput b(k: str, t: str)\noutput o(k: str, t: str, x: int)\n"
                 "o(k, t, x) :- a(k, x), b(k, t), t < k.",
                 a=[(s, i) for i, s in enumerate(["b", "a", "é", "", "zz", "b"])],
                 b=[("b", "a"), ("a", "b"), ("é", "z"), ("", ""), ("zz", "zy"), ("b", "ab")])


def test_float_keys_with_negative_zero_and_nan() -> None:
    vals = [0.0, -0.0, math.nan, 1.5, -1.5, math.inf]
    fused_parity("input a(k: float, x: int)\ninput b(k: float, y: int)\noutput o(x: int, y: int)\n"
                 "o(x, y) :- a(k, x), b(k, y).",
                 a=[(v, i) for i, v in enumerate(vals)], b=[(v, 10 + i) for i, v in enumerate(vals)])


@pytest.mark.parametrize("side", ["left", "right", "both"])
def test_empty_sides(side: str) -> None:
    fused_parity(HEAD + "output o(c: int, n: int)\no(c, count()) :- fact(_, d, v, _), dim(d, c, _, _).",
                 fact=[] if side in ("left", "both") else FACT, dim=[] if side in ("right", "both") else DIM)


def test_duplicate_build_keys_and_multi_column_keys() -> None:
    fused_parity("input a(k: int, j: str, x: int)\ninput b(k: int, j: str, y: int)\n"
                 "output o(x: int, y: int)\noutput s(j: str, n: int, t: int)\n"
                 "o(x, y) :- a(k, j, x), b(k, j, y).\n"
                 "s(j, count(), sum(y)) :- a(k, j, x), b(k, j, y).",
                 a=[(i % 4, "ab"[i % 2], i) for i in range(40)],
                 b=[(k, j, 100 * k + y) for k in range(5) for j in "abc" for y in range(3)])


def test_division_by_zero_in_a_pipeline_is_a_runtime_error() -> None:
    src = HEAD + "output o(c: int, s: int)\no(c, sum(q)) :- fact(_, d, v, _), dim(d, c, w, _), q = v // w."
    assert pipeline.find_pipelines(dfl.compile(src).graph)
    for target in ("cpu", "interp"):
        with pytest.raises(dfl.DflError) as e:
            dfl.compile(src).run(target=target, fact=FACT, dim=DIM)
        assert e.value.kind == "runtime" and "division by zero" in str(e.value)


def test_the_parallel_loop(monkeypatch) -> None:
    import numba

    if numba.get_num_threads() < 2:
        pytest.skip("one thread: the loop runs serially")
    monkeypatch.setattr(pipeline, "PARALLEL_ROWS", 0)
    fact = [(i, i % 13, (i * 37) % 101, 0.0) for i in range(5000)]
    fused_parity(HEAD + "output o(c: int, n: int, s: int)\no(c, count(), sum(v)) :- fact(_, d, v, _), dim(d, c, w, _).",
                 fact=fact, dim=DIM)
    prog = dfl.compile(HEAD + "output o(c: int)\no(c) :- fact(_, d, v, _), dim(d, c, w, _).")
    p = next(iter(pipeline.find_pipelines(prog.graph).values()))
    assert not pipeline.parallel_ok(p, True)  # an output: one loop


def test_below_the_threshold_it_runs_node_by_node(monkeypatch) -> None:
    monkeypatch.setenv("DFL_FUSE_MIN_ROWS", str(10 ** 9))
    src = HEAD + "output o(c: int, n: int)\no(c, count()) :- fact(_, d, v, _), dim(d, c, _, _)."
    res = dfl.compile(src).run(target="cpu", fact=FACT, dim=DIM)
    assert "pipelines" not in res.stats
    assert res["o"] == dfl.compile(src).run(target="interp", fact=FACT, dim=DIM)["o"]


def test_the_pipeline_shows_in_the_plan_and_in_llvm() -> None:
    from dfl.backends.cpu.physical import llvm_text, plan_text

    g = dfl.compile(HEAD + "output o(c: int, n: int)\no(c, count()) :- fact(_, d, v, _), dim(d, c, w, _), v > w.").graph
    p = next(iter(pipeline.find_pipelines(g).values()))
    assert p.agg is not None and p.join.op == "join"
    assert f"{p.last.id} = aggregate" in plan_text(g) and "fused join pipeline" in plan_text(g)
    llvm = llvm_text(g)
    assert "; ---- fused join pipeline" in llvm and "define" in llvm.split("; ---- fused join pipeline")[1]


ROW = st.tuples(st.integers(-3, 3), st.integers(-5, 5), st.sampled_from([0.0, -0.0, 1.5, math.nan, -2.0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(a=st.lists(ROW, max_size=30), b=st.lists(ROW, max_size=30))
def test_random_rows_agree_with_the_interpreter(a, b) -> None:
    src = ("input a(k: int, x: int, f: float)\ninput b(k: int, y: int, g: float)\n"
           "output o(k: int, x: int, y: int)\noutput s(y: int, n: int, t: int, u: float, lo: int)\n"
           "output h(f: float, n: int, m: float)\n"
           "o(k, x, y) :- a(k, x, _), b(k, y, _), x < y.\n"
           "s(y, count(), sum(x), sum(f), min(x)) :- a(k, x, f), b(k, y, _), x != 0.\n"
           "h(f, count(), mean(g)) :- a(k, _, f), b(k, _, g).")
    prog = dfl.compile(src)
    cpu = prog.run(target="cpu", a=a, b=b)
    assert_same_results(cpu, dfl.compile(src).run(target="interp", a=a, b=b))
    if a and b:
        assert cpu.stats.get("pipelines", 0) >= 1


def test_an_aggregate_feeding_a_join_stays_outside_its_side_chain() -> None:
    """Found by hypothesis: a body aggregate (min, no default) is a join's only input on
    one side, and was taken into that side's filter/map chain."""
    src = ("input e0(c0: int, c1: int)\noutput r(c0: int, c1: int)\n"
           "r(v, w) :- e0(v, _), w = min a : { e0(a, v), e0(b, b), a < 0 }, w > -9.")
    for p in pipeline.find_pipelines(dfl.compile(src).graph).values():
        assert all(n.op in ("filter", "map") for n in p.sides[0] + p.sides[1] + p.post)
    e0 = [(-1, 2), (-3, 2), (2, 2), (-2, -2), (0, 5)]
    assert_same_results(dfl.compile(src).run(target="cpu", e0=e0), dfl.compile(src).run(target="interp", e0=e0))


def test_groups_by_a_dimension_attribute_take_one_lookup() -> None:
    """The benchmark's shape: the key's slot holds the group (composite), and the result is
    the interpreter's, also when a dimension row matches no fact."""
    src = HEAD + "output o(c: int, n: int, s: int)\no(c, count(), sum(v)) :- fact(_, d, v, _), dim(d, c, w, _), w < 9."
    g = dfl.compile(src).graph
    p = next(iter(pipeline.find_pipelines(g).values()))
    lay = pipeline._Layout(True, (), (), pipeline.build_groups(p, True, 4), "unique")
    assert lay.build_groups and pipeline.composite(p, lay, 4)
    fused_parity(src, fact=[r for r in FACT if r[1] != 5], dim=DIM)
