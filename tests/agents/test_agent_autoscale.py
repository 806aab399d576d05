"""Autoscaling the host (issue 11, item 6): `@replicas`/`@slo` on agents give the Policy; the
pool grows when tick latency passes the SLO, shrinks to zero when idle, and the next message
starts a worker again (the reactivation is reported). Bounded waits, no timing asserts."""
from __future__ import annotations

import asyncio
import os

import pytest

import dfl.api as api
from agent_fakes import FakeInstance, agents, slow_agents
from dfl.runtime.agents.events import CountingEvents
from dfl.runtime.agents.host import Host
from dfl.runtime.agents.scaling import policy_for
from dfl.runtime.agents.store_sqlite import SqliteAgentStore
from dfl.runtime.pools.autoscale import Policy

FAST = dict(idle_s=0.1, zero_after_s=0.3, cooldown_s=0.05)


def run(coro, limit: float = 60):
    return asyncio.run(asyncio.wait_for(coro, limit))


async def until(cond, limit_s: float = 20.0) -> bool:
    for _ in range(int(limit_s / 0.01)):
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


def test_policy_from_agent_annotations() -> None:
    p = api.compile("""
@replicas(min = 1, max = 3)
@slo(p99_ms = 20)
agent A { @public channel c(x: int) }
@replicas(max = 5)
@slo(p99_ms = 50)
agent B { @public channel c(x: int) }
agent C { @public channel c(x: int) }
""")
    pol = policy_for(p)
    assert (pol.min_workers, pol.max_workers, pol.target_latency_s) == (1, 5, 0.02)
    assert policy_for(api.compile("agent A { @public channel c(x: int) }")) is None
    with pytest.raises(ValueError, match="p99_ms"):
        policy_for(api.compile("@slo(p99_ms = 0)\nagent A { @public channel c(x: int) }"))


def test_from_zero_workers_the_first_message_starts_one_and_is_answered() -> None:
    async def go():
        ev = CountingEvents()
        h = Host(agents(), {}, autoscale=Policy(min_workers=0, max_workers=2, **FAST), engine="inproc",
                 events=ev, instance_factory=FakeInstance)
        await h.start()
        assert h.status()["workers"] == 0
        me = h.reply_address()
        await h.post("Kv", "a", "put", [("k", "v")])
        await h.post("Kv", "a", "get", [("k",)], reply_to=me)
        got = await h.replies(me, 10)
        up = h.status()["workers"]
        down = await until(lambda: not h.slots)  # idle: back to zero
        me = h.reply_address()
        await h.post("Kv", "a", "get", [("k",)], reply_to=me)  # state from the store, on a new worker
        again = await h.replies(me, 10)
        await h.stop()
        return got, up, down, again, ev
    got, up, down, again, ev = run(go())
    assert got == again == [("got", ("k", "v"))]
    assert up == 1 and down
    assert len(ev.reactivations) == 2 and all(s > 0 for s in ev.reactivations)


def test_latency_over_the_slo_grows_the_pool_then_idle_shrinks_it(tmp_path) -> None:
    store = SqliteAgentStore(str(tmp_path))

    async def go():
        ev = CountingEvents()
        # a backlog this large never grows the pool: the SLO alone does
        pol = Policy(min_workers=1, max_workers=3, target_latency_s=0.005, backlog_per_worker=1000, **FAST)
        h = Host(slow_agents(), {}, store=store, autoscale=pol, engine="inproc", tick_thread=True, events=ev,
                 instance_factory=FakeInstance)
        await h.start()
        most = 1

        async def load():
            for i in range(60):
                await h.post("Slow", f"s{i % 6}", "work", [(i,)])
                await asyncio.sleep(0.005)
        task = asyncio.create_task(load())
        while not task.done():
            most = max(most, h.status()["workers"])
            await asyncio.sleep(0.01)
        shrunk = await until(lambda: h.status()["workers"] == 1)
        await h.stop()
        done = sorted(n for i in range(6) for (n,) in h.read("Slow", f"s{i}", "done"))
        return most, shrunk, done, h.scaler.decisions
    most, shrunk, done, decisions = run(go())
    assert most >= 2 and shrunk
    assert any("SLO" in d.reason for d in decisions)
    assert done == list(range(60))
    store.close()


def test_worker_processes_scale_to_zero_and_back(monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")]))

    async def go():
        ev = CountingEvents()
        h = Host(agents(), {}, autoscale=Policy(min_workers=0, max_workers=2, **FAST), events=ev,
                 instance_factory=FakeInstance)
        await h.start()
        me = h.reply_address()
        await h.post("Ping", "a", "go", [(3,)], reply_to=me)
        got = await h.replies(me, 20)
        down = await until(lambda: not h.slots)
        me = h.reply_address()
        await h.post("Ping", "a", "go", [(2,)], reply_to=me)
        again = await h.replies(me, 20)
        await h.stop()
        return got, down, again, ev
    got, down, again, ev = run(go())
    # the second go's trips {1, 2} join the first's {1, 2, 3}: 3 means the state came back
    assert got == [("done", (3,))] and down and again == [("done", (3,))]
    assert len(ev.reactivations) == 2
