"""The autoscaler drives the real local pool: a step load grows it, idleness shrinks it to
zero. Time bounds are generous (a loaded CI machine), the order of events is strict."""
from __future__ import annotations

import threading
import time

import dfl
from dfl.runtime.pools.autoscale import Policy
from dfl.runtime.pools.pool import LocalPool

GROUPBY = """
input fact(id: int, k: int, v: int)
output agg(k: int, c: int, s: int)
agg(k, count(), sum(v)) :- fact(_, k, v).
"""


def _wait_for(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_a_step_load_grows_the_pool_then_idleness_shrinks_it_to_zero() -> None:
    prog = dfl.compile(GROUPBY)
    rows = [(i, i % 17, i % 5) for i in range(2000)]
    want = prog.run(target="interp", fact=rows)["agg"]
    policy = Policy(min_workers=0, max_workers=2, backlog_per_worker=1.0, idle_s=0.3, zero_after_s=0.8,
                    cooldown_s=0.1)
    sizes: list[int] = []
    with LocalPool(policy=policy) as pool:
        assert pool.size() == 0  # scaled to zero before any work
        stop = threading.Event()
        errors: list[BaseException] = []
        results: list[bool] = []

        def client() -> None:
            try:
                while not stop.is_set():
                    results.append(prog.run(fact=rows, workers=2, pool=pool)["agg"] == want)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            assert _wait_for(lambda: sizes.append(pool.size()) or pool.size() == 2, 30), \
                f"the pool did not grow to 2 workers: {pool.stats.decisions}"
            time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        assert not errors, errors
        assert results and all(results)
        assert _wait_for(lambda: pool.size() == 0, 30), f"the pool did not shrink: {pool.stats.decisions}"
        decisions = list(pool.stats.decisions)
    ups = [d for d in decisions if d.after > d.before]
    downs = [d for d in decisions if d.after < d.before]
    assert ups and ("backlog" in ups[0].reason or "queued" in ups[0].reason)
    assert downs and downs[-1].after == 0
    assert ups[0].at < downs[-1].at
    assert all(0 <= d.after <= 2 for d in decisions)
