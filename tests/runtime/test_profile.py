"""The profiler (runtime/profile.py) counts what the interpreter derives: rows in and out of
joins, a fixpoint's iterations, its deltas and each rule's new rows, the same on interp and
cpu; and a run without it is untouched (nothing timed, nothing held)."""
from __future__ import annotations

import random
import textwrap

import pytest

import dfl
from dfl.runtime import profile as profile_mod
from dfl.runtime.options import RunOptions
from dfl.runtime.profile_report import profile_json

TARGETS = ["interp", "cpu"]

JOIN = """
input a(x: int, y: int)
input b(y: int, z: int)
output out(x: int, z: int)
out(x, z) :- a(x, y), b(y, z).
"""

LINEAR_TC = """
input edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""

# not a shape the cpu backend has a kernel for: general semi-naive on both targets
NONLINEAR_TC = """
input edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), path(y, z).
"""

# two recursive rules into one relation, one of them a lattice (min label)
# the filter keeps the cpu target on the generic loop (without it, connected components is
# the `min_label` shape, run by one search per seed: no iterations to break down)
CC = """
input edge(a: int, b: int)
output cc(x: int, l: min<int>)
cc(x, x) :- edge(x, _).
cc(x, x) :- edge(_, x).
cc(y, l) :- cc(x, l), edge(x, y), y != -1.
cc(y, l) :- cc(x, l), edge(y, x).
"""

SG = """
input edge(p: int, c: int)
output sg(x: int, y: int)
sg(x, y) :- edge(p, x), edge(p, y), x != y.
sg(x, y) :- edge(a, x), sg(a, b), edge(b, y).
"""


def _prog(src: str) -> tuple[dfl.Program, str]:
    text = textwrap.dedent(src).lstrip()
    return dfl.compile(text), text


def _profiled(src: str, target: str, **rows):
    prog, text = _prog(src)
    res = prog.run_with(RunOptions(target=target, profile=True), rows)
    return res, profile_json(res.profile, text)


def _rule(data: dict, line: int) -> dict:
    (r,) = [r for r in data["rules"] if r["line"] == line]
    return r


def _chain(n: int) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(n)]


def _tree(n: int) -> list[tuple[int, int]]:
    """A random forest: each node's parent is an earlier node (same generation recurses)."""
    rnd = random.Random(3)
    return [(rnd.randrange(i), i) for i in range(1, n)]


@pytest.mark.parametrize("target", TARGETS)
def test_a_joins_rows_in_and_out_are_its_inputs_and_its_pairs(target: str) -> None:
    a = [(i, i % 7) for i in range(60)]
    b = [(j % 9, j) for j in range(25)] + [(100, 1)]
    pairs = sum(1 for _, y in a for y2, _ in b if y == y2)
    res, data = _profiled(JOIN, target, a=a, b=b)
    rule = _rule(data, 4)
    assert rule["text"] == "out(x, z) :- a(x, y), b(y, z)."
    (join,) = rule["joins"]
    assert sorted(join["rows_in"]) == sorted([len(a), len(b)])
    assert join["rows_out"] == pairs and rule["derived"] == pairs
    assert len(res["out"]) == len({(x, z) for x, y in a for y2, z in b if y == y2})
    assert rule["new"] is None  # not recursive: no relation it adds to across iterations


def test_a_linear_closure_over_a_chain_takes_n_iterations_with_shrinking_deltas() -> None:
    n = 12
    res, data = _profiled(LINEAR_TC, "interp", edge=_chain(n))
    (fx,) = data["fixpoints"]
    assert fx["strategy"] == "semi-naive" and fx["seed"] == {"path": n} and fx["runs"] == 1
    assert [it["iteration"] for it in fx["iterations"]] == list(range(1, n + 1))
    # paths of length k+1 are new in iteration k; the last iteration finds none
    assert [it["delta"]["path"] for it in fx["iterations"]] == list(range(n - 1, -1, -1))
    rec = _rule(data, 4)
    assert rec["scope"] == fx["node"] and rec["new"] == n * (n + 1) // 2 - n
    assert rec["joins"][0]["calls"] == n
    assert res.stats["iterations"] == n


def test_the_cpu_target_names_the_closure_kernel_it_ran() -> None:
    res, data = _profiled(LINEAR_TC, "cpu", edge=_chain(12))
    (fx,) = data["fixpoints"]
    assert fx["strategy"] == "closure (parallel BFS)" and fx["iterations"] == []
    assert data["strategies"]["closures"]["count"] == 1
    assert len(res["path"]) == 12 * 13 // 2


@pytest.mark.parametrize("src,rel,rows", [
    (NONLINEAR_TC, "path", {"edge": _chain(40)}),
    (CC, "cc", {"edge": [(i, i + 1) for i in range(30) if i % 7] + [(50, 3), (9, 60)]}),
    (SG, "sg", {"edge": _tree(70)}),
], ids=["nonlinear_tc", "cc_min", "same_generation"])
def test_iterations_deltas_and_rule_news_agree_on_interp_and_cpu(src: str, rel: str, rows: dict) -> None:
    runs = {t: _profiled(src, t, **rows) for t in TARGETS}
    per = {}
    for t, (res, data) in runs.items():
        (fx,) = data["fixpoints"]
        assert fx["strategy"] == "semi-naive"
        deltas = [it["delta"][rel] for it in fx["iterations"]]
        assert deltas[-1] == 0 and all(deltas[:-1])
        # the relation's rows: the seed and every delta (a lattice key counts once per improvement)
        if rel != "cc":
            assert fx["seed"][rel] + sum(deltas) == len(res[rel])
        recursive = [r for r in data["rules"] if r["scope"] == fx["node"] and r["new"] is not None]
        assert recursive and sum(r["new"] for r in recursive) == sum(deltas)
        assert all(r["new"] <= r["derived"] for r in recursive)
        derived = [it["derived"][rel] for it in fx["iterations"]]
        assert sum(r["derived"] for r in recursive) == sum(derived)
        per[t] = (fx["seed"], [it["delta"] for it in fx["iterations"]],
                  sorted((r["line"], r["new"]) for r in data["rules"]))
    assert per["interp"] == per["cpu"]
    assert runs["interp"][0][rel] == runs["cpu"][0][rel]
    # the cpu target's joins that feed their relation produce only rows it lacks (claim_join.py):
    # never more rows than the interpreter derives, and here (duplicates galore) fewer
    derived = {t: [it["derived"][rel] for it in data["fixpoints"][0]["iterations"]] for t, (_, data) in runs.items()}
    assert all(c <= i for c, i in zip(derived["cpu"], derived["interp"]))


def test_index_builds_inside_a_fixpoint_are_counted_on_cpu() -> None:
    res, data = _profiled(NONLINEAR_TC, "cpu", edge=_chain(30))
    (fx,) = data["fixpoints"]
    inside = [x for x in data["indexes"] if x["scope"] == fx["node"]]
    assert inside and all(x["builds"] >= 1 and x["seconds"] >= 0 for x in inside)
    # the full relation's index grows with it: at least every row of path is indexed once
    assert sum(x["rows"] for x in inside) >= len(res["path"])


@pytest.mark.parametrize("target", TARGETS)
def test_operators_cover_the_whole_run(target: str) -> None:
    _, data = _profiled(SG, target, edge=[(1, 2), (1, 3), (2, 4), (3, 5)])
    top = [o for o in data["operators"] if o["scope"] is None]
    assert {o["op"] for o in top} >= {"source", "fixpoint", "sink"}
    assert data["nodes_s"] <= data["wall_s"]
    body = [o for o in data["operators"] if o["scope"] is not None]
    assert body and all(o["calls"] >= 1 for o in body)


@pytest.mark.parametrize("target", TARGETS)
def test_without_stats_nothing_is_timed_and_the_results_are_the_same(target: str, monkeypatch) -> None:
    prog, _ = _prog(SG)
    rows = {"edge": [(i % 5, i) for i in range(20)]}
    profiled = prog.run_with(RunOptions(target=target, profile=True), rows)

    class NoClock:
        def perf_counter(self) -> float:
            raise AssertionError("the profiler timed something in a run without --stats")

    monkeypatch.setattr(profile_mod, "time", NoClock())
    monkeypatch.setattr(profile_mod.Profile, "measure", NoClock.perf_counter)
    plain = prog.run_with(RunOptions(target=target), rows)
    assert plain.profile is None and profile_mod.ACTIVE is None
    assert plain["sg"] == profiled["sg"] and plain.stats == profiled.stats
    assert all(getattr(p, "profile", None) is None for p in prog._plans.values())


@pytest.mark.parametrize("scale", [1, 1 << 40], ids=["small_ids", "wide_values"])
def test_new_rows_are_credited_to_the_first_rule_on_columns_as_on_tuples(scale: int) -> None:
    import numpy as np

    from dfl.backends.columnar.table import Table
    from dfl.runtime.profile_rows import claim

    rnd = random.Random(scale)
    rows = lambda k: [(rnd.randrange(20) * scale, rnd.randrange(-5, 5)) for _ in range(k)]  # noqa: E731
    delta, rules = list(set(rows(40))), [rows(30), [], rows(50) + [(10 ** 15, 1)], rows(30)]
    table = lambda rs: Table([np.array([r[j] for r in rs], np.int64) for j in range(2)], len(rs))  # noqa: E731
    expect = claim(delta, [[r] for r in rules])
    assert sum(expect) <= len(delta) and expect[1] == 0 and expect[0] > 0
    assert claim(table(delta), [[table(r)] for r in rules]) == expect
    assert claim(table(delta), [[None], [table(rules[0])]]) == [0, expect[0]]
    # a rule's delta variants together: the union of their rows
    both = claim(delta, [rules[:1] + rules[2:3], rules[3:]])
    assert both[0] == expect[0] + expect[2]
    assert claim(table(delta), [[table(rules[0]), table(rules[2])], [table(rules[3])]]) == both


def test_crediting_agrees_whichever_way_rows_are_matched(monkeypatch) -> None:
    """Small value ranges use a byte table, larger ones sorted int64 codes: same counts."""
    import numpy as np

    from dfl.backends.columnar.table import Table
    from dfl.runtime import profile_rows

    rnd = random.Random(7)
    rows = lambda k: [(rnd.randrange(50), rnd.randrange(50)) for _ in range(k)]  # noqa: E731
    delta, rules = list(set(rows(300))), [[rows(200)], [rows(100), rows(100)], [], [rows(400)]]
    table = lambda rs: Table([np.array([r[j] for r in rs], np.int64) for j in range(2)], len(rs))  # noqa: E731
    expect = profile_rows.claim(delta, rules)
    cols = lambda: profile_rows.claim(table(delta), [[table(r) for r in vs] for vs in rules])  # noqa: E731
    assert cols() == expect
    monkeypatch.setattr(profile_rows, "TABLE_MAX", 0)
    assert cols() == expect


TICKED = """
table   known(a: int, b: int)
channel link(a: int, b: int)
output  path(a: int, b: int)
next known(a, b) :- link(a, b).
path(x, y) :- known(x, y).
path(x, z) :- path(x, y), path(y, z).
"""


@pytest.mark.parametrize("target", TARGETS)
def test_a_fixpoint_runs_once_per_tick_and_its_iterations_say_which(target: str) -> None:
    prog, text = _prog(TICKED)
    # one edge of the chain 1-2-3-4 arrives per tick; `known` keeps them
    res = prog.run_with(RunOptions(target=target, profile=True), {"link": [(0, 1, 2), (1, 2, 3), (2, 3, 4)]})
    (fx,) = profile_json(res.profile, text)["fixpoints"]
    assert fx["runs"] == res.ticks == 4
    assert [(it["run"], it["iteration"]) for it in fx["iterations"]] == [(1, 1), (2, 1), (3, 1), (3, 2), (4, 1),
                                                                         (4, 2), (4, 3)]
    # each run: its seed (the edges known) and its deltas give that tick's paths: 0, 1, 3, 6
    assert fx["seed"]["path"] + sum(it["delta"]["path"] for it in fx["iterations"]) == 0 + 1 + 3 + 6
