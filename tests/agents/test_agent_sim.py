"""The simulation's semantics (LANGUAGE.md §8, runtime/agents/sim.py), on both targets: the
interpreter is the oracle and the cpu target must agree on every program here."""
from __future__ import annotations

import pytest

import dfl
from dfl.runtime.agents.messages import Message
from dfl.runtime.agents.sim import simulate

TARGETS = ["interp", "cpu"]

COUNTER = """
agent Counter {
  @public channel incr(by: int)
  table total(n: int)
  total(0).
  next total(n + b) :- incr(b), total(n).
  delete total(n) :- incr(_), total(n).
}
"""

KV = """
agent Kv {
  @public channel put(key: str, val: str)
  @public channel del(key: str)
  table store(key: str, val: str)
  table missing(key: str)
  output keys(key: str)
  next store(k, v) :- put(k, v).
  delete store(k, old) :- put(k, _), store(k, old).
  delete store(k, v) :- del(k), store(k, v).
  next missing(k) :- del(k), !store(k, _).
  keys(k) :- store(k, _).
}
"""

# a `next` chain inside one instance: a message starts a countdown that runs on its own ticks
COUNTDOWN = """
agent Clock {
  @public channel start(n: int)
  rel left(n: int)
  table seen(n: int)
  next left(n) :- start(n).
  next left(n - 1) :- left(n), n > 0.
  next seen(n) :- left(n).
}
"""

PROGRAMS = {"counter": COUNTER, "kv": KV, "countdown": COUNTDOWN}


def msg(time: int, agent: str, key: str, channel: str, *values) -> Message:
    return Message(time, agent, key, channel, tuple(values), 0)


MESSAGES = {
    "counter": [msg(1, "Counter", "a", "incr", 2), msg(1, "Counter", "b", "incr", 5),
                msg(2, "Counter", "a", "incr", 3), msg(3, "Counter", "a", "incr", 10)],
    "kv": [msg(0, "Kv", "x", "put", "k1", "v1"), msg(0, "Kv", "x", "put", "k2", "v2"),
           msg(1, "Kv", "x", "put", "k1", "v9"), msg(2, "Kv", "x", "del", "k2"),
           msg(3, "Kv", "x", "del", "nope"), msg(0, "Kv", "y", "put", "k1", "w")],
    "countdown": [msg(5, "Clock", "c", "start", 3)],
}


def sim(src: str, msgs: list[Message], target: str) -> dict[str, list[tuple]]:
    prog = dfl.compile(src)
    res = simulate(prog.agents, msgs, {}, target)
    assert res.quiescent
    return {name: rows for name, (_, rows) in res.relations.items()}


@pytest.mark.parametrize("target", TARGETS)
def test_each_instance_keeps_its_own_tables(target: str) -> None:
    out = sim(COUNTER, MESSAGES["counter"], target)
    assert out["Counter.total"] == [("a", 15), ("b", 5)]


@pytest.mark.parametrize("target", TARGETS)
def test_next_delete_and_negation_inside_an_agent(target: str) -> None:
    out = sim(KV, MESSAGES["kv"], target)
    assert out["Kv.store"] == [("x", "k1", "v9"), ("y", "k1", "w")]
    # an output is the instance's last tick's: x's last message was `del nope`, found missing
    assert out["Kv.missing"] == [("x", "nope")]


@pytest.mark.parametrize("target", TARGETS)
def test_an_instance_runs_its_next_chain_to_quiescence(target: str) -> None:
    out = sim(COUNTDOWN, MESSAGES["countdown"], target)
    assert out["Clock.seen"] == [("c", 0), ("c", 1), ("c", 2), ("c", 3)]


@pytest.mark.parametrize("target", TARGETS)
def test_messages_with_the_same_time_arrive_in_one_tick(target: str) -> None:
    # both increments see total 0 in the same tick: two `next` rows, 0+1 and 0+2, both kept
    same = sim(COUNTER, [msg(1, "Counter", "a", "incr", 1), msg(1, "Counter", "a", "incr", 2)], target)
    assert same["Counter.total"] == [("a", 1), ("a", 2)]
    apart = sim(COUNTER, [msg(1, "Counter", "a", "incr", 1), msg(2, "Counter", "a", "incr", 2)], target)
    assert apart["Counter.total"] == [("a", 3)]


def test_only_the_times_order_messages_not_the_file() -> None:
    msgs = MESSAGES["kv"]
    assert sim(KV, list(reversed(msgs)), "interp") == sim(KV, msgs, "interp")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_parity_interp_and_cpu(name: str) -> None:
    assert sim(PROGRAMS[name], MESSAGES[name], "cpu") == sim(PROGRAMS[name], MESSAGES[name], "interp")


def test_top_level_inputs_are_read_by_agents() -> None:
    prog = dfl.compile("input allowed(k: str)\nagent G {\n  @public channel ask(k: str)\n  table ok(k: str)\n"
                       "  next ok(k) :- ask(k), allowed(k).\n}\n")
    res = simulate(prog.agents, [msg(0, "G", "g", "ask", "a"), msg(0, "G", "g", "ask", "b")],
                   {"G": {"allowed": [("a",)]}}, "interp")
    assert res.relations["G.ok"][1] == [("g", "a")]
