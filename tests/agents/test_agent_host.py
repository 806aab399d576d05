"""The in-process host (runtime/agents/host.py): posting, replies, sends between instances,
refusals, failed ticks, idle deactivation and reactivation, restart from the store."""
from __future__ import annotations

import asyncio

import pytest

import dfl.api as api
from agent_fakes import FakeInstance, agents
from dfl.runtime.agents.events import CountingEvents
from dfl.runtime.agents.host import Host, Refused
from dfl.runtime.agents.store_sqlite import SqliteAgentStore

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


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def fake_host(**kw) -> Host:
    return Host(agents(), {}, instance_factory=FakeInstance, **kw)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield None
    else:
        s = SqliteAgentStore(str(tmp_path))
        yield s
        s.close()


def test_a_compiled_agent_counts(store) -> None:
    prog = api.compile(COUNTER)

    async def go():
        h = Host(prog.agents, {}, store=store)
        await h.start()
        await asyncio.gather(*[h.post("Counter", f"k{i % 3}", "incr", [(i,)]) for i in range(30)])
        await h.stop()
        return [h.read("Counter", f"k{j}", "total") for j in range(3)]
    assert run(go()) == [[(sum(range(j, 30, 3)),)] for j in range(3)]


def test_get_replies_to_the_sender(store) -> None:
    async def go():
        ev = CountingEvents()
        h = fake_host(store=store, events=ev)
        await h.start()
        await h.post("Kv", "a", "put", [("k", "v")])
        me = h.reply_address()
        await h.post("Kv", "a", "get", [("k",)], reply_to=me)  # the addr column is filled with `me`
        got = await h.replies(me, 5)
        assert h.instances()["Kv"] == ["a"] and h.read("Kv", "a", "store") == [("k", "v")]
        await h.stop()
        return got, ev
    got, ev = run(go())
    assert got == [("got", ("k", "v"))]
    assert ev.counts["in"] == 2 and ev.counts["out"] == 1 and ev.counts["ticks"] >= 1


def test_round_trips_between_instances_stay_on_the_worker(store) -> None:
    async def go():
        h = fake_host(store=store)
        await h.start()
        me = h.reply_address()
        await h.post("Ping", "p", "go", [(20,)], reply_to=me)
        got = await h.replies(me, 5)
        seen = h.read("Pong", "p", "seen")
        await h.stop()
        return got, seen
    got, seen = run(go())
    assert got == [("done", (20,))]
    assert sorted(seen) == [(n,) for n in range(1, 21)]


def test_refusals_are_counted_and_never_crash() -> None:
    async def go():
        ev = CountingEvents()
        h = fake_host(events=ev)
        await h.start()
        for args, why in [(("Nope", "x", "put", [()]), "no agent"), (("Kv", "x", "nope", [()]), "no channel"),
                          (("Kv", "x", "secret", [("s",)]), "not @public"),
                          (("Kv", "x", "put", [("one",)]), "2 column"), (("Kv", "x", "get", [("k",)]), "2 column")]:
            with pytest.raises(Refused, match=why):
                await h.post(*args)
        me = h.reply_address()
        await h.post("Rude", "r", "go", [()], reply_to=me)
        got = await h.replies(me, 5)
        await h.stop()
        return got, ev.refusals
    got, refusals = run(go())
    assert got == [("ok", ())]
    assert len(refusals) == 5 + 4
    assert any("no agent 'Nobody'" in r for r in refusals) and any("@allow" in r for r in refusals)


def test_a_failing_tick_drops_its_messages_and_the_host_goes_on(tmp_path) -> None:
    store = SqliteAgentStore(str(tmp_path))

    async def go():
        ev = CountingEvents()
        h = fake_host(store=store, events=ev)
        await h.start()
        await h.post("Kv", "a", "put", [("k", "v")])
        await h.post("Kv", "a", "boom", [(1,)])
        await asyncio.sleep(0.05)
        await h.post("Kv", "a", "put", [("k2", "v")])
        await h.stop()
        return ev, sorted(h.read("Kv", "a", "store"))
    ev, rows = run(go())
    assert ev.counts["errors"] == 1 and rows == [("k", "v"), ("k2", "v")]
    assert [m.channel for m in store.failed()] == ["boom"] and store.pending() == []
    store.close()


def test_busy_instances_tick_without_messages_and_replies_wait_for_quiet() -> None:
    async def go():
        h = fake_host()
        await h.start()
        me = h.reply_address()
        await h.post("Spin", "s", "start", [(50,)], reply_to=me)
        got = await h.replies(me, 5)
        left = h.read("Spin", "s", "left")
        await h.stop()
        return got, left
    assert run(go()) == ([("finished", ())], [(0,)])


def test_idle_instances_are_deactivated_and_come_back_with_their_state(store) -> None:
    async def go():
        h = fake_host(store=store, idle_s=0.05)
        await h.start()
        await h.post("Kv", "a", "put", [("k", "v")])
        for _ in range(200):
            await asyncio.sleep(0.01)
            if not h.instances()["Kv"]:
                break
        gone = h.instances()["Kv"]
        me = h.reply_address()
        await h.post("Kv", "a", "get", [("k",)], reply_to=me)
        got = await h.replies(me, 5)
        await h.stop()
        return gone, got
    assert run(go()) == ([], [("got", ("k", "v"))])


def test_a_restart_delivers_what_was_acknowledged_but_not_consumed(tmp_path) -> None:
    store = SqliteAgentStore(str(tmp_path))
    store.enqueue([("Kv/a", "put", ("k", "v"), None)])  # acknowledged by a host that then died
    store.close()
    store = SqliteAgentStore(str(tmp_path))

    async def go():
        h = fake_host(store=store)
        await h.start()
        await h.stop()
        return h.read("Kv", "a", "store")
    assert run(go()) == [("k", "v")]
    assert store.pending() == []
    store.close()


def test_ticks_on_a_thread_give_the_same_answers() -> None:
    async def go():
        h = fake_host(tick_thread=True)
        await h.start()
        me = h.reply_address()
        await h.post("Ping", "p", "go", [(5,)], reply_to=me)
        got = await h.replies(me, 5)
        await h.stop()
        return got
    assert run(go()) == [("done", (5,))]


def test_status_and_a_reply_that_never_comes() -> None:
    async def go():
        h = fake_host()
        await h.start()
        me = h.reply_address()
        await h.post("Kv", "a", "get", [("missing",)], reply_to=me)
        got = await h.replies(me, 0.1)
        st = h.status()
        await h.stop()
        return got, st
    got, st = run(go())
    assert got == [] and st["workers"] == 1 and st["durable"] is False and st["active_instances"] == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="engine"):
        Host({}, {}, engine="nope")
    with pytest.raises(ValueError, match="workers"):
        Host({}, {}, workers=0)
