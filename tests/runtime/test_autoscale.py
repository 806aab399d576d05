"""The autoscaler policy (DESIGN.md, "Placement and the worker pool"): deterministic tests
with a fake clock (the `now` in each Load), and one test of the driver thread in real time."""
from __future__ import annotations

import logging
import threading
import time

import pytest

from dfl.runtime.pools.autoscale import AutoscaleLoop, Autoscaler, Decision, Load, Policy

# Small, exact times so the simulated timeline below is easy to follow.
POLICY = Policy(min_workers=0, max_workers=8, idle_s=2.0, zero_after_s=5.0, cooldown_s=0.5)


class FakePool:
    """A Scalable whose load is set by hand; `resize` just records the new size."""

    def __init__(self, workers: int, clock=time.monotonic) -> None:
        self.workers = workers
        self.busy = 0
        self.queued = 0
        self.p99: float | None = None
        self.clock = clock
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def load(self) -> Load:
        with self.lock:
            return Load(now=self.clock(), workers=self.workers, busy=min(self.busy, self.workers),
                        queued=self.queued, p99_latency_s=self.p99)

    def resize(self, n: int) -> None:
        with self.lock:
            self.workers = n
            self.sizes.append(n)


def run(scaler: Autoscaler, pool: FakePool, t0: float, t1: float, dt: float = 0.1) -> list[Decision]:
    """Sample the pool every `dt` simulated seconds in [t0, t1), applying each decision."""
    out = []
    for i in range(round((t1 - t0) / dt)):
        pool.clock = lambda t=t0 + i * dt: t
        d = scaler.observe(pool.load())
        if d is not None:
            pool.resize(d.after)
            out.append(d)
    return out


# --- Policy ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    (dict(min_workers=3, max_workers=2), "min_workers (3) must be <= max_workers (2)"),
    (dict(min_workers=0, max_workers=0), "max_workers must be >= 1"),
    (dict(min_workers=-1, max_workers=2), "min_workers must be >= 0"),
    (dict(idle_s=-1.0), "idle_s must be a non-negative"),
    (dict(zero_after_s=-0.1), "zero_after_s must be a non-negative"),
    (dict(cooldown_s=float("nan")), "cooldown_s must be a non-negative"),
    (dict(backlog_per_worker=0), "backlog_per_worker must be > 0"),
    (dict(target_latency_s=0), "target_latency_s must be > 0"),
    (dict(max_workers=2.5), "max_workers must be an integer"),
])
def test_policy_validation(kwargs: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Policy(**kwargs)


def test_policy_defaults() -> None:
    p = Policy()
    assert p.min_workers == 0 and p.max_workers >= 1 and p.target_latency_s is None


@pytest.mark.parametrize("text, lo, hi", [("0..8", 0, 8), ("2..2", 2, 2), ("4", 4, 4),
                                          (" 1 .. 3 ", 1, 3)])
def test_parse_range_good(text: str, lo: int, hi: int) -> None:
    p = Policy.parse_range(text)
    assert (p.min_workers, p.max_workers) == (lo, hi)


@pytest.mark.parametrize("text", ["", "0..", "..8", "a..b", "0...8", "0-8", "-1..3", "1.5..3",
                                  "8..2", "0..0"])
def test_parse_range_bad(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected --autoscale MIN\.\.MAX"):
        Policy.parse_range(text)


def test_parse_range_passes_other_knobs() -> None:
    assert Policy.parse_range("0..4", idle_s=0.1).idle_s == 0.1


def test_from_annotations() -> None:
    p = Policy.from_annotations({"min": 0, "max": 8}, {"p99_ms": 50}, default_max=4)
    assert (p.min_workers, p.max_workers, p.target_latency_s) == (0, 8, 0.05)
    p = Policy.from_annotations(None, None, default_max=4)
    assert (p.min_workers, p.max_workers, p.target_latency_s) == (0, 4, None)
    # a min above the default ceiling raises the ceiling: the user asked for that many
    assert Policy.from_annotations({"min": 6}, None, default_max=4).max_workers == 6
    # other SLO keys belong to placement's cost model
    assert Policy.from_annotations(None, {"cost": 1}, default_max=4).target_latency_s is None
    with pytest.raises(ValueError, match="@replicas takes min and max"):
        Policy.from_annotations({"minimum": 1}, None, default_max=4)
    with pytest.raises(ValueError, match="p99_ms must be a positive"):
        Policy.from_annotations(None, {"p99_ms": 0}, default_max=4)
    with pytest.raises(ValueError, match="min_workers .3. must be <= max_workers .2."):
        Policy.from_annotations({"min": 3, "max": 2}, None, default_max=4)


# --- the policy over simulated time -------------------------------------------------------

def test_step_load_grows_in_one_decision_then_shrinks_to_zero() -> None:
    logged: list[Decision] = []
    scaler, pool = Autoscaler(POLICY, log=logged.append), FakePool(workers=2)
    assert run(scaler, pool, 0.0, 1.0) == []  # 2 workers, no work yet: below zero_after_s

    pool.queued, pool.busy = 20, 2  # the step
    (up,) = run(scaler, pool, 1.0, 1.1)
    assert (up.before, up.after) == (2, 8)
    assert up.reason == "backlog 20 tasks on 2 workers > 2.0 per worker: 2 -> 8 (capped at max 8)"
    assert run(scaler, pool, 1.1, 3.0) == []  # at max: nothing more to ask for

    pool.queued, pool.busy = 0, 0  # the load goes away at t=3.0
    down = run(scaler, pool, 3.0, 10.0)
    assert [(d.before, d.after) for d in down] == [(8, 7), (7, 6), (6, 0)]
    assert [round(d.at, 1) for d in down] == [5.0, 7.0, 8.0]  # idle_s apart, then zero_after_s
    assert down[0].reason == "idle 2.0 s with 8 of 8 workers free: 8 -> 7"
    assert down[-1].reason == "no work for 5.0 s: scale to zero (6 -> 0)"
    assert logged == scaler.decisions == [up, *down]


def test_partial_idleness_shrinks_one_step_per_idle_period() -> None:
    scaler, pool = Autoscaler(POLICY), FakePool(workers=4)
    pool.busy = 1  # work goes on, so never to zero; but 3 workers sit free
    down = run(scaler, pool, 0.0, 6.5)
    assert [(d.before, d.after) for d in down] == [(4, 3), (3, 2), (2, 1)]
    assert down[0].reason == "idle 2.0 s with 3 of 4 workers free: 4 -> 3"
    assert run(scaler, pool, 6.5, 20.0) == []  # 1 busy of 1: no spare capacity


def test_scale_to_min_not_zero() -> None:
    scaler, pool = Autoscaler(Policy(min_workers=1, max_workers=4, idle_s=10.0)), FakePool(workers=3)
    (d,) = run(scaler, pool, 0.0, 8.0)
    assert d.reason == "no work for 5.0 s: scale to min 1 (3 -> 1)"


def test_scale_up_from_zero_is_immediate_despite_cooldown() -> None:
    scaler, pool = Autoscaler(Policy(max_workers=8, cooldown_s=10.0, zero_after_s=0.0)), FakePool(2)
    (d,) = run(scaler, pool, 0.0, 0.1)
    assert (d.before, d.after) == (2, 0)
    pool.queued = 5  # work arrives just after the scale-down: cooldown must not hold it back
    (d,) = run(scaler, pool, 0.1, 0.2)
    assert (d.before, d.after) == (0, 3)
    assert d.reason == "5 tasks queued with no workers: 0 -> 3"


def test_cooldown_spaces_decisions() -> None:
    scaler = Autoscaler(Policy(max_workers=100, cooldown_s=0.5, backlog_per_worker=1.0))
    pool = FakePool(workers=1)
    pool.busy, pool.queued = 1, 3
    (first,) = run(scaler, pool, 0.0, 0.1)
    assert first.after == 4
    pool.queued = 40  # a second step while cooling: waits until 0.5 s after the first
    decisions = run(scaler, pool, 0.1, 1.0)
    assert [round(d.at, 1) for d in decisions] == [0.5]
    times = [d.at for d in scaler.decisions]
    assert all(b - a >= 0.5 - 1e-9 for a, b in zip(times, times[1:]))


def test_slo_breach_adds_a_worker_without_backlog() -> None:
    scaler = Autoscaler(Policy(max_workers=3, target_latency_s=0.05, cooldown_s=0.5))
    pool = FakePool(workers=2)
    pool.busy, pool.p99 = 2, 0.12
    ups = run(scaler, pool, 0.0, 2.0)
    assert [(d.before, d.after, round(d.at, 1)) for d in ups] == [(2, 3, 0.0)]  # then at max
    assert ups[0].reason == "p99 latency 0.12 s > SLO 0.05 s: 2 -> 3"
    # a stale p99 with no work behind it adds nothing
    scaler, pool = Autoscaler(Policy(max_workers=3, target_latency_s=0.05)), FakePool(workers=1)
    pool.p99 = 1.0
    assert run(scaler, pool, 0.0, 1.0) == []


def test_pool_outside_range_is_clamped() -> None:
    scaler = Autoscaler(Policy(min_workers=2, max_workers=4))
    d = scaler.observe(Load(now=0.0, workers=0, busy=0, queued=0))
    assert (d.after, d.reason) == (2, "0 workers below min 2: 0 -> 2")
    d = scaler.observe(Load(now=1.0, workers=9, busy=0, queued=0))
    assert (d.after, d.reason) == (4, "9 workers above max 4: 9 -> 4")


@pytest.mark.parametrize("lo, hi", [(0, 1), (0, 3), (1, 5), (2, 2)])
def test_never_leaves_min_max(lo: int, hi: int) -> None:
    # a noisy, repeatable load: bursts, lulls and SLO breaches
    scaler = Autoscaler(Policy(min_workers=lo, max_workers=hi, target_latency_s=0.01,
                               idle_s=0.3, zero_after_s=0.7, cooldown_s=0.1))
    pool = FakePool(workers=lo)
    for step in range(2000):
        k = (step * 7919) % 101
        pool.queued = k if k % 3 == 0 and (step // 50) % 2 == 0 else 0
        pool.busy = min(pool.workers, k % 4) if (step // 50) % 2 == 0 else 0
        pool.p99 = 0.02 if k % 5 == 0 else None
        run(scaler, pool, step * 0.05, step * 0.05 + 0.05, dt=0.05)
        assert lo <= pool.workers <= hi
    assert scaler.decisions or lo == hi
    assert all(lo <= d.after <= hi and d.after != d.before for d in scaler.decisions)


def test_decisions_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dfl.autoscale"):
        Autoscaler(POLICY).observe(Load(now=0.0, workers=0, busy=0, queued=1))
    assert "1 tasks queued with no workers: 0 -> 1" in caplog.text


# --- the driver thread, in real time -------------------------------------------------------

def _wait_for(cond, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def test_loop_grows_and_shrinks_a_pool_in_real_time() -> None:
    pool = FakePool(workers=0)
    policy = Policy(min_workers=0, max_workers=4, idle_s=0.1, zero_after_s=0.3, cooldown_s=0.05)
    with AutoscaleLoop(pool, Autoscaler(policy), interval_s=0.01) as loop:
        with pool.lock:
            pool.queued = 10
        assert _wait_for(lambda: pool.workers == 4, within_s=2.0), pool.sizes
        with pool.lock:
            pool.queued = 0
        assert _wait_for(lambda: pool.workers == 0, within_s=5.0), pool.sizes
        assert loop.running
    assert not loop.running and pool.sizes[0] == 4 and pool.sizes[-1] == 0


def test_loop_body_stops_and_reports_a_failing_pool(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakePool):
        def load(self) -> Load:
            raise RuntimeError("pool is gone")

    loop = AutoscaleLoop(Broken(workers=1), Autoscaler(POLICY), interval_s=0.01)
    with caplog.at_level(logging.ERROR, logger="dfl.autoscale"):
        loop._run()  # the thread's body, run here: it must return, not spin or die silently
    assert "autoscale loop stopped: pool is gone" in caplog.text
    with pytest.raises(RuntimeError, match="pool is gone"):
        loop.stop()
