"""The worker pool computes what one process computes: every example, every acceptance
case and every targeted parity program (tests/backends/test_parity.py) runs placed over
1, 2 and 3 partitions on a local pool of worker processes, against the interpreter, with
the pipelined schedule (the default) and, on 2 partitions, the bulk-synchronous one.

The pool is shared by the whole module (workers start once); each program's graph is
loaded by the workers on its first tick.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import dfl
from dfl.runtime.dist import batches
from dfl.runtime.io import file_inputs
from dfl.runtime.pools.pool import LocalPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared helpers

from tests.backends.test_parity import CASES, assert_same_outcome, load_case, outcome  # noqa: E402
from test_examples import ACCEPTANCE, EXAMPLES, cases  # noqa: E402

PARTS = [1, 2, 3]


@pytest.fixture(scope="module")
def pool():
    with LocalPool(2) as p:
        yield p


@pytest.mark.parametrize("parts,cut,schedule", [(1, False, "pipelined"), (2, False, "pipelined"),
                                                (3, False, "pipelined"), (2, True, "pipelined"),
                                                (2, False, "stages")],
                         ids=["1", "2", "3", "2-files-read-by-workers-all-through-shm", "2-stages"])
@pytest.mark.parametrize("case", cases(EXAMPLES) + cases(ACCEPTANCE), ids=lambda c: c.name)
def test_suite_case_on_the_pool(case: Path, parts: int, cut: bool, schedule: str, pool, monkeypatch) -> None:
    if cut:  # every input file is read by the workers in parts, and every column of every
        # batch and output goes through shared memory, however small
        monkeypatch.setattr(file_inputs, "MIN_BYTES", 0)
        monkeypatch.setattr(batches, "SHM_MIN_BYTES", 0)
    loaded = load_case(case)
    if loaded is None:
        return
    prog, kw = loaded
    ref = outcome(prog, "interp", each_tick=True, **kw)
    got = outcome(prog, "cpu", each_tick=True, workers=parts, pool=pool, schedule=schedule, **kw)
    assert_same_outcome(got, ref, f"{case.name} on {parts} partitions")
    if ref[0] == "ok":
        assert got[1].dist is not None and got[1].dist.placed.parts == parts


@pytest.mark.parametrize("parts,shm,schedule", [(2, False, "pipelined"), (3, False, "pipelined"),
                                                (2, True, "pipelined"), (2, False, "stages")],
                         ids=["2", "3", "2-all-through-shm", "2-stages"])
@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_targeted_program_on_the_pool(case, parts: int, shm: bool, schedule: str, pool, monkeypatch) -> None:
    if shm:
        monkeypatch.setattr(batches, "SHM_MIN_BYTES", 0)
    prog = dfl.compile(case.src)
    kw = dict(max_ticks=case.max_ticks, each_tick=case.each_tick, **case.rows)
    ref = outcome(prog, "interp", **kw)
    got = outcome(prog, "cpu", workers=parts, pool=pool, schedule=schedule, **kw)
    assert_same_outcome(got, ref, f"{case.id} on {parts} partitions")


def test_a_run_off_the_pool_imports_neither_the_pool_nor_numba_for_the_interpreter() -> None:
    """The interpreter's start-up stays numba-free: the pool's modules load only for a
    run on the pool (a fresh process, so other tests' imports do not count)."""
    import subprocess

    code = ("import sys, dfl\n"
            "p = dfl.compile('input e(a: int)\\noutput o(a: int)\\no(x) :- e(x).\\n')\n"
            "assert p.run(target='interp', e=[(1,)])['o'] == [(1,)]\n"
            "print(sorted(m for m in ('numba', 'dfl.runtime.session', 'dfl.runtime.pools.pool') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
