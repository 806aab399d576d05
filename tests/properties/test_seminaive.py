"""Properties of recursion: semi-naive evaluation = the naive fixpoint = a naive reference.

Programs and data come from `strategies.programs()` (joins, constants, comparisons, guarded
arithmetic bindings, negation and aggregates over lower strata, head and body aggregates,
`min<int>` shortest paths, linear, non-linear and mutual recursion). Two properties:

1. The graph after the semi-naive pass computes what the lowered graph computes without it
   (the interpreter's fixpoint loop is then the naive fixpoint).
2. The compiled program computes what `reference.py`, an independent naive evaluator over
   the AST, computes.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, note, settings

import reference
from strategies import GenProgram, programs

from dfl.api import Program
from dfl.compiler.lower import lower
from dfl.compiler.pipeline import PASSES, optimize
from dfl.ir.verify import verify
from dfl.lang import ast
from dfl.lang.check import check
from dfl.lang.parser import parse
from dfl.runtime.io.csvio import read_relation

TARGET = "interp"  # the interpreter defines the semantics (other backends are tested against it)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Hand-written programs every run checks first (they also document what the generator makes).
TC_NONLINEAR = GenProgram("""\
input e0(c0: int, c1: int)
output r0(c0: int, c1: int)
r0(x, y) :- e0(x, y).
r0(x, y) :- r0(x, z), r0(z, y).
""", {"e0": [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (2, 2)]})

SHORTEST_PATHS = GenProgram("""\
input e0(c0: int, c1: int)
input e1(c0: int, c1: int, c2: int)
output r0(c0: int, c1: min<int>)
output r1(c0: int, c1: int, c2: min<int>)
output r2(c0: int, c1: int)
r0(x, 0) :- e0(x, _).
r0(y, d + k) :- r0(x, d), e1(x, y, k), k >= 0.
r1(x, y, k) :- e1(x, y, k), k >= 0.
r1(x, z, d1 + d2) :- r1(x, y, d1), r1(y, z, d2).
r2(x, count()) :- r1(x, _, d), d > 1.
""", {"e0": [(0, 0)], "e1": [(0, 1, 4), (0, 2, 1), (2, 1, 1), (1, 3, 0), (3, 0, 2), (2, 2, 0)]})

MUTUAL = GenProgram("""\
input e0(c0: int, c1: int)
input e1(c0: int)
output r0(c0: int)
output r1(c0: int)
output r2(c0: int, c1: int)
r0(x) :- e1(x).
r1(y) :- r0(x), e0(x, y), y >= 0, y < 5.
r0(z) :- r1(y), z = y + 1, y >= -1, y < 5.
r2(x, n) :- r0(x), !r1(x), n = count : e0(x, _), m = min y : { e0(y, _), y > x }, n <= m.
""", {"e0": [(0, 2), (3, 0), (2, 2)], "e1": [(0,)]})

EXAMPLES = [TC_NONLINEAR, SHORTEST_PATHS, MUTUAL]


def _compile(source: str):
    """The checked program, its graph without any pass (naive) and after the passes (semi-naive);
    the IR verifier runs on both."""
    checked = check(parse(source))
    g_naive = lower(checked)
    verify(g_naive)
    return checked, g_naive, optimize(g_naive, PASSES, verify=True)


@example(TC_NONLINEAR)
@example(SHORTEST_PATHS)
@example(MUTUAL)
@SETTINGS
@given(programs())
def test_seminaive_equals_naive_fixpoint(prog: GenProgram) -> None:
    checked, g_naive, g_semi = _compile(prog.source)
    naive = Program(checked, g_naive).run(**prog.inputs, target=TARGET)
    semi = Program(checked, g_semi).run(**prog.inputs, target=TARGET)
    note(f"naive: {dict(naive.relations)}")
    note(f"semi-naive: {dict(semi.relations)}")
    assert dict(semi.relations) == dict(naive.relations)


@example(TC_NONLINEAR)
@example(SHORTEST_PATHS)
@example(MUTUAL)
@SETTINGS
@given(programs())
def test_compiled_equals_reference(prog: GenProgram) -> None:
    checked, _, g_semi = _compile(prog.source)
    got = Program(checked, g_semi).run(**prog.inputs, target=TARGET)
    want = reference.run(prog.source, prog.inputs)
    note(f"compiled: {dict(got.relations)}")
    note(f"reference: {want}")
    assert dict(got.relations) == want


# ---------------------------------------------------------------- the oracles themselves


def test_hand_examples_have_known_results() -> None:
    """The reference (and so the properties) agree with results worked out by hand."""
    tc = reference.run(TC_NONLINEAR.source, TC_NONLINEAR.inputs)["r0"]
    assert tc == sorted({(a, b) for a in range(5) for b in range(5)})
    sp = reference.run(SHORTEST_PATHS.source, SHORTEST_PATHS.inputs)
    assert sp["r0"] == [(0, 0), (1, 2), (2, 1), (3, 2)]
    assert (0, 1, 2) in sp["r1"] and (0, 0, 4) in sp["r1"] and (2, 2, 0) in sp["r1"]
    assert sp["r2"] == [(0, 3), (1, 3), (2, 1), (3, 4)]
    mu = reference.run(MUTUAL.source, MUTUAL.inputs)
    assert mu["r0"] == [(0,), (1,), (3,)] and mu["r1"] == [(0,), (2,)]
    # r2: x in r0 - r1 = {1, 3}; n = out-degree (0 for 1); m = least source > x (none for 3: false)
    assert mu["r2"] == [(1, 0)]


@pytest.mark.parametrize("src, rows, want", [
    # `_` counts as a variable of its own: distinct (x, _) edges
    ("input e(a: int, b: int)\noutput d(a: int, n: int)\nd(x, count()) :- e(x, _).",
     [(1, 2), (1, 3), (2, 2)], [(1, 2), (2, 1)]),
    # distinct combinations: sum over distinct (x, y), not over distinct y values
    ("input e(a: int, b: int)\noutput s(n: int)\ns(sum(y)) :- e(_, y).",
     [(1, 2), (3, 2), (4, 1)], [(5,)]),
    # body count over nothing is 0; body min over nothing is false
    ("input e(a: int, b: int)\noutput c(a: int, n: int)\noutput m(a: int, n: int)\n"
     "c(x, n) :- e(_, x), n = count : e(x, _).\nm(x, n) :- e(_, x), n = min y : e(x, y).",
     [(1, 2)], None),
])
def test_reference_semantics(src: str, rows, want) -> None:
    out = reference.run(src, {"e": rows})
    if want is not None:
        (rel,) = out
        assert out[rel] == want
    else:
        assert out == {"c": [(2, 0)], "m": []}
    checked, _, g = _compile(src)
    assert dict(Program(checked, g).run(e=rows, target=TARGET).relations) == out


EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES_DIR.glob("*/") if (p / "prog.dfl").exists()))
def test_reference_agrees_with_the_examples(example: str) -> None:
    """The reference reproduces the examples' expected outputs (those in the subset it evaluates)."""
    folder = EXAMPLES_DIR / example
    source = (folder / "prog.dfl").read_text(encoding="utf-8")
    cp = check(parse(source))
    inputs = {}
    for name, decl in cp.relations.items():
        found = [folder / "in" / f"{name}.{ext}" for ext in ("csv", "facts") if (folder / "in" / f"{name}.{ext}").exists()]
        if "input" in decl.kinds and found:
            inputs[name] = read_relation(str(found[0]), decl.schema, name)
    try:
        got = reference.evaluate(cp, inputs)
    except (NotImplementedError, reference.Unsupported) as e:
        pytest.skip(f"outside the reference's subset: {e}")
    for name, decl in cp.relations.items():
        if "output" in decl.kinds:
            want = read_relation(str(folder / "out" / f"{name}.csv"), decl.schema, name)
            assert sorted(got[name]) == sorted(want), name


def test_generator_covers_the_features() -> None:
    """Each feature the properties are meant to exercise shows up in generated programs."""
    def recursion(p: GenProgram, pred) -> bool:
        cp = check(parse(p.source))
        return any(pred(s, [r.rule for r in cp.rules if r.head.rel in s.relations]) for s in cp.strata
                   if s.recursive)

    def nonlinear(s, rules) -> bool:
        return any(sum(isinstance(l, ast.Atom) and l.rel in s.relations for l in r.body) >= 2 for r in rules)

    wanted = {
        "lattice": lambda p: "min<int>" in p.source,
        "negation": lambda p: "!" in p.source,
        "head aggregate": lambda p: "count()" in p.source or "sum(" in p.source,
        "body aggregate": lambda p: " : " in p.source,
        "binding": lambda p: "+ 1 =" in p.source or "= v" in p.source,
        "mutual recursion": lambda p: recursion(p, lambda s, rules: len(s.relations) > 1),
        "non-linear recursion": lambda p: recursion(p, nonlinear),
    }
    seen: dict[str, int] = dict.fromkeys(wanted, 0)

    @settings(max_examples=100, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(programs())
    def draw(p: GenProgram) -> None:
        for name, pred in wanted.items():
            seen[name] += pred(p)

    draw()
    assert all(seen.values()), seen
