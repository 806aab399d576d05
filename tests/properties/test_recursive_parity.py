"""Property: on general recursion, the interpreter, the cpu backend in one process and the
cpu backend on the worker pool (2 workers) compute the same rows, row for row.

Programs come from `recursive_programs()` (recursive_programs.py): several mutually
recursive relations (linear and non-linear rules), `min<int>` and `max<int>` lattices (two
mutually recursive `min` relations among them), negation of lower strata inside recursive
rules and above them, and random small inputs; and the benchmarks' own programs
(benchmarks/workloads: points-to, components, same generation, CSPA, sessions) on random
small inputs. One pool serves every example (its start
is the cost of a run on it); examples are few and the whole file runs in well under a
minute on 2 cores (DFL_PROPERTY_SCALE multiplies them for a bug hunt)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from recursive_programs import recursive_programs
from strategies import GenProgram

import dfl
from dfl.lang import ast
from dfl.lang.check import check
from dfl.lang.parser import parse
from dfl.runtime.pools.pool import LocalPool

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from workloads import RECURSIVE  # noqa: E402  (the benchmarks' programs: one text for both)

SCALE = float(os.environ.get("DFL_PROPERTY_SCALE", "1"))
SETTINGS = settings(max_examples=max(1, int(40 * SCALE)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# every feature at once, by hand: three mutually recursive relations, both lattices (two
# mutually recursive min relations), negation inside the recursion of a higher stratum
ALL_AT_ONCE = GenProgram("""\
input n(c0: int)
input e(c0: int, c1: int)
input w(c0: int, c1: int, c2: int)
output a0(c0: int, c1: int)
output a1(c0: int)
output a2(c0: int, c1: int)
output m0(c0: int, c1: min<int>)
output m1(c0: int, c1: min<int>)
output x0(c0: int, c1: max<int>)
output b0(c0: int, c1: int)
output b1(c0: int)
output c0(c0: int, c1: int)

a0(x, y) :- e(x, y).
a0(x, z) :- a2(x, y), a0(y, z).
a1(y) :- a0(_, y).
a1(x) :- n(x).
a2(x, y) :- a1(x), e(x, y).
a2(y, x) :- a2(x, y).
m0(x, 0) :- a1(x).
m1(y, d + k) :- m0(x, d), w(x, y, k), k >= 0.
m0(y, d + 1) :- m1(x, d), e(x, y).
x0(x, x) :- n(x).
x0(y, l) :- x0(x, l), e(x, y).
b0(x, y) :- e(x, y), !a0(y, x).
b0(x, z) :- b1(x), e(x, y), e(y, z), !a2(z, z).
b1(y) :- b0(_, y), !a1(y).
b1(x) :- m1(x, d), d < 3.
c0(x, y) :- e(y, x), !b0(x, y), !b1(y).
""", {"n": [(0,), (3,), (5,)], "e": [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (2, 2), (4, 1)],
      "w": [(0, 2, 1), (2, 4, 0), (1, 3, 5), (4, 1, 2)]})


@pytest.fixture(scope="module")
def pool():
    with LocalPool(2) as p:
        yield p


def _rows(result, names) -> dict[str, list[tuple]]:
    return {r: sorted(result[r]) for r in names}


def _agree(source: str, inputs: dict, pool) -> None:
    note(source)
    compiled = dfl.compile(source)
    names = sorted(compiled.outputs)
    want = _rows(compiled.run(target="interp", **inputs), names)
    note(f"interp: {want}")
    assert _rows(compiled.run(target="cpu", **inputs), names) == want, "cpu (one process) differs"
    got = _rows(compiled.run(target="cpu", workers=2, pool=pool, **inputs), names)
    assert got == want, "cpu on the pool (2 workers) differs"


@example(prog=ALL_AT_ONCE)
@SETTINGS
@given(prog=recursive_programs())
def test_interp_cpu_and_pool_agree_on_recursion(prog: GenProgram, pool) -> None:
    _agree(prog.source, prog.inputs, pool)


@st.composite
def _workload_rows(draw, name: str) -> dict[str, list[tuple]]:
    """Random small inputs for a benchmark program (times for `sessions` around its gap)."""
    small, times = st.integers(0, 7), st.integers(0, 12).map(lambda t: t * 600)
    return {rel: [tuple(draw(times if c == "ts" else small) for c in cols) for _ in range(draw(st.integers(0, 14)))]
            for rel, cols in RECURSIVE[name].SCHEMA.items()}


@pytest.mark.parametrize("name", sorted(RECURSIVE))
@settings(max_examples=max(1, int(8 * SCALE)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_benchmark_programs_agree_on_random_inputs(name: str, data, pool) -> None:
    """The general workloads' own programs (points-to, components by min label, same
    generation, CSPA, sessions) on random small inputs: interp = cpu = pool."""
    _agree(RECURSIVE[name].DFL_SRC, data.draw(_workload_rows(name)), pool)


@SETTINGS
@given(prog=recursive_programs())
def test_generated_programs_have_the_strata_they_promise(prog: GenProgram) -> None:
    """The generator makes what the parity property is meant to cover: a recursive stratum
    of 2..3 relations, lattice columns, and negation within a recursive stratum above it."""
    cp = check(parse(prog.source))
    rec = [s for s in cp.strata if s.recursive]
    assert any(len(s.relations) >= 2 and all(r.startswith("a") for r in s.relations) for s in rec)
    assert "min<int>" in prog.source or "max<int>" in prog.source
    if "b0" in cp.relations:
        (bs,) = [s for s in rec if "b0" in s.relations]
        negating = [r for r in cp.rules if r.head.rel in bs.relations
                    and any(isinstance(lit, ast.Negation) for lit in r.rule.body)]
        assert set(bs.relations) >= {"b0", "b1"} and negating
