"""Backend parity: the `cpu` backend computes what the reference interpreter (`interp`, the
semantic oracle) computes.

1. Every example (examples/*) and every case of the public acceptance suite
   (../shared/acceptance, skipped when absent) runs through `dfl run --target B` in-process,
   for B in BACKENDS, and is compared with the expected out/ CSVs (floats within 1e-9
   relative; error cases: the same exit status). The examples also run through the Python
   API on both backends, whose results must agree.
2. Targeted programs covering every IR operator, every expression op and builtin, and the
   edge cases where a columnar backend is most likely to differ (empty inputs, zero-column
   relations, unicode strings, string order by code point, bools, int64 wraparound, -0.0,
   guarded divisions, generators, negation, body aggregates over empty groups, lattices,
   recursion, ticks): the cpu results must equal the interpreter's exactly (floats approx).
3. Run-time errors raise `DflError` of kind "runtime" on both backends.
"""
from __future__ import annotations

import math
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import dfl
from dfl.errors import DflError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the helpers of test_examples

from test_examples import ACCEPTANCE, EXAMPLES, cases, cells_equal, check_exit_and_stderr  # noqa: E402
from test_examples import actual_files, expected_files, read_csv  # noqa: E402

BACKENDS = ["interp", "cpu"]
REL_TOL = 1e-9
ABS_TOL = 1e-12
INT_MAX = (1 << 63) - 1
INT_MIN = -(1 << 63)


# ---------------------------------------------------------------- comparing results


def values_equal(a, b) -> bool:
    """Same type and value; floats within REL_TOL (NaN equals NaN, -0.0 equals 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def rows_equal(got: list[tuple], want: list[tuple]) -> bool:
    return len(got) == len(want) and all(
        len(g) == len(w) and all(values_equal(x, y) for x, y in zip(g, w)) for g, w in zip(got, want))


def assert_rows(got: list[tuple], want: list[tuple], what: str) -> None:
    assert rows_equal(got, want), f"{what}:\n  got:      {got!r}\n  expected: {want!r}"


def assert_same_outcome(got: tuple, ref: tuple, what: str) -> None:
    """Two `outcome`s agree: the same results, or errors of the same kind."""
    assert got[0] == ref[0], f"{what}: {got} vs {ref}"
    if ref[0] == "ok":
        assert_same_results(got[1], ref[1], what)
    else:
        assert got[1] == ref[1]


def assert_same_results(cpu, ref, what: str = "") -> None:
    """cpu == interp: every output relation, the tick count, quiescence, and every tick's outputs."""
    assert sorted(cpu) == sorted(ref), f"{what}: output relations {sorted(cpu)} != {sorted(ref)}"
    for rel in ref:
        assert_rows(cpu[rel], ref[rel], f"{what} relation {rel!r} (cpu vs interp)")
    assert cpu.ticks == ref.ticks, f"{what}: cpu ran {cpu.ticks} ticks, interp {ref.ticks}"
    assert cpu.quiescent == ref.quiescent
    assert len(cpu.per_tick) == len(ref.per_tick)
    for t, (c, r) in enumerate(zip(cpu.per_tick, ref.per_tick)):
        for rel in r:
            assert_rows(c[rel], r[rel], f"{what} tick {t} relation {rel!r} (cpu vs interp)")


def run_both(src: str, expect: dict | None = None, *, max_ticks: int | None = None, each_tick: bool = False,
             **rows):
    """Runs src on both backends; asserts they agree (and match `expect` where given). Returns interp's."""
    prog = dfl.compile(src)
    ref = prog.run(target="interp", max_ticks=max_ticks, each_tick=each_tick, **rows)
    cpu = dfl.compile(src).run(target="cpu", max_ticks=max_ticks, each_tick=each_tick, **rows)
    assert_same_results(cpu, ref)
    for rel, want in (expect or {}).items():
        assert_rows(ref[rel], want, f"interp relation {rel!r} (vs the expected rows)")
    return ref


def load_case(case: Path):
    """A suite case's program and its run's input arguments; None for a case whose program
    does not compile (its expected outcome is that compile error)."""
    indir = case / "in"
    try:
        prog = dfl.load(case / "prog.dfl")
    except DflError as e:
        assert e.kind == "compile"
        return None
    return prog, ({"input_dir": str(indir)} if indir.is_dir() else {})


def outcome(prog, target: str, **rows):
    """('ok', result) or ('error', kind)."""
    try:
        return "ok", prog.run(target=target, **rows)
    except DflError as e:
        return "error", e.kind


def errors_on_both(src: str, kind: str = "runtime", contains: str | None = None, **rows) -> None:
    for target in BACKENDS:
        try:
            res = dfl.compile(src).run(target=target, **rows)
        except DflError as e:
            assert e.kind == kind, f"--target {target}: kind {e.kind!r}: {e.message}"
            if contains:
                assert contains in e.message, f"--target {target}: {e.message!r} lacks {contains!r}"
        else:
            pytest.fail(f"--target {target} raised no {kind} error; it gave {res.relations}")


# ---------------------------------------------------------------- 1. examples and acceptance, per backend


def _compare_with_expected(case: Path, tmp_path: Path, dfl_cli, backend: str) -> None:
    indir = case / "in"
    if not indir.is_dir():
        indir = tmp_path / "empty_in"
        indir.mkdir()
    outdir = tmp_path / "out"
    expect = __import__("json").loads((case / "expect.json").read_text(encoding="utf-8"))
    extra = [a.replace("{in}", str(indir)) for a in expect.get("args", [])]  # e.g. --messages {in}/messages.csv
    result = dfl_cli("run", case / "prog.dfl", "-I", indir, "-O", outdir, "--target", backend, *extra)
    if expect.get("exit", 0) != 0:  # error cases: the same exit status (the message is the front end's)
        assert result.returncode == expect["exit"], f"exit {result.returncode}; stderr:\n{result.stderr}"
        assert "Traceback" not in result.stderr
        return
    check_exit_and_stderr(result, expect)
    expected, actual = expected_files(case), actual_files(outdir)
    assert actual == expected, f"output files {actual}, expected {expected}"
    for name in expected:
        exp_rows, act_rows = read_csv(case / "out" / name), read_csv(outdir / name)
        assert act_rows and act_rows[0] == exp_rows[0], f"{name}: header {act_rows[:1]} != {exp_rows[:1]}"
        assert len(act_rows) == len(exp_rows), f"{name}: {len(act_rows) - 1} rows, expected {len(exp_rows) - 1}"
        for i, (e, a) in enumerate(zip(exp_rows[1:], act_rows[1:]), start=1):
            assert len(e) == len(a) and all(cells_equal(x, y) for x, y in zip(e, a)), \
                f"{name}: row {i} is {a}, expected {e} (--target {backend})"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", cases(EXAMPLES), ids=lambda c: c.name)
def test_example_on_backend(case: Path, backend: str, tmp_path: Path, dfl_cli) -> None:
    _compare_with_expected(case, tmp_path, dfl_cli, backend)


@pytest.mark.skipif(not ACCEPTANCE.is_dir(), reason="../shared/acceptance is not here")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", cases(ACCEPTANCE), ids=lambda c: c.name)
def test_acceptance_on_backend(case: Path, backend: str, tmp_path: Path, dfl_cli) -> None:
    _compare_with_expected(case, tmp_path, dfl_cli, backend)


@pytest.mark.parametrize("case", cases(EXAMPLES) + cases(ACCEPTANCE), ids=lambda c: c.name)
def test_api_results_agree(case: Path) -> None:
    """The Python API on both backends: the same rows (and ticks), or the same kind of error."""
    loaded = load_case(case)
    if loaded is None:
        return
    prog, kw = loaded
    ref = prog.run(target="interp", each_tick=True, **kw)
    cpu = dfl.load(case / "prog.dfl").run(target="cpu", each_tick=True, **kw)
    assert_same_results(cpu, ref, case.name)


def test_suites_found() -> None:
    assert len(cases(EXAMPLES)) >= 10


# ---------------------------------------------------------------- 2. targeted programs


@dataclass
class Case:
    id: str
    src: str
    rows: dict = field(default_factory=dict)
    expect: dict | None = None  # rows the interpreter must give (sanity of the case itself)
    max_ticks: int | None = None
    each_tick: bool = False

    def param(self):
        return pytest.param(self, id=self.id)


UNICODE = ["", "a", "B", "Z", "aa", "a,b", "é", "e\u0301", "ß", "日本語", "Ünïcödé, with, commas", "🎉 party",
           "\U0001F600", "\uffff", "quote\"d", "tab\there", "new\nline", " lead", "z", "İstanbul"]

GRAPH = [(1, 2), (2, 3), (3, 1), (3, 4), (5, 6), (6, 6), (7, 8)]
WEIGHTED = [(0, 1, 4), (0, 2, 1), (2, 1, 2), (1, 3, 1), (2, 3, 7), (3, 4, 3), (4, 0, 1), (5, 5, 0)]
EDGE_INTS = [INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1, 0, 1, -1, 2, -2, 3, 1 << 62, -(1 << 62), 12345678901]

CASES = [
    # ---- source / distinct / map / filter / sink, set semantics, empty inputs
    Case("copy_dedup", """
        input e(a: int, b: int)
        output p(a: int, b: int)
        p(x, y) :- e(x, y).""", {"e": [(3, 1), (1, 2), (3, 1), (2, 2)]},
         {"p": [(1, 2), (2, 2), (3, 1)]}),
    Case("empty_input_everything", """
        input e(a: int, b: int)
        input s(w: str)
        output p(a: int, c: int)
        output n(k: int)
        output agg(k: int, c: int, s: int, lo: int, hi: int, m: float)
        output tot(c: int)
        output neg(a: int)
        output gen(w: str)
        output lat(a: int, d: min<int>)
        p(x, z) :- e(x, y), e(y, z).
        n(c) :- c = count : e(_, _).
        agg(x, count(), sum(y), min(y), max(y), mean(y)) :- e(x, y).
        tot(count()) :- e(_, _).
        neg(x) :- e(x, _), !e(_, x).
        gen(w) :- s(t), w in split(t, " ").
        lat(x, 0) :- e(x, _).
        lat(y, d + 1) :- lat(x, d), e(x, y).""", {"e": [], "s": []},
         {"p": [], "n": [(0,)], "agg": [], "tot": [], "neg": [], "gen": [], "lat": []}),
    # ---- addresses (an agent's addr, held as the string "Name/key"): build, split, compare, sort
    Case("addresses", """
        input k(s: str)
        output a(x: addr, ag: str, key: str, s: str)
        output same(x: addr, y: addr)
        a(x, agent_of(x), key_of(x), to_str(x)) :- k(s), x = Box(s + "/" + s).
        same(x, y) :- k(s), k(t), x = Box(s), y = Box(t), x = y.
        agent Box {
        }""", {"k": [(u,) for u in UNICODE]}),
    Case("join_two_hop", """
        input e(a: int, b: int)
        output p(a: int, c: int)
        p(x, z) :- e(x, y), e(y, z).""", {"e": GRAPH}),
    Case("join_cross_product_and_multi_key", """
        input a(x: int)
        input b(y: str)
        input t(x: int, y: int, z: int)
        output c(x: int, y: str)
        output m(x: int, y: int, z: int, w: int)
        c(x, y) :- a(x), b(y).
        m(x, y, z, w) :- t(x, y, z), t(x, y, w), z < w.""",
         {"a": [(1,), (2,)], "b": [("u",), ("v",), ("",)],
          "t": [(1, 1, 1), (1, 1, 2), (1, 1, 3), (1, 2, 1), (2, 1, 5), (2, 1, 4)]}),
    Case("atom_args_constants_expressions_repeated_vars", """
        input w(i: int, s: str)
        input e(a: int, b: int)
        input t(a: int, b: int, c: int)
        output bigram(a: str, b: str)
        output loop(a: int)
        output from1(b: int)
        output consts(z: int)
        output loopc(x: int)
        bigram(x, y) :- w(i, x), w(i + 1, y).
        loop(x) :- e(x, x).
        from1(y) :- e(1, y).
        consts(z) :- t(1, 1, z).
        loopc(x) :- t(x, x, 2).""",
         {"w": [(0, "the"), (1, "cat"), (2, "sat"), (4, "on")], "e": GRAPH + [(1, 9)],
          "t": [(1, 1, 5), (1, 1, 6), (1, 2, 7), (2, 2, 2), (3, 3, 3), (0, 1, 2)]},
         {"consts": [(5,), (6,)], "loopc": [(2,)]}),
    Case("union_of_rules_and_facts", """
        input a(x: int)
        output u(x: int, tag: str)
        u(x, "a") :- a(x).
        u(x + 100, "b") :- a(x), x > 1.
        u(7, "fact").
        u(-3, "é,\\"q\\"").""", {"a": [(1,), (2,), (3,)]}),
    Case("or_in_body", """
        input a(x: int)
        input b(x: int)
        input c(x: int)
        output o(x: int)
        o(x) :- a(x), (b(x) ; c(x) ; x > 10).""",
         {"a": [(1,), (2,), (3,), (11,)], "b": [(1,)], "c": [(3,), (4,)]}, {"o": [(1,), (3,), (11,)]}),
    Case("input_output_with_rules", """
        input output e(a: int, b: int)
        e(x, y) :- e(y, x).
        e(0, 0).""", {"e": [(1, 2), (3, 4)]}, {"e": [(0, 0), (1, 2), (2, 1), (3, 4), (4, 3)]}),
    Case("user_functions", """
        input pt(p: str, x: float, y: float)
        output near(p: str, q: str, d: float)
        fn sq(x: float) -> float = x * x
        fn dist(ax: float, ay: float, bx: float, by: float) -> float = sqrt(sq(ax - bx) + sq(ay - by))
        near(p, q, dist(x1, y1, x2, y2)) :- pt(p, x1, y1), pt(q, x2, y2), p != q, dist(x1, y1, x2, y2) < 1.5.""",
         {"pt": [("a", 0.0, 0.0), ("b", 1.0, 0.5), ("c", 3.0, 3.0), ("d", 0.1, -0.9)]}),
    Case("int_literal_where_float_expected", """
        input n(x: int, y: float)
        output o(a: float, b: bool, c: float)
        o(x, x < y, x + y) :- n(x, y).
        o(1, true, 2).""", {"n": [(1, 1.5), (2, 2.0), (-3, -3.5)]}),

    # ---- zero-column relations
    Case("zero_column_relations", """
        input a(x: int)
        input z()
        rel done()
        output flag()
        output never()
        output gated(x: int)
        output ungated(x: int)
        output zc(n: int)
        done() :- a(x), x > 2.
        flag() :- done().
        never() :- a(x), x > 100.
        gated(x) :- a(x), z().
        ungated(x) :- a(x), !done().
        zc(count()) :- z().""", {"a": [(1,), (3,)], "z": [()]},
         {"flag": [()], "never": [], "gated": [(1,), (3,)], "ungated": [], "zc": [(1,)]}),
    Case("zero_column_empty", """
        input a(x: int)
        input z()
        rel done()
        output flag()
        output gated(x: int)
        output ungated(x: int)
        output c(n: int)
        done() :- a(x), x > 2.
        flag() :- done().
        gated(x) :- a(x), z().
        ungated(x) :- a(x), !done(), !z().
        c(n) :- n = count : z().""", {"a": [(1,), (2,)], "z": []},
         {"flag": [], "gated": [], "ungated": [(1,), (2,)], "c": [(0,)]}),
    Case("zero_column_recursion", """
        input e(a: int, b: int)
        rel reach(x: int)
        output found()
        output loop()
        reach(1).
        reach(y) :- reach(x), e(x, y).
        found() :- reach(4).
        loop() :- loop().
        loop() :- found(), loop().""", {"e": GRAPH}, {"found": [()], "loop": []}),

    # ---- strings
    Case("unicode_strings_and_builtins", """
        input s(a: str)
        output o(a: str, n: int, u: str, l: str, h: int)
        output sub(a: str, x: str, y: str, z: str)
        output tests(a: str, c: bool, sw: bool, ew: bool)
        output cat(a: str)
        output nots(a: str)
        o(a, len(a), upper(a), lower(a), hash(a)) :- s(a).
        nots(a) :- s(a), !starts_with(a, "a"), !contains(a, ","), !ends_with(a, "z").
        sub(a, substr(a, 0, 2), substr(a, 1, 100), substr(a, -2, 5)) :- s(a).
        tests(a, contains(a, ","), starts_with(a, "a"), ends_with(a, "é")) :- s(a).
        cat(a + "|" + b) :- s(a), s(b), len(a) + len(b) < 3.""", {"s": [(u,) for u in UNICODE]}),
    Case("string_order_by_code_point", """
        input s(a: str)
        output lt(a: str, b: str)
        output le(a: str, b: str)
        output ge_lit(a: str)
        output gt_lit(a: str)
        lt(a, b) :- s(a), s(b), a < b.
        le(a, b) :- s(a), s(b), a <= b, len(a) < 2.
        ge_lit(a) :- s(a), a >= "a".
        gt_lit(a) :- s(a), "é" > a.""", {"s": [(u,) for u in UNICODE]}),
    Case("string_order_new_strings", """
        input s(a: str)
        output o(a: str, b: str)
        o(a, b) :- s(a), b = a + "m", b < "b".
        o(a, b) :- s(a), b = upper(a), b > a.""", {"s": [("a",), ("Zz",), ("ba",), ("",), ("é",)]}),
    Case("string_min_max_aggregates", """
        input t(g: int, s: str)
        output h(g: int, lo: str, hi: str, n: int)
        output b(g: int, lo: str, hi: str)
        output all(lo: str, hi: str)
        h(g, min(s), max(s), count()) :- t(g, s).
        b(g, lo, hi) :- t(g, _), lo = min s : t(g, s), hi = max s : { t(g, s), s != "z" }.
        all(min(s), max(s)) :- t(_, s).""",
         {"t": [(i % 3, u) for i, u in enumerate(UNICODE)] + [(3, "z")]}),
    Case("string_lattice_keys", """
        input n(s: str, c: int)
        output best(s: str, lo: min<int>, hi: max<float>)
        best(s, c, c) :- n(s, c).
        best(s, 100, -1) :- n(s, _), s > "m".""",
         {"n": [(u, i) for i, u in enumerate(UNICODE)] + [("a", -5), ("é", 50)]}),

    # ---- bools
    Case("bool_columns", """
        input b(k: int, v: bool)
        output o(k: int, lo: bool, hi: bool, n: int)
        output t(k: int)
        output f(k: int)
        output lt(k: int, v: bool)
        output conv(k: int, v: bool, i: int, s: str, h: int, c: int)
        output eq(k: int, v: bool)
        output body(k: int, lo: bool, hi: bool)
        o(k, min(v), max(v), count()) :- b(k, v).
        t(k) :- b(k, v), v.
        f(k) :- b(k, false).
        lt(k, v) :- b(k, v), v < true.
        conv(k, v, to_int(v), to_str(v), hash(v), if v then 1 else 0) :- b(k, v).
        eq(k, v) :- b(k, v), v = (k > 1).
        body(k, lo, hi) :- b(k, _), lo = min v : b(k, v), hi = max v : b(k, v).""",
         {"b": [(1, True), (1, False), (2, True), (3, False), (4, True), (4, True)]},
         {"o": [(1, False, True, 2), (2, True, True, 1), (3, False, False, 1), (4, True, True, 1)]}),

    # ---- arithmetic: signs, floor division, modulo, wraparound
    Case("floor_division_and_modulo_signs", """
        input n(x: int)
        output o(a: int, b: int, q: int, r: int, d: float)
        o(a, b, a // b, a % b, a / b) :- n(a), n(b), b != 0.""",
         {"n": [(v,) for v in (-7, -3, -2, -1, 0, 1, 2, 3, 7, INT_MIN, INT_MAX)]}),
    Case("float_floor_division_and_modulo", """
        input n(x: float)
        output o(a: float, b: float, q: float, r: float, d: float)
        o(a, b, a // b, a % b, a / b) :- n(a), n(b), b != 0.""",
         {"n": [(v,) for v in (-7.5, -3.0, -0.5, 0.0, 0.1, 2.0, 7.0, 1e300, -1e-300)]}),
    Case("int64_wraparound", """
        input p(a: int, b: int)
        output o(a: int, b: int, s: int, d: int, m: int, n: int, ab: int, p: int)
        o(a, b, a + b, a - b, a * b, -a, abs(a), pow(a, 3)) :- p(a, b).""",
         {"p": [(a, b) for a in EDGE_INTS[:6] for b in EDGE_INTS[:6]]
          + [(EDGE_INTS[i], EDGE_INTS[j]) for i, j in ((10, 10), (11, 10), (12, 12))]},
         None),
    Case("int64_wraparound_aggregates", """
        input n(g: int, x: int)
        output s(g: int, t: int)
        output b(g: int, t: int)
        output m(g: int, t: float)
        output tot(t: int)
        s(g, sum(x)) :- n(g, x).
        b(g, t) :- n(g, _), t = sum x : n(g, x).
        m(g, mean(x)) :- n(g, x).
        tot(sum(x * 2)) :- n(_, x).""",
         {"n": [(1, INT_MAX), (1, 1), (1, 2), (2, INT_MIN), (2, -1), (3, 1 << 62), (3, 1 << 62), (3, 3 << 61),
                (4, 5)]},
         {"s": [(1, INT_MIN + 2), (2, INT_MAX), (3, (1 << 62) + (3 << 61) - (1 << 64)), (4, 5)]}),
    Case("int_floordiv_overflow", """
        input n(a: int, b: int)
        output o(q: int, r: int)
        o(a // b, a % b) :- n(a, b).""", {"n": [(INT_MIN, -1), (INT_MIN, 1), (INT_MAX, -1), (INT_MIN, 2)]},
         {"o": [(INT_MIN, 0), (-INT_MAX, 0), (-(1 << 62), 0)]}),
    Case("mixed_int_float_arithmetic", """
        input n(a: int, b: float)
        output o(a: int, b: float, s: float, p: float, d: float, q: float, m: float, mn: float, mx: float)
        o(a, b, a + b, a * b, a / b, a // b, a % b, min(a, b), max(a, b)) :- n(a, b), b != 0.""",
         {"n": [(a, b) for a in (-3, 0, 5, 1 << 53) for b in (-2.5, 0.5, 3.0, -0.0)]}),

    # ---- floats: -0.0 and dedup
    Case("negative_zero_dedup_join_group", """
        input f(x: float)
        input g(x: float)
        input k(i: int, x: float)
        output o(x: float)
        output j(x: float)
        output a(x: float)
        output grp(x: float, n: int)
        output neg(x: float)
        o(x) :- f(x).
        j(x) :- f(x), g(x).
        a(x) :- f(x), !g(x).
        grp(x, count()) :- k(_, x).
        neg(-x) :- f(x).""",
         {"f": [(-0.0,), (0.0,), (1.5,)], "g": [(0.0,)], "k": [(1, -0.0), (2, 0.0), (3, 1.0)]},
         {"o": [(0.0,), (1.5,)], "j": [(0.0,)], "a": [(1.5,)], "grp": [(0.0, 2), (1.0, 1)]}),
    Case("negative_zero_to_str", """
        input k(i: int, x: float)
        output s(i: int, t: str)
        s(i, to_str(x)) :- k(i, x).""", {"k": [(1, -0.0), (2, 0.0), (3, 2.5)]},
         {"s": [(1, "-0.0"), (2, "0.0"), (3, "2.5")]}),
    Case("float_sum_mean_exactly_rounded", """
        input n(g: int, i: int, x: float)
        output s(g: int, t: float)
        output m(g: int, t: float)
        output b(g: int, t: float)
        s(g, sum(x)) :- n(g, _, x).
        m(g, mean(x)) :- n(g, _, x).
        b(g, t) :- n(g, _, _), t = sum x : n(g, _, x).""",
         {"n": [(1, 1, 1e16), (1, 2, 1.0), (1, 3, -1e16), (2, 1, 0.1), (2, 2, 0.2), (2, 3, 0.3)]},
         {"s": [(1, 1.0), (2, 0.6)], "m": [(1, 1.0 / 3), (2, 0.2)]}),
    Case("float_sum_needs_more_than_one_compensation", """
        input n(g: int, i: int, x: float)
        output s(g: int, t: float)
        output m(g: int, t: float)
        s(g, sum(x)) :- n(g, _, x).
        m(g, mean(x)) :- n(g, _, x).""",
         {"n": [(1, 1, 1e40), (1, 2, 1e20), (1, 3, 1.0), (1, 4, -1e20), (1, 5, -1e40),
                (2, 1, 1e300), (2, 2, 1e280), (2, 3, 3.0), (2, 4, -1e280), (2, 5, -1e300)]},
         {"s": [(1, 1.0), (2, 3.0)], "m": [(1, 0.2), (2, 0.6)]}),
    Case("int_mean_exact", """
        input n(i: int, x: int)
        output m(t: float)
        m(mean(x)) :- n(_, x).""", {"n": [(1, 1 << 62), (2, 1), (3, -(1 << 62)), (4, 3)]}, {"m": [(1.0,)]}),

    # ---- conditionals and guards
    Case("if_guards_division", """
        input n(x: int)
        output o(x: int, q: int, f: float, nest: str)
        o(x, if x = 0 then 0 else 100 // x, if x != 0 then 1.0 / x else -1.0,
          if x < 0 then "neg" else (if x = 0 then "zero" else "pos")) :- n(x).""",
         {"n": [(-4,), (0,), (3,), (7,)]},
         {"o": [(-4, -25, -0.25, "neg"), (0, 0, -1.0, "zero"), (3, 33, 1 / 3, "pos"), (7, 14, 1 / 7, "pos")]}),
    Case("if_guards_builtins", """
        input n(x: float, s: str)
        output o(x: float, l: float, r: float, i: int)
        o(x, if x > 0 then log(x) else 0.0, if x >= 0 then sqrt(x) else -1.0,
          if s = "" then -1 else to_int(s)) :- n(x, s).""",
         {"n": [(-1.0, ""), (0.0, "12"), (4.0, " 7 "), (2.5, "")]}),
    Case("and_guard_before_division", """
        input n(x: int)
        output o(x: int)
        output p(x: int)
        o(x) :- n(x), x != 0, 10 // x > 2.
        p(x) :- n(x), x > 0, log(to_float(x)) > 1.0.""", {"n": [(-2,), (0,), (1,), (3,), (4,)]},
         {"o": [(1,), (3,)], "p": [(3,), (4,)]}),

    # ---- builtins
    Case("numeric_builtins", """
        input n(x: float)
        output o(x: float, a: float, s: float, e: float, l: float, f: int, c: int, p: float, q: float)
        o(x, abs(x), sqrt(abs(x)), exp(x), log(abs(x) + 1.0), floor(x), ceil(x), pow(abs(x), 0.5), pow(x, 2)) :- n(x).""",
         {"n": [(v,) for v in (-2.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5, 1e3, -1e3, 1e-9)]}),
    Case("int_builtins", """
        input n(x: int, y: int)
        output o(x: int, y: int, a: int, mn: int, mx: int, p: int, f: int, c: int, h: int)
        o(x, y, abs(x), min(x, y), max(x, y), pow(x, y), floor(x), ceil(x), hash(x)) :- n(x, y), y >= 0.""",
         {"n": [(x, y) for x in (-3, 0, 2, 7, INT_MIN, INT_MAX) for y in (0, 1, 2, 5, 63, 64)]}),
    Case("conversions", """
        input s(t: str)
        input f(x: float)
        input i(x: int)
        output si(t: str, v: int, w: float)
        output fs(x: float, t: str, v: int, h: int)
        output is(x: int, t: str, v: float, w: int)
        si(t, to_int(t), to_float(t)) :- s(t).
        fs(x, to_str(x), to_int(x), hash(x)) :- f(x).
        is(x, to_str(x), to_float(x), to_int(x)) :- i(x).""",
         {"s": [("0",), ("-12",), (" 42 ",), ("9223372036854775807",), ("-9223372036854775808",)],
          "f": [(v,) for v in (-2.7, -0.5, 0.0, 0.1, 1e16, 1e-7, 3.0, 123456.789, -1e18)],
          "i": [(v,) for v in (0, -5, INT_MAX, INT_MIN)]}),
    Case("hash_is_stable_across_types", """
        input s(t: str, i: int, f: float, b: bool)
        output h(a: int, b: int, c: int, d: int)
        h(hash(t), hash(i), hash(f), hash(b)) :- s(t, i, f, b).""",
         {"s": [("", 0, 0.0, False), ("x", -1, -1.5, True), ("日本", INT_MIN, 1e300, True)]}),
    Case("exp_overflow_is_inf", """
        input n(x: float)
        output o(x: float, e: float, big: bool)
        o(x, exp(x), exp(x) > 1e308) :- n(x).""", {"n": [(1000.0,), (-1000.0,), (1.0,)]},
         {"o": [(-1000.0, 0.0, False), (1.0, math.e, False), (1000.0, math.inf, True)]}),

    # ---- generators
    Case("split_generator", """
        input line(id: int, t: str)
        output w(id: int, w: str)
        output c(id: int, n: int)
        output df(w: str, n: int)
        w(i, x) :- line(i, t), x in split(t, " ").
        c(i, count()) :- line(i, t), x in split(t, " ").
        df(x, count()) :- line(i, t), x in split(lower(t), " "), x != "".""",
         {"line": [(1, "a b a"), (2, ""), (3, "  lead  trail "), (4, "Α β Α α"), (5, "a,b c,d"), (6, "a b a")]}),
    Case("split_other_separators", """
        input line(id: int, t: str, sep: str)
        output w(id: int, w: str)
        w(i, x) :- line(i, t, sep), x in split(t, sep).""",
         {"line": [(1, "a,b,,c", ","), (2, "x→y→z", "→"), (3, "aaa", "a"), (4, "abc", "abc"), (5, "", ","),
                   (6, "p::q::", "::")]}),
    Case("range_generator", """
        input n(x: int)
        output r(x: int, i: int)
        output s(x: int, i: int)
        output c(x: int, n: int)
        r(x, i) :- n(x), i in range(0, x).
        s(x, i) :- n(x), i in range(x, 2).
        c(x, k) :- n(x), k = count : { i in range(x, x + 3), i > 0 }.""",
         {"n": [(-2,), (0,), (1,), (3,), (5,)]}),
    Case("generator_in_recursion", """
        input n(x: int)
        output r(x: int)
        r(x) :- n(x).
        r(y) :- r(x), y in range(x, x + 3), y < 20.""", {"n": [(0,), (15,)]},
         {"r": [(i,) for i in range(20)]}),

    # ---- negation
    Case("negation_wildcards_constants_expressions", """
        input a(x: int)
        input e(a: int, b: int)
        output nw(x: int)
        output nc(x: int)
        output ne(x: int)
        output nall(x: int)
        output ninner(x: int)
        output nrev(x: int)
        nw(x) :- a(x), !e(x, _).
        nc(x) :- a(x), !e(x, 3).
        ne(x) :- a(x), !e(x, x + 1).
        nall(x) :- a(x), !e(_, _).
        ninner(x) :- a(x), !e(_, x).
        nrev(x) :- a(x), !e(x * 2, x - 1).""",
         {"a": [(i,) for i in range(-1, 8)], "e": GRAPH + [(4, -1), (8, 3)]},
         {"nall": []}),
    Case("negation_of_strings_and_lower_strata", """
        input s(w: str)
        input stop(w: str)
        rel kept(w: str)
        output o(w: str)
        output never(w: str)
        kept(w) :- s(w), !stop(w).
        o(w) :- s(w), !kept(w), w != "".
        never(w) :- s(w), !s(w).""",
         {"s": [(u,) for u in UNICODE], "stop": [("a",), ("日本語",), ("missing",), ("",)]}),
    Case("negation_over_recursion", """
        input e(a: int, b: int)
        input n(a: int)
        rel r(a: int)
        output u(a: int)
        r(1).
        r(y) :- r(x), e(x, y).
        u(x) :- n(x), !r(x).""", {"e": GRAPH, "n": [(i,) for i in range(10)]},
         {"u": [(0,), (5,), (6,), (7,), (8,), (9,)]}),

    # ---- aggregates
    Case("head_aggregates_all", """
        input e(a: int, b: int, w: float)
        output st(a: int, c: int, s: float, lo: float, hi: float, m: float)
        output ints(a: int, c: int, s: int, lo: int, hi: int, m: float)
        output nokey(c: int, s: float, m: float)
        output expr(a: int, s: float)
        st(x, count(), sum(w), min(w), max(w), mean(w)) :- e(x, _, w).
        ints(x, count(), sum(y), min(y), max(y), mean(y)) :- e(x, y, _).
        nokey(count(), sum(w), mean(w)) :- e(_, _, w).
        expr(x, sum(w * 2.0 + y)) :- e(x, y, w).""",
         {"e": [(1, 2, 0.5), (1, 3, 0.5), (1, 2, 0.5), (2, -1, -2.0), (2, 7, 3.25), (3, 0, 0.0)]}),
    Case("head_aggregate_distinct_combinations", """
        input e(a: int, b: int, w: int)
        output deg(a: int, n: int)
        output s(a: int, t: int)
        output sw(a: int, t: int)
        deg(x, count()) :- e(x, y, _).
        s(x, sum(w)) :- e(x, _, w).
        sw(x, sum(w)) :- e(x, y, w), y > 0.""",
         {"e": [(1, 2, 5), (1, 3, 5), (1, 2, 6), (2, 3, 1)]},
         {"deg": [(1, 3), (2, 1)], "s": [(1, 16), (2, 1)]}),
    Case("body_aggregates_correlated_and_empty", """
        input n(x: int)
        input e(a: int, b: int)
        output c(x: int, k: int, s: int)
        output lo(x: int, v: int)
        output hi(x: int, v: int)
        output mn(x: int, v: float)
        output filt(x: int, k: int)
        output test(x: int)
        c(x, k, s) :- n(x), k = count : e(x, _), s = sum y : e(x, y).
        lo(x, v) :- n(x), v = min y : e(x, y).
        hi(x, v) :- n(x), v = max (y * 2) : e(x, y).
        mn(x, v) :- n(x), v = mean y : e(x, y).
        filt(x, k) :- n(x), k = count : { e(x, y), y > x, !e(y, x) }.
        test(x) :- n(x), x = count : e(x, _).""",
         {"n": [(i,) for i in range(-1, 8)], "e": GRAPH + [(1, 5), (2, 2)]},
         {"c": [(-1, 0, 0), (0, 0, 0), (1, 2, 7), (2, 2, 5), (3, 2, 5), (4, 0, 0), (5, 1, 6), (6, 1, 6),
                (7, 1, 8)],
          "lo": [(1, 2), (2, 2), (3, 1), (5, 6), (6, 6), (7, 8)],
          "test": [(0,), (2,)]}),
    Case("body_aggregate_over_a_range", """
        input ev(u: str, t: int, w: int)
        input q(u: str, ts: int)
        output prev(u: str, ts: int, p: int)
        output later(u: str, ts: int, n: int, s: int)
        prev(u, ts, p) :- q(u, ts), p = max t : { ev(u, t, _), t < ts }.
        output win(u: str, ts: int, n: int)
        later(u, ts, n, s) :- q(u, ts), n = count : { ev(u, t, _), ts <= t }, s = sum w : { ev(u, t, w), t >= ts }.
        win(u, ts, n) :- q(u, ts), n = count : { ev(u, t, _), t > ts - 3, t <= ts }.""",
         {"ev": [("a", 1, 5), ("a", 3, 1), ("a", 3, 2), ("b", 2, 7), ("é", 9, -1)],
          "q": [("a", 3), ("a", 0), ("b", 2), ("c", 5), ("é", 10)]},
         {"prev": [("a", 3, 1), ("é", 10, 9)],
          "later": [("a", 0, 3, 8), ("a", 3, 2, 3), ("b", 2, 1, 7), ("c", 5, 0, 0), ("é", 10, 0, 0)],
          "win": [("a", 0, 0), ("a", 3, 3), ("b", 2, 1), ("c", 5, 0), ("é", 10, 1)]}),
    Case("body_aggregate_without_outer_atoms", """
        input e(a: int, b: int)
        output c(n: int, s: int)
        output m(v: int)
        output none(v: int)
        c(n, s) :- n = count : e(_, _), s = sum b : e(_, b).
        m(v) :- v = max a : e(a, _).
        none(v) :- v = min a : { e(a, _), a > 100 }.""", {"e": GRAPH},
         {"c": [(7, 30)], "m": [(7,)], "none": []}),
    Case("body_aggregate_float_and_expression", """
        input p(g: str, x: float)
        input g(g: str)
        output o(g: str, s: float, m: float, lo: float, n: int)
        o(k, s, m, lo, n) :- g(k), s = sum (x * 2.0) : p(k, x), m = mean x : p(k, x), lo = min (-x) : p(k, x),
            n = count : p(k, _).""",
         {"p": [("a", 1.5), ("a", -0.25), ("b", 10.0), ("c,é", 3.0), ("c,é", 3.5)],
          "g": [("a",), ("b",), ("c,é",), ("none",)]}),
    Case("aggregate_chain_of_strata", """
        input e(a: int, b: int)
        rel deg(a: int, n: int)
        output hist(n: int, k: int)
        output top(n: int)
        deg(x, count()) :- e(x, _).
        hist(n, count()) :- deg(_, n).
        top(max(n)) :- deg(_, n).""", {"e": GRAPH + [(1, 5), (1, 6)]}),

    # ---- lattices
    Case("lattice_min_shortest_paths", """
        input link(a: int, b: int, c: int)
        output dist(n: int, d: min<int>)
        output all(a: int, b: int, d: min<int>)
        dist(0, 0).
        dist(b, d + c) :- dist(a, d), link(a, b, c).
        all(a, b, c) :- link(a, b, c).
        all(a, c, d1 + d2) :- all(a, b, d1), all(b, c, d2).""", {"link": WEIGHTED},
         {"dist": [(0, 0), (1, 3), (2, 1), (3, 4), (4, 7)]}),
    Case("lattice_max_and_float", """
        input link(a: str, b: str, p: float)
        output best(n: str, p: max<float>)
        output worst(n: str, p: min<float>)
        best("s", 1.0).
        best(b, p * q) :- best(a, p), link(a, b, q).
        worst(b, q) :- link(_, b, q).""",
         {"link": [("s", "a", 0.5), ("s", "b", 0.9), ("b", "a", 0.8), ("a", "c", 0.5), ("c", "s", 0.99),
                   ("b", "c", 0.1)]},
         {"best": [("a", 0.72), ("b", 0.9), ("c", 0.36), ("s", 1.0)]}),
    Case("lattice_several_columns_mixed_types", """
        input e(a: int, b: int, w: int, f: float)
        output d(n: int, hops: min<int>, far: max<int>, cost: min<float>, gain: max<float>)
        d(0, 0, 0, 0.0, 0.0).
        d(b, h + 1, min(x + w, 30), c + f, min(g + f, 10.0)) :- d(a, h, x, c, g), e(a, b, w, f).""",
         {"e": [(0, 1, 3, 0.5), (1, 2, 4, 1.25), (0, 2, 10, 0.25), (2, 0, 1, 3.0), (2, 3, 2, -0.5),
                (3, 1, 5, 2.0)]}),
    Case("lattice_key_arity_zero_and_facts", """
        input n(x: int)
        output lo(v: min<int>)
        output hi(v: max<float>)
        output both(a: min<int>, b: max<int>)
        lo(x) :- n(x).
        lo(100).
        hi(x) :- n(x).
        both(x, x) :- n(x).""", {"n": [(3,), (-7,), (12,)]},
         {"lo": [(-7,)], "hi": [(12.0,)], "both": [(-7, 12)]}),
    Case("lattice_empty", """
        input n(x: int)
        output lo(v: min<int>)
        output k(a: int, v: max<int>)
        lo(x) :- n(x).
        k(x, x) :- n(x).""", {"n": []}, {"lo": [], "k": []}),
    Case("lattice_input_rows_merge", """
        input output d(k: str, v: min<int>)
        input e(a: str, b: str)
        d(b, v + 1) :- d(a, v), e(a, b).""",
         {"d": [("a", 5), ("a", 2), ("b", 10), ("c", INT_MAX)], "e": [("a", "b"), ("b", "c"), ("c", "a")]},
         {"d": [("a", INT_MIN), ("b", INT_MIN + 1), ("c", INT_MIN + 2)]}),  # INT_MAX + 1 wraps
    Case("lattice_input_merge_without_rules", """
        input output d(k: str, lo: min<int>, hi: max<float>)
        d("fact", 3, 0.5).
        d("fact", 1, -0.5).""",
         {"d": [("a", 5, 1.0), ("a", 2, 0.5), ("b", 10, -1.0), ("fact", 7, 2.0), ("b", 11, -2.0)]},
         {"d": [("a", 2, 1.0), ("b", 10, -1.0), ("fact", 1, 2.0)]}),
    Case("lattice_and_set_relation_in_one_recursion", """
        input e(a: int, b: int)
        output reach(x: int)
        output dist(x: int, d: min<int>)
        reach(0).
        reach(y) :- dist(x, _), e(x, y).
        dist(x, 0) :- reach(x), x = 0.
        dist(y, d + 1) :- dist(x, d), e(x, y), reach(y).""",
         {"e": [(0, 1), (1, 2), (0, 2), (2, 3), (3, 0), (4, 5)]},
         {"reach": [(0,), (1,), (2,), (3,)], "dist": [(0, 0), (1, 1), (2, 1), (3, 2)]}),
    Case("shortest_paths_wraparound", """
        input e(a: int, b: int, w: int)
        input s(a: int, d: int)
        output d(n: int, v: min<int>)
        d(x, v) :- s(x, v).
        d(y, v + w) :- d(x, v), e(x, y, w).""",
         {"s": [(0, INT_MAX - 1)], "e": [(0, 1, 5), (0, 2, 1), (2, 1, 1), (1, 3, 0)]},
         {"d": [(0, INT_MAX - 1), (1, INT_MIN), (2, INT_MAX), (3, INT_MIN)]}),  # INT_MAX + 1 wraps to INT_MIN
    Case("shortest_paths_shapes", """
        input e(a: str, b: str, w: int)
        input f(a: str, b: str, w: float)
        input neg(a: int, b: int, w: int)
        output d(n: str, v: min<int>)
        output df(n: str, v: min<float>)
        output dn(n: int, v: min<int>)
        d("a", 0).
        d("x", 100).
        d("x", 2).
        d(y, v + w) :- d(x, v), e(x, y, w).
        df("a", 0.0).
        df(y, v + w) :- df(x, v), f(x, y, w).
        dn(0, 0).
        dn(y, v + w) :- dn(x, v), neg(x, y, w).""",
         {"e": [("a", "b", 3), ("b", "c", 0), ("a", "c", 5), ("c", "a", 1), ("x", "c", 0), ("q", "r", 1),
                ("é", "é", 0)],
          "f": [("a", "b", 0.25), ("b", "a", 0.0), ("a", "c", 1e-9), ("c", "b", -0.0)],
          "neg": [(0, 1, 5), (1, 2, -3), (0, 2, 4), (2, 3, 1)]},
         {"d": [("a", 0), ("b", 3), ("c", 2), ("x", 2)], "dn": [(0, 0), (1, 5), (2, 2), (3, 3)]}),
    Case("linear_closure_shapes", """
        input e(a: int, b: int)
        input s(a: str, b: str)
        input f(a: float, b: float)
        input g(a: bool, b: bool)
        output right(a: int, b: int)
        output left(a: str, b: str)
        output fl(a: float, b: float)
        output bl(a: bool, b: bool)
        output seeded(a: int, b: int)
        right(x, y) :- e(x, y).
        right(x, z) :- right(x, y), e(y, z).
        left(x, y) :- s(x, y).
        left(x, z) :- s(x, y), left(y, z).
        fl(x, y) :- f(x, y).
        fl(x, z) :- fl(x, y), f(y, z).
        bl(x, y) :- g(x, y).
        bl(x, z) :- bl(x, y), g(y, z).
        seeded(100, 1).
        seeded(x, x) :- e(x, _), x > 5.
        seeded(x, z) :- seeded(x, y), e(y, z).""",
         {"e": GRAPH + [(4, 100), (100, 7)], "s": [("a", "b"), ("b", "é"), ("é", "a"), ("x", "y"), ("y", "y")],
          "f": [(0.5, -0.0), (0.0, 1.5), (1.5, 0.5), (2.0, 2.0)], "g": [(True, False), (False, False)]}),
    Case("lattice_read_by_later_stratum", """
        input link(a: int, b: int, c: int)
        rel dist(n: int, d: min<int>)
        output close(n: int)
        output far(n: int, d: int)
        output total(s: int)
        dist(0, 0).
        dist(b, d + c) :- dist(a, d), link(a, b, c).
        close(n) :- dist(n, d), d <= 3.
        far(n, d) :- dist(n, d), !close(n).
        total(sum(d)) :- dist(_, d).""", {"link": WEIGHTED}),

    # ---- recursion
    Case("transitive_closure_nonlinear", """
        input e(a: int, b: int)
        output tc(a: int, b: int)
        tc(x, y) :- e(x, y).
        tc(x, y) :- tc(x, z), tc(z, y).""", {"e": GRAPH}),
    Case("mutual_recursion_even_odd", """
        input e(a: int, b: int)
        output odd(a: int, b: int)
        output even(a: int, b: int)
        odd(x, y) :- e(x, y).
        even(x, z) :- odd(x, y), e(y, z).
        odd(x, z) :- even(x, y), e(y, z).""", {"e": [(i, i + 1) for i in range(8)] + [(8, 0), (3, 3)]}),
    Case("mutual_recursion_three_way_strings", """
        input e(a: str, b: str)
        output a(x: str)
        output b(x: str)
        output c(x: str)
        a("start").
        b(y) :- a(x), e(x, y).
        c(y) :- b(x), e(x, y).
        a(y) :- c(x), e(x, y), y != "stop".""",
         {"e": [("start", "x"), ("x", "é"), ("é", "start"), ("é", "stop"), ("stop", "y"), ("x", "y")]}),
    Case("same_generation", """
        input par(c: str, p: str)
        output sg(a: str, b: str)
        sg(x, y) :- par(x, p), par(y, p), x != y.
        sg(x, y) :- par(x, a), sg(a, b), par(y, b).""",
         {"par": [("b", "a"), ("c", "a"), ("d", "b"), ("e", "c"), ("f", "d"), ("g", "e"), ("h", "e")]}),
    Case("recursion_with_arithmetic_and_negation_of_lower", """
        input start(x: int)
        input block(x: int)
        output r(x: int)
        r(x) :- start(x).
        r(y) :- r(x), y = x * 2 + 1, y < 200, !block(y).
        r(y) :- r(x), y = x - 3, y >= 0, !block(y).""", {"start": [(1,)], "block": [(7,), (10,)]}),
    Case("recursive_rule_with_body_aggregate_of_lower", """
        input e(a: int, b: int)
        rel deg(a: int, n: int)
        output r(a: int, n: int)
        deg(x, count()) :- e(x, _).
        r(x, n) :- e(x, _), n = count : e(x, _).
        r(y, n) :- r(x, _), e(x, y), n = count : e(y, _).""", {"e": GRAPH}),

    # ---- ticks
    Case("ticks_table_channel_next_delete", """
        table   store(k: str, v: int)
        channel put(k: str, v: int)
        channel del(k: str)
        output  cur(k: str, v: int)
        output  seen(k: str)
        output  n(c: int)
        store("init", 0).
        next    store(k, v) :- put(k, v).
        delete  store(k, old) :- put(k, _), store(k, old).
        delete  store(k, v) :- del(k), store(k, v).
        cur(k, v) :- store(k, v).
        seen(k) :- put(k, _).
        n(count()) :- store(_, _).""",
         {"put": [(0, "a", 1), (1, "a", 2), (1, "é,x", 3), (3, "b", 4), (3, "b", 5), (4, "a", 2)],
          "del": [(2, "init"), (5, "é,x"), (5, "nope")]}, each_tick=True),
    Case("ticks_next_on_plain_relation_and_channel", """
        input  start(x: int)
        channel ping(x: int)
        rel    later(x: int)
        output got(x: int)
        output now(x: int)
        next later(x + 1) :- start(x).
        next ping(x + 1) :- ping(x), x < 5.
        ping(0) :- start(_), !later(_).
        got(x) :- ping(x).
        now(x) :- later(x).""", {"start": [(1,)]}, each_tick=True),
    Case("ticks_max_ticks", """
        table  c(n: int)
        output v(n: int)
        c(0).
        next c(n + 1) :- c(n).
        delete c(n) :- c(n).
        v(n) :- c(n).""", {}, {"v": [(6,)]}, max_ticks=7, each_tick=True),
    Case("ticks_zero_column_table_and_channel", """
        table   started()
        table   count(n: int)
        channel go()
        channel stop()
        output  running()
        output  n(n: int)
        count(0).
        next started() :- go().
        delete started() :- stop(), started().
        next count(n + 1) :- count(n), started().
        delete count(n) :- count(n), started().
        running() :- started().
        n(n) :- count(n).""", {"go": [(1,)], "stop": [(4,)]}, each_tick=True),
    Case("ticks_closure_and_shortest_paths_over_tables", """
        table   edge(a: int, b: int, w: int)
        channel add(a: int, b: int, w: int)
        channel cut(a: int, b: int)
        rel     e2(a: int, b: int)
        output  reach(a: int, b: int)
        output  dist(n: int, d: min<int>)
        next edge(a, b, w) :- add(a, b, w).
        delete edge(a, b, w) :- cut(a, b), edge(a, b, w).
        e2(a, b) :- edge(a, b, _).
        reach(x, y) :- e2(x, y).
        reach(x, z) :- reach(x, y), e2(y, z).
        dist(0, 0).
        dist(y, d + w) :- dist(x, d), edge(x, y, w).""",
         {"add": [(0, 0, 1, 5), (0, 1, 2, 1), (1, 0, 2, 9), (2, 2, 3, 0), (3, 3, 0, 2), (4, 0, 3, 1)],
          "cut": [(3, 0, 1), (5, 1, 2)]}, each_tick=True),
    Case("ticks_lattice_table", """
        table   best(k: str, v: min<int>)
        channel offer(k: str, v: int)
        output  b(k: str, v: int)
        next best(k, v) :- offer(k, v).
        b(k, v) :- best(k, v).""",
         {"offer": [(0, "a", 5), (1, "a", 3), (2, "a", 4), (2, "b", 1), (4, "b", -1)]}, each_tick=True),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_targeted_parity(case: Case) -> None:
    run_both(case.src, case.expect, max_ticks=case.max_ticks, each_tick=case.each_tick, **case.rows)


def test_enough_targeted_programs() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


# ---- coverage: every IR operator and every expression op appears in some targeted program


def _graph_ops(graph, nodes: set, exprs: set) -> None:
    from dfl.ir.expr import Fn
    from dfl.ir.graph import Graph

    def walk(v) -> None:
        if isinstance(v, Fn):
            exprs.add(v.op)
            for a in v.args:
                walk(a)
        elif isinstance(v, Graph):
            _graph_ops(v, nodes, exprs)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    for n in graph.nodes:
        nodes.add(n.op)
        for _, v in n.attrs:
            walk(v)


def test_targeted_programs_cover_every_op() -> None:
    from dfl.backends.cpu.ops import TABLE
    from dfl.ir.expr import ARITH_OPS, CMP_OPS, OTHER_OPS
    from dfl.stdlib.builtins import BUILTINS

    nodes: set[str] = set()
    exprs: set[str] = set()
    from dfl.compiler.placement import placement

    for c in CASES:
        g = dfl.compile(c.src).graph
        _graph_ops(g, nodes, exprs)
        _graph_ops(placement(g, 3).graph, nodes, exprs)  # exchanges: test_placed_graph_in_one_process
    assert set(TABLE) - nodes == set(), f"IR operators no targeted program uses: {set(TABLE) - nodes}"
    missing = set(ARITH_OPS + CMP_OPS + OTHER_OPS) | set(BUILTINS)
    missing -= exprs
    assert missing == set(), f"expression ops no targeted program uses: {sorted(missing)}"


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_placed_graph_in_one_process(case: Case) -> None:
    """A placed graph (exchanges inserted, dist attributes) runs unchanged in one process,
    on both backends: an exchange there is the identity."""
    from dfl.compiler.placement import placement

    ref = dfl.compile(case.src).run(target="interp", max_ticks=case.max_ticks, each_tick=case.each_tick,
                                    **case.rows)
    for target in BACKENDS:
        prog = dfl.compile(case.src)
        prog.graph = placement(prog.graph, 3).graph
        got = prog.run(target=target, max_ticks=case.max_ticks, each_tick=case.each_tick, **case.rows)
        assert_same_results(got, ref, f"{case.id} placed, on {target}")


# ---- more targeted parity checks that are not one fixed program


def test_nan_values() -> None:
    """NaN from the API and from arithmetic (inf - inf): comparisons, min/max builtins, log, sqrt."""
    nan = float("nan")
    run_both("""
        input f(i: int, x: float)
        output o(i: int, lt: bool, eq: bool, ne: bool, a: float, n: float, h: int, t: str)
        output s(i: int, s: float)
        o(i, x < 1.0, x = x, x != x, abs(x), -x, hash(x), to_str(x)) :- f(i, x).
        s(i, sqrt(x)) :- f(i, x), i < 4.""",
             f=[(1, nan), (2, 2.0), (3, math.inf), (4, -math.inf)])


def test_nan_min_max_builtins() -> None:
    """Python's min/max (the interpreter's): `max(1.0, nan)` is 1.0, `max(nan, 1.0)` is nan."""
    nan = float("nan")
    run_both("""
        input f(i: int, x: float)
        output mm(i: int, lo: float, hi: float, lo2: float, hi2: float)
        mm(i, min(x, 1.0), max(x, 1.0), min(1.0, x), max(1.0, x)) :- f(i, x).""",
             f=[(1, nan), (2, 2.0), (3, math.inf)])


def test_nan_log() -> None:
    run_both("input f(x: float)\noutput o(l: float)\no(log(x)) :- f(x).", f=[(float("nan"),), (1.0,)])


def test_nan_from_arithmetic_in_builtins() -> None:
    run_both("""
        input f(x: float)
        output o(x: float, m: float, n: float)
        o(x, max(1.0, y), min(1.0, y)) :- f(x), y = exp(x) - exp(x).""", f=[(1000.0,), (0.0,)])


def test_floor_ceil_of_large_floats_wrap() -> None:
    """floor/ceil give an int; beyond 64 bits it wraps like every int (interp: wrap64(math.floor(x)))."""
    run_both("""
        input f(x: float)
        output o(x: float, a: int, b: int, c: int)
        o(x, floor(x), ceil(x), to_int(x)) :- f(x).""", f=[(1e19,), (-1e19,), (9.3e18,), (1.5e20,), (2.5,)])


@pytest.mark.parametrize("order", ["guard_first", "guard_last"])
def test_guard_order_does_not_matter(order: str) -> None:
    """A guard and the division it protects, in either order: both backends do the same thing."""
    body = "x != 0, 10 // x > 2" if order == "guard_first" else "10 // x > 2, x != 0"
    src = f"input n(x: int)\noutput o(x: int)\no(x) :- n(x), {body}."
    rows = {"n": [(0,), (1,), (3,), (4,)]}
    got = {t: outcome(dfl.compile(src), t, **rows) for t in BACKENDS}
    assert got["cpu"][0] == got["interp"][0], got
    if got["interp"][0] == "ok":
        assert_same_results(got["cpu"][1], got["interp"][1])
    else:
        assert got["cpu"][1] == got["interp"][1]


def test_same_program_object_runs_twice() -> None:
    """A compiled plan (and its string pool) reused for a second run with other rows."""
    src = """
        input e(a: str, b: str)
        output tc(a: str, b: str)
        output first(a: str)
        tc(x, y) :- e(x, y).
        tc(x, z) :- tc(x, y), e(y, z).
        first(min(a)) :- e(a, _)."""
    prog_cpu, prog_ref = dfl.compile(src), dfl.compile(src)
    for rows in ([("b", "c"), ("c", "d")], [("zz", "a"), ("a", "é"), ("é", "zz")], []):
        assert_same_results(prog_cpu.run(target="cpu", e=rows), prog_ref.run(target="interp", e=rows))


def test_large_random_graphs() -> None:
    """Enough rows to grow every hash table several times (RowSet, JoinIndex, lattice stores)."""
    rnd = random.Random(7)
    edges = sorted({(rnd.randrange(300), rnd.randrange(300)) for _ in range(700)})
    weighted = [(a, b, rnd.randrange(0, 20)) for a, b in edges]
    src = """
        input e(a: int, b: int)
        input w(a: int, b: int, c: int)
        output reach(a: int, b: int)
        output dist(n: int, d: min<int>)
        output deg(a: int, n: int)
        output lonely(a: int)
        reach(x, y) :- e(x, y), x < 40.
        reach(x, z) :- reach(x, y), e(y, z).
        dist(0, 0).
        dist(b, d + c) :- dist(a, d), w(a, b, c).
        deg(x, count()) :- reach(x, _).
        lonely(y) :- e(_, y), !reach(_, y).
    """
    run_both(src, e=edges, w=weighted)


def test_large_relations_distinct_and_grouping() -> None:
    """More than a thousand rows: the unique-column shortcut of distinct, packed/dense and hashed
    group ids (small ranges, int64 extremes, floats), duplicates from two rules."""
    rnd = random.Random(11)
    rows = [(i, rnd.randrange(-20, 20), rnd.choice([INT_MIN, INT_MAX, 0, rnd.randrange(1 << 40)]),
             rnd.choice([0.0, -0.0, 0.5, rnd.random()])) for i in range(3000)]
    rows += rows[:500]  # duplicate rows
    src = """
        input p(i: int, a: int, b: int, f: float)
        output u(i: int, a: int)
        output dup(a: int, b: int)
        output g(a: int, n: int, s: int, lo: int, hi: int, m: float)
        output gf(f: float, n: int)
        output ab(a: int, b: int, n: int)
        u(i, a) :- p(i, a, _, _).
        u(i + 1, a) :- p(i, a, _, _), a > 0.
        dup(a, b) :- p(_, a, b, _).
        g(a, count(), sum(b), min(b), max(b), mean(i)) :- p(i, a, b, _).
        gf(f, count()) :- p(_, _, _, f), f < 0.6.
        ab(a, b, count()) :- p(i, a, b, _), i % 3 = 0.
    """
    run_both(src, p=rows)


def test_large_strings() -> None:
    """Many distinct strings created while running: the pool grows between comparisons."""
    rnd = random.Random(3)
    alphabet = "abcXYZé日,🎉 "
    words = sorted({"".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 6))) for _ in range(400)})
    src = """
        input s(w: str)
        output pairs(a: str, n: int)
        output cat(c: str)
        output mm(lo: str, hi: str)
        output words(w: str, n: int)
        pairs(a, n) :- s(a), n = count : { s(b), b < a }.
        cat(c) :- s(a), s(b), c = a + b, len(c) = 2, c > "b", c < "é".
        mm(min(c), max(c)) :- s(a), c = upper(a) + "!".
        words(x, count()) :- s(a), x in split(a, " ").
    """
    run_both(src, s=[(w,) for w in words])


# ---------------------------------------------------------------- 3. run-time errors


RUNTIME_ERRORS = [
    ("int_division_by_zero", "input n(x: int)\noutput o(q: float)\no(10 / x) :- n(x).", {"n": [(1,), (0,)]}),
    ("int_floordiv_by_zero", "input n(x: int)\noutput o(q: int)\no(10 // x) :- n(x).", {"n": [(0,)]}),
    ("int_mod_by_zero", "input n(x: int)\noutput o(q: int)\no(10 % x) :- n(x).", {"n": [(2,), (0,)]}),
    ("float_division_by_zero", "input n(x: float)\noutput o(q: float)\no(1.0 / x) :- n(x).", {"n": [(0.0,)]}),
    ("float_division_by_neg_zero", "input n(x: float)\noutput o(q: float)\no(1.0 / x) :- n(x).",
     {"n": [(-0.0,)]}),
    ("float_mod_by_zero", "input n(x: float)\noutput o(q: float)\no(x % 0.0) :- n(x).", {"n": [(1.0,)]}),
    ("division_in_filter", "input n(x: int)\noutput o(x: int)\no(x) :- n(x), 10 // x > 1.", {"n": [(0,), (1,)]}),
    ("division_in_recursion", """
        input e(a: int, b: int)
        output r(a: int)
        r(1).
        r(y) :- r(x), e(x, y), 100 // (y - 3) > -1000.""", {"e": [(1, 2), (2, 3)]}),
    ("division_in_body_aggregate", """
        input n(x: int)
        output o(s: int)
        o(s) :- s = sum (10 // x) : n(x).""", {"n": [(5,), (0,)]}),
    ("log_zero", "input n(x: float)\noutput o(l: float)\no(log(x)) :- n(x).", {"n": [(1.0,), (0.0,)]}),
    ("log_negative", "input n(x: int)\noutput o(l: float)\no(log(x)) :- n(x).", {"n": [(-3,)]}),
    ("sqrt_negative", "input n(x: float)\noutput o(l: float)\no(sqrt(x)) :- n(x).", {"n": [(4.0,), (-1e-9,)]}),
    ("to_int_bad_string", "input s(t: str)\noutput o(v: int)\no(to_int(t)) :- s(t).", {"s": [("12",), ("1x",)]}),
    ("to_int_empty_string", "input s(t: str)\noutput o(v: int)\no(to_int(t)) :- s(t).", {"s": [("",)]}),
    ("to_int_separator", "input s(t: str)\noutput o(v: int)\no(to_int(t)) :- s(t).", {"s": [("1_000",)]}),
    ("to_int_too_big", "input s(t: str)\noutput o(v: int)\no(to_int(t)) :- s(t).",
     {"s": [("9223372036854775808",)]}),
    ("to_float_bad_string", "input s(t: str)\noutput o(v: float)\no(to_float(t)) :- s(t).", {"s": [("abc",)]}),
    ("pow_negative_exponent", "input n(a: int, b: int)\noutput o(v: int)\no(pow(a, b)) :- n(a, b).",
     {"n": [(2, 3), (2, -1)]}),
    ("pow_float_not_real", "input n(a: float)\noutput o(v: float)\no(pow(a, 0.5)) :- n(a).", {"n": [(-4.0,)]}),
    ("pow_float_overflow", "input n(a: float)\noutput o(v: float)\no(pow(a, 400.0)) :- n(a).", {"n": [(10.0,)]}),
    ("split_empty_separator", "input s(t: str)\noutput o(w: str)\no(w) :- s(t), w in split(t, \"\").",
     {"s": [("abc",)]}),
    ("floor_of_inf", "input n(x: float)\noutput o(v: int)\no(floor(exp(x))) :- n(x).", {"n": [(1000.0,)]}),
    ("to_int_of_nan", "input n(x: float)\noutput o(v: int)\no(to_int(x - x)) :- n(x).", {"n": [(math.inf,)]}),
]


@pytest.mark.parametrize("name,src,rows", RUNTIME_ERRORS, ids=[e[0] for e in RUNTIME_ERRORS])
def test_runtime_errors_on_both(name: str, src: str, rows: dict) -> None:
    errors_on_both(src, "runtime", **rows)


# docs/semantics.md, "Float sums": where math.fsum would refuse, the language gives a value
FLOAT_SUM_LIMITS = [
    ("float_sum_intermediate_overflow", "input n(i: int, x: float)\noutput o(s: float)\no(sum(x)) :- n(_, x).",
     {"n": [(1, 1e308), (2, 1e308), (3, -1e308), (4, -1e308)]}, [(0.0,)]),
    ("float_sum_total_overflow", "input n(i: int, x: float)\noutput o(s: float)\no(sum(x)) :- n(_, x).",
     {"n": [(1, 1e308), (2, 1e308)]}, [(math.inf,)]),
    ("float_sum_inf_minus_inf", "input n(x: float)\noutput o(s: float)\no(s) :- s = sum x : n(x).",
     {"n": [(math.inf,), (-math.inf,)]}, None),
    ("float_mean_intermediate_overflow", "input n(i: int, x: float)\noutput o(s: float)\no(mean(x)) :- n(_, x).",
     {"n": [(1, 1e308), (2, 1e308), (3, -1e308)]}, [(1e308 / 3,)]),
]


@pytest.mark.parametrize("name,src,rows,want", FLOAT_SUM_LIMITS, ids=[e[0] for e in FLOAT_SUM_LIMITS])
def test_float_sums_at_the_limits_agree(name: str, src: str, rows: dict, want) -> None:
    ref = run_both(src, **rows)
    if want is None:  # inf + -inf is nan
        assert len(ref["o"]) == 1 and math.isnan(ref["o"][0][0])
    else:
        assert ref["o"] == want


def test_runtime_error_messages_name_the_rule_line() -> None:
    src = "input n(x: int)\noutput o(q: int)\n\no(10 // x) :- n(x)."
    msgs = {}
    for target in BACKENDS:
        with pytest.raises(DflError) as info:
            dfl.compile(src).run(target=target, n=[(0,)])
        msgs[target] = info.value
    for target, e in msgs.items():
        assert "division by zero" in e.message, (target, e.message)
        assert e.span is not None and e.span.line == 4, (target, e.span)


def test_runtime_error_cli_exit_status(tmp_path: Path, dfl_cli) -> None:
    prog = tmp_path / "p.dfl"
    prog.write_text("input n(x: int)\noutput o(q: int)\no(10 // x) :- n(x).\n", encoding="utf-8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "n.csv").write_text("x\n1\n0\n", encoding="utf-8")
    for target in BACKENDS:
        out = tmp_path / f"out_{target}"
        r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", out, "--target", target)
        assert r.returncode == 3, (target, r.stderr)
        assert "Traceback" not in r.stderr
        assert not out.exists() or not any(out.iterdir()), f"{target} wrote outputs after a run-time error"


def test_guarded_errors_do_not_fire() -> None:
    """The same error-raising expressions, guarded so that no row reaches them: no error."""
    run_both("""
        input n(x: int, s: str, f: float)
        output o(a: int, b: int, c: float, d: float, e: int, g: int)
        o(if x != 0 then 10 // x else 0, if x != 0 then 10 % x else 0,
          if f > 0.0 then log(f) else 0.0, if f >= 0.0 then sqrt(f) else 0.0,
          if s != "bad" then to_int(s) else -1, if x >= 0 then pow(2, x) else 0) :- n(x, s, f).""",
             n=[(0, "bad", -1.0), (2, "5", 4.0), (-1, " 3", 0.0)])
