"""The tick step (runtime/ticks.py) over a state store (runtime/state.py): one tick at a
time, its state committed to the store, and the loop of a one-shot run built on it."""
from __future__ import annotations

import dfl
from dfl.backends import registry
from dfl.runtime.state import MemoryStore
from dfl.runtime.ticks import Ticker, run_ticks, tick_step

PROG = """
table   seen(x: int)
channel msg(x: int)
rel     echo(x: int)
output  now(x: int)
output  echoed(x: int)
seen(0).
next seen(x) :- msg(x).
next echo(x) :- msg(x).
delete seen(0) :- msg(_).
now(x) :- seen(x).
echoed(x) :- echo(x).
"""


def _plan(target="interp"):
    g = dfl.compile(PROG).graph
    return g, registry.get(target).compile(g)


def test_the_initial_store_holds_each_table_with_its_facts():
    g, _ = _plan()
    store = MemoryStore.initial(g)
    assert store.tables() == {"seen": {(0,)}} and store.deferred() == {}


def test_one_step_gives_outputs_the_next_tables_and_the_deferred_rows():
    g, plan = _plan()
    ins = {("channel", "msg"): [(5,)], ("state", "seen"): [(0,)]}
    s = tick_step(plan, ins, {"seen": {(0,)}})
    assert s.result.sinks == {"now": [(0,)], "echoed": []}
    assert s.tables == {"seen": {(5,)}}  # (0,) deleted, (5,) inserted: visible next tick
    assert s.deferred == {"echo": [(5,)]}


def test_the_ticker_commits_each_tick_to_its_store():
    g, plan = _plan()
    store = MemoryStore.initial(g)
    t = Ticker(g, plan, {}, {"msg": [(0, 5), (2, 7)]}, store=store)
    assert t.pending
    t.step(t.inputs())
    assert t.tick == 1 and store.tables() == {"seen": {(5,)}} and store.deferred() == {"echo": [(5,)]}
    ins = t.inputs()
    assert ins[("deferred", "echo")] == [(5,)] and ins[("state", "seen")] == [(5,)]
    assert t.step(ins).result.sinks == {"now": [(5,)], "echoed": [(5,)]}
    assert store.deferred() == {}
    t.step(t.inputs())  # tick 2: the second message
    assert not t.pending and store.tables() == {"seen": {(5,), (7,)}}


class _Recording(MemoryStore):
    """A store that keeps every commit: what a durable store would write."""

    def __init__(self, tables):
        super().__init__(tables)
        self.commits = []

    def commit(self, tables, deferred):
        self.commits.append((tables, deferred))
        super().commit(tables, deferred)


def test_a_store_of_its_own_sees_one_commit_per_tick():
    g, plan = _plan()
    store = _Recording({"seen": {(1,)}})  # the state a service restarted with
    t = Ticker(g, plan, {}, {"msg": [(0, 9)]}, store=store)
    assert t.step(t.inputs()).result.sinks["now"] == [(1,)]
    t.step(t.inputs())
    assert [c[0] for c in store.commits] == [{"seen": {(1,), (9,)}}, {"seen": {(1,), (9,)}}]


def test_run_ticks_is_the_loop_over_the_step():
    g, plan = _plan("cpu")
    run = run_ticks(g, plan, {}, {"msg": [(0, 5), (2, 7)]}, each_tick=True)
    assert run.ticks == 5 and run.quiescent
    assert [sorted(t["now"]) for t in run.per_tick] == [[(0,)], [(5,)], [(5,)], [(5,), (7,)], [(5,), (7,)]]
    assert run_ticks(g, plan, {}, {"msg": [(0, 5), (2, 7)]}, max_ticks=2).quiescent is False
