"""Worker processes (runtime/agents/workers.py): instances placed on the least loaded worker,
sends across workers, instances moving between workers through deactivation, a Ray engine
(skipped without ray)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

import dfl.api as api
from agent_fakes import FakeInstance, agents
from dfl.runtime.agents.host import Host
from dfl.runtime.agents.store_sqlite import SqliteAgentStore
from dfl.runtime.agents.workers import AgentWorker, Request

COUNTER = """
agent Counter {
  @public channel incr(by: int)
  table total(n: int)
  total(0).
  rel sum(s: int)
  sum(s) :- s = sum b : { incr(b) }.
  next total(n + s) :- sum(s), total(n).
  delete total(n) :- sum(_), total(n).
}
"""


def run(coro, limit: float = 60):
    return asyncio.run(asyncio.wait_for(coro, limit))


@pytest.fixture(autouse=True)
def fakes_importable(monkeypatch):
    # worker processes unpickle the fake agents by module name
    here = os.path.dirname(__file__)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))


def test_the_worker_delivers_local_sends_in_one_request() -> None:
    w = AgentWorker(agents(), {}, "interp", instance_factory=FakeInstance)
    reply = w.run(Request(deliver=[("Ping/p", 1, "go", (3, "@client/1"))],
                          activate={"Ping/p": None, "Pong/p": None}))
    # go, then three ping/pong round trips, all here: 7 ticks, none of them sends to the host
    assert len(reply.ticks) == 7 and all(not t.record.sends for t in reply.ticks)
    assert [t.client for t in reply.ticks if t.client] == [[("@client/1", "done", (3,))]]
    assert sum(len(t.local_sent) for t in reply.ticks) == sum(len(t.local_consumed) for t in reply.ticks) == 6


def test_a_local_ping_pong_cut_by_max_ticks_goes_back_as_sends() -> None:
    w = AgentWorker(agents(), {}, "interp", max_ticks=4, instance_factory=FakeInstance)
    reply = w.run(Request(deliver=[("Ping/p", 1, "go", (10, "@client/1"))],
                          activate={"Ping/p": None, "Pong/p": None}))
    assert len(reply.ticks) == 4
    assert [s for t in reply.ticks for s in t.record.sends] == [("Ping/p", "pong", (9,))]


def test_instances_spread_over_worker_processes_and_talk_across(tmp_path) -> None:
    store = SqliteAgentStore(str(tmp_path))

    async def go():
        h = Host(agents(), {}, store=store, workers=2, instance_factory=FakeInstance)
        await h.start()
        me = h.reply_address()
        # Ping/a lands on one worker, Pong/a (activated by its first ping) on the other
        await h.post("Ping", "a", "go", [(5,)], reply_to=me)
        got = await h.replies(me, 20)
        where = {a: s.n for a, s in h.location.items()}
        await asyncio.gather(*[h.post("Kv", f"k{i}", "put", [("x", str(i))]) for i in range(6)])
        st = h.status()
        loads = sorted(len(s.instances) for s in h.slots)
        await h.stop()
        rows = [h.read("Kv", f"k{i}", "store") for i in range(6)]
        return got, where, st, loads, rows
    got, where, st, loads, rows = run(go())
    assert got == [("done", (5,))]
    assert where["Ping/a"] != where["Pong/a"]
    assert st["workers"] == 2 and loads == [4, 4]
    assert rows == [[("x", str(i))] for i in range(6)]
    store.close()


def test_a_deactivated_instance_comes_back_on_another_worker() -> None:
    async def go():
        h = Host(agents(), {}, workers=2, idle_s=0.1, instance_factory=FakeInstance)
        await h.start()
        await h.post("Kv", "a", "put", [("k", "v")])
        first = None
        for _ in range(500):
            await asyncio.sleep(0.01)
            first = first if first is not None else (h.location["Kv/a"].n if "Kv/a" in h.location else None)
            if first is not None and "Kv/a" not in h.location:
                break
        await h.post("Kv", "b", "put", [("k", "v")])  # takes the least loaded: the worker Kv/a was on
        me = h.reply_address()
        await h.post("Kv", "a", "get", [("k",)], reply_to=me)
        got = await h.replies(me, 20)
        second = h.location["Kv/a"].n
        await h.stop()
        return first, second, got
    first, second, got = run(go())
    assert got == [("got", ("k", "v"))] and first != second


def test_a_compiled_agent_on_worker_processes() -> None:
    prog = api.compile(COUNTER)

    async def go():
        h = Host(prog.agents, {}, workers=2)
        await h.start()
        await asyncio.gather(*[h.post("Counter", f"k{i % 4}", "incr", [(i,)]) for i in range(40)])
        await h.stop()
        return [h.read("Counter", f"k{j}", "total") for j in range(4)]
    assert run(go()) == [[(sum(range(j, 40, 4)),)] for j in range(4)]


RAY_SCRIPT = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from agent_fakes import FakeInstance, agents
from dfl.runtime.agents.host import Host

async def go():
    h = Host(agents(), {}, workers=2, engine="ray", instance_factory=FakeInstance)
    await h.start()
    me = h.reply_address()
    await h.post("Ping", "a", "go", [(3,)], reply_to=me)
    got = await h.replies(me, 60)
    await h.stop()
    return got

print(asyncio.run(go()))
"""


def test_ray_engine(tmp_path) -> None:
    """In a process of its own: Ray, once shut down, does not start again in the same process
    (tests/runtime/test_ray.py starts its own after this module)."""
    pytest.importorskip("ray")
    env = {**os.environ, "RAY_TMPDIR": "/tmp", "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", RAY_SCRIPT, os.path.dirname(__file__)], capture_output=True,
                       text=True, timeout=180, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[('done', (3,))]"


def test_a_killed_worker_process_is_replaced_and_nothing_is_lost_or_counted_twice(tmp_path) -> None:
    import signal

    prog = api.compile(COUNTER)
    store = SqliteAgentStore(str(tmp_path))

    async def go():
        h = Host(prog.agents, {}, store=store, workers=2)
        await h.start()
        await asyncio.gather(*[h.post("Counter", f"k{i % 4}", "incr", [(i,)]) for i in range(20)])
        for _ in range(1000):  # until k0's first ticks are committed: it comes back from saved state
            if store.load("Counter/k0") is not None and not h.location["Counter/k0"].mail:
                break
            await asyncio.sleep(0.01)
        victim = h.location["Counter/k0"]
        os.kill(victim.handle.process.pid, signal.SIGKILL)
        await asyncio.gather(*[h.post("Counter", f"k{i % 4}", "incr", [(i,)]) for i in range(20, 40)])
        await h.stop()
        return [h.read("Counter", f"k{j}", "total") for j in range(4)]
    totals = run(go())
    assert totals == [[(sum(range(j, 40, 4)),)] for j in range(4)]
    assert store.pending() == []
    store.close()
