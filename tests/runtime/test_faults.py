"""Faults: a worker process killed mid-run is replaced and its partitions re-run; the
result is identical, nothing hangs, no row is lost. A worker that keeps dying fails the
run with a clear message after a bounded number of retries. A worker that stops (SIGSTOP)
is found silent, killed and replaced the same way; a busy one is left alone."""
from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest

import dfl
from dfl.errors import DflError
from dfl.runtime.pools.pool import LocalPool
from dfl.runtime.stats import stats_json

TC = """
input edge(x: int, y: int)
output path(x: int, y: int)
output n(c: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
n(count()) :- path(_, _).
"""


def _edges(seed: int = 3, nodes: int = 120, m: int = 300) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(rng.randrange(nodes), rng.randrange(nodes)) for _ in range(m)]


def _killer(at_stage: int, times: int):
    """An on_stage hook that SIGKILLs the worker of partition 0 before stage `at_stage`."""
    done = []

    def hook(tick: int, stage: int, where) -> None:
        pool, home = where
        if stage == at_stage and len(done) < times:
            done.append(stage)
            pool.kill(home[0])
    hook.kills = done
    return hook


@pytest.mark.parametrize("schedule", ["pipelined", "stages"])
@pytest.mark.parametrize("stage", [0, 1, 2])
def test_a_killed_worker_is_replaced_and_the_result_is_identical(stage: int, schedule: str) -> None:
    """`stage`: a stage of the bulk-synchronous schedule, a wave of steps of the pipelined one."""
    prog = dfl.compile(TC)
    rows = _edges()
    want = prog.run(target="interp", edge=rows)
    hook = _killer(stage, 1)
    with LocalPool(2) as pool:
        got = prog.run(edge=rows, workers=2, pool=pool, on_stage=hook, schedule=schedule)
        assert pool.stats.replaced == 1
    assert hook.kills == [stage]
    assert got["path"] == want["path"] and got["n"] == want["n"]
    assert got.dist.plan.stats.retries == 1


def test_a_worker_that_keeps_dying_fails_the_run_clearly() -> None:
    prog = dfl.compile(TC)

    def always(tick: int, stage: int, where) -> None:
        pool, home = where
        pool.kill(home[0])

    with LocalPool(2) as pool:
        with pytest.raises(DflError) as e:
            prog.run(edge=_edges(), workers=2, pool=pool, on_stage=always)
    assert e.value.kind == "runtime"
    assert "died" in e.value.message and "giving up after 3 retries" in e.value.message
    assert "partition(s) [0]" in e.value.message


def test_a_killed_worker_between_runs_is_noticed_and_replaced() -> None:
    prog = dfl.compile(TC)
    rows = _edges(7)
    want = prog.run(target="interp", edge=rows)
    with LocalPool(2) as pool:
        assert prog.run(edge=rows, workers=2, pool=pool)["path"] == want["path"]
        pool.kill(sorted(pool.procs)[0])
        assert prog.run(edge=rows, workers=2, pool=pool)["path"] == want["path"]


SSSP = """
input edge(x: int, y: int, w: int)
output dist(n: int, d: min<int>)
dist(0, 0).
dist(y, d + w) :- dist(x, d), edge(x, y, w).
"""


def test_a_worker_killed_during_distributed_semi_naive_rounds_restarts_the_tick() -> None:
    from dfl.compiler.placement import placement
    from dfl.runtime.dist.worker import stages_of

    prog = dfl.compile(SSSP)
    rng = random.Random(11)
    rows = [(rng.randrange(80), rng.randrange(80), rng.randrange(1, 30)) for _ in range(400)]
    want = prog.run(target="interp", edge=rows)
    placed = placement(prog.graph, 2).graph
    fix = next(n for n in placed.nodes if n.op == "fixpoint")
    assert fix.attr("iterate") is not None  # it runs as distributed rounds
    at = stages_of(placed)[fix.id]  # the hook's first call at this stage comes just before the rounds
    kills = []

    def hook(tick: int, stage: int, where) -> None:
        pool, home = where
        if stage == at and not kills:
            kills.append(stage)
            pool.kill(home[1])

    with LocalPool(2) as pool:
        got = prog.run(edge=rows, workers=2, pool=pool, on_stage=hook, schedule="stages")
        assert pool.stats.replaced == 1
    assert kills == [at]
    assert got["dist"] == want["dist"]
    assert got.dist.plan.stats.retries == 1


def test_a_worker_killed_during_pipelined_rounds_restarts_the_tick(monkeypatch) -> None:
    """The pipelined schedule runs a distributed fixpoint's rounds once every partition
    has its inputs; a worker lost in them restarts the tick there too."""
    from dfl.runtime.dist.pipelined import PipelinedPlan

    prog = dfl.compile(SSSP)
    rng = random.Random(12)
    rows = [(rng.randrange(80), rng.randrange(80), rng.randrange(1, 30)) for _ in range(400)]
    want = prog.run(target="interp", edge=rows)
    original = PipelinedPlan._iterate
    kills = []

    def iterate(self, home, n) -> None:
        if not kills:
            kills.append(n.id)
            self.pool.kill(home[1])
        original(self, home, n)

    monkeypatch.setattr(PipelinedPlan, "_iterate", iterate)
    with LocalPool(2) as pool:
        got = prog.run(edge=rows, workers=2, pool=pool)
        assert pool.stats.replaced == 1
    assert len(kills) == 1
    assert got["dist"] == want["dist"]
    assert got.dist.plan.stats.retries == 1


@pytest.mark.parametrize("schedule", ["pipelined", "stages"])
def test_a_stopped_worker_is_killed_replaced_and_the_result_is_identical(schedule: str, monkeypatch) -> None:
    """Without the liveness check the run waits for the stopped worker forever: a watchdog
    kills it after 60 s so that the test fails instead of hanging."""
    monkeypatch.setenv("DFL_WORKER_TIMEOUT", "1")
    prog = dfl.compile(TC)
    rows = _edges()
    want = prog.run(target="interp", edge=rows)
    stopped: list[int] = []

    def hook(tick: int, stage: int, where) -> None:
        pool, home = where
        if stage == 1 and not stopped:
            stopped.append(pool.pid(home[0]))
            os.kill(stopped[0], signal.SIGSTOP)

    watchdog = threading.Timer(60, lambda: [os.kill(p, signal.SIGKILL) for p in stopped])
    watchdog.start()
    t0 = time.monotonic()
    try:
        with LocalPool(2) as pool:
            got = prog.run(edge=rows, workers=2, pool=pool, on_stage=hook, schedule=schedule)
            took = time.monotonic() - t0
            assert pool.stats.replaced == 1
    finally:
        watchdog.cancel()
    assert stopped and took < 30
    assert got["path"] == want["path"] and got["n"] == want["n"]
    assert got.dist.plan.stats.retries == 1
    assert stats_json(got.dist)["pool"]["hung"] == 1  # --stats-json, and --stats, say so


def test_a_worker_busy_in_a_long_kernel_is_not_killed(monkeypatch) -> None:
    """A numba kernel holds the GIL, so a busy worker's heartbeat thread is silent for as
    long as a kernel runs; its CPU time shows it is alive. Kernels here hold the GIL for
    longer than the 0.2 s timeout: counting heartbeats alone, this test fails."""
    monkeypatch.setenv("DFL_WORKER_TIMEOUT", "0.2")
    prog = dfl.compile(TC)
    rows = _edges(5, nodes=1500, m=4000)
    want = prog.run(edge=rows)  # one process
    with LocalPool(2) as pool:
        got = prog.run(edge=rows, workers=2, pool=pool)
        assert pool.stats.replaced == 0 and pool.stats.hung == 0
    assert got["path"] == want["path"] and got["n"] == want["n"]


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_bad_worker_timeout_is_a_usage_error(value: str, monkeypatch) -> None:
    monkeypatch.setenv("DFL_WORKER_TIMEOUT", value)
    with pytest.raises(DflError) as e:
        LocalPool(1)
    assert e.value.kind == "usage" and "DFL_WORKER_TIMEOUT" in e.value.message


def test_a_worker_timeout_of_zero_turns_the_check_off(monkeypatch) -> None:
    monkeypatch.setenv("DFL_WORKER_TIMEOUT", "0")
    with LocalPool(1) as pool:
        assert pool.watch.timeout_s is None


def test_a_worker_that_keeps_hanging_fails_the_run_clearly(monkeypatch) -> None:
    monkeypatch.setenv("DFL_WORKER_TIMEOUT", "0.5")
    prog = dfl.compile(TC)

    def always(tick: int, stage: int, where) -> None:
        pool, home = where
        os.kill(pool.pid(home[0]), signal.SIGSTOP)

    with LocalPool(2) as pool:
        with pytest.raises(DflError) as e:
            prog.run(edge=_edges(), workers=2, pool=pool, on_stage=always)
        assert pool.stats.hung == 4
    assert e.value.kind == "runtime" and "giving up after 3 retries" in e.value.message
    assert "killed after" in e.value.message and "without a sign of life" in e.value.message
