"""One options object for runs (runtime/options.py): what `Program.run`'s keywords build,
what `run_with`, the session and the CLI pass on."""
from __future__ import annotations

import dataclasses

import pytest

import dfl
from dfl.errors import DflError
from dfl.runtime.options import RunOptions

PROG = "input e(a: int, b: int)\noutput p(a: int, b: int)\np(x, z) :- e(x, y), e(y, z).\n"
ROWS = [(1, 2), (2, 3), (3, 4)]


def test_the_defaults_run_in_one_process_on_cpu():
    o = RunOptions()
    assert o.target == "cpu" and not o.on_pool and not o.wanted and o.max_retries == 3


@pytest.mark.parametrize("kw", [{"workers": 2}, {"autoscale": "1..2"}, {"engine": "ray"}, {"pool": object()}])
def test_any_pool_option_asks_for_the_pool(kw):
    assert RunOptions(**kw).on_pool
    assert RunOptions(**kw).wanted == ("pool" not in kw)


def test_a_schedule_is_checked_for_a_run_on_the_pool_only():
    RunOptions(schedule="nope")  # a one-process run has no schedule to get wrong
    with pytest.raises(DflError, match="schedule 'nope' is not known"):
        RunOptions(workers=2, schedule="nope")


def test_options_are_values():
    o = RunOptions(workers=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.workers = 3  # type: ignore[misc]
    assert dataclasses.replace(o, workers=3).workers == 3 and o == RunOptions(workers=2)


@pytest.mark.parametrize("target", ["cpu", "interp"])
def test_run_keywords_and_run_with_give_one_result(target):
    prog = dfl.compile(PROG)
    a = prog.run(e=ROWS, target=target, max_ticks=1)
    b = prog.run_with(RunOptions(target=target, max_ticks=1), {"e": ROWS})
    assert a.relations == b.relations == {"p": [(1, 3), (2, 4)]} and a.ticks == b.ticks == 1


def test_run_with_on_the_pool():
    prog = dfl.compile(PROG)
    r = prog.run_with(RunOptions(workers=2), {"e": ROWS})
    assert r["p"] == [(1, 3), (2, 4)] and r.dist is not None
    with pytest.raises(DflError, match="the worker pool runs the cpu and cuda targets, not interp"):
        prog.run_with(RunOptions(target="interp", workers=2), {"e": ROWS})
