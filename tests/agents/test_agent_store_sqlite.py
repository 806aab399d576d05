"""The agent stores (runtime/agents/store.py, store_sqlite.py): what a tick commits, what a
restart reads back, rows that round-trip exactly."""
from __future__ import annotations

import math
import sqlite3

import pytest

from dfl.runtime.agents.store import MemoryAgentStore, TickRecord, commit_tick
from dfl.runtime.agents.store_sqlite import FILE, SqliteAgentStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    s = MemoryAgentStore() if request.param == "memory" else SqliteAgentStore(str(tmp_path))
    yield s
    s.close()


def test_enqueue_then_pending_in_id_order(store) -> None:
    ids = store.enqueue([("Kv/a", "put", ("k", "v"), None), ("Kv/b", "get", ("k", "@client/1"), "@client/1")])
    assert ids == sorted(ids) and len(set(ids)) == 2
    got = store.pending()
    assert [(m.id, m.dest, m.channel, m.row, m.reply_to) for m in got] == [
        (ids[0], "Kv/a", "put", ("k", "v"), None), (ids[1], "Kv/b", "get", ("k", "@client/1"), "@client/1")]


def test_a_tick_consumes_writes_diffs_and_enqueues_its_sends(store) -> None:
    [i] = store.enqueue([("Kv/a", "put", ("k", "v"), None)])
    assert store.load("Kv/a") is None
    sent = commit_tick(store, TickRecord("Kv/a", [i], added={"store": {("k", "v"), ("j", "w")}},
                                         deferred={"later": [(1,)]}, sends=[("Log/x", "note", ("k",))]))
    assert store.pending()[0].id == sent[0] and store.pending()[0].dest == "Log/x"
    assert len(store.pending()) == 1  # the put is consumed
    tables, deferred = store.load("Kv/a")
    assert tables == {"store": {("k", "v"), ("j", "w")}} and deferred == {"later": [(1,)]}
    commit_tick(store, TickRecord("Kv/a", [], added={"store": {("k", "v2")}}, removed={"store": {("k", "v")}}))
    assert sorted(store.rows("Kv/a", "store")) == [("j", "w"), ("k", "v2")]
    assert store.load("Kv/a")[1] == {}  # deferred rows are the next tick's only
    assert store.instances() == ["Kv/a"]


def test_a_failed_tick_marks_its_messages_and_changes_nothing(store) -> None:
    [i] = store.enqueue([("Kv/a", "put", ("k", "v"), None)])
    commit_tick(store, TickRecord("Kv/a", [i], added={"store": {("x", "y")}}, failed=True))
    assert store.pending() == [] and [m.id for m in store.failed()] == [i]
    assert store.load("Kv/a") is None


def test_many_ticks_in_one_transaction(store) -> None:
    ids = store.enqueue([(f"C/{k}", "incr", (k,), None) for k in range(5)])
    out = store.commit_ticks([TickRecord(f"C/{k}", [i], added={"n": {(k,)}}) for k, i in enumerate(ids)])
    assert out == [[]] * 5 and store.pending() == []
    assert [store.rows(f"C/{k}", "n") for k in range(5)] == [[(k,)] for k in range(5)]


def test_values_round_trip_exactly(store) -> None:
    rows = {(0.1, 1e308, -0.0, 5e-324, True, False, 3, -(2**62), "é\n\"'", "Kv/a/b"),
            (math.inf, -math.inf, 1 / 3, 2.0, True, False, 0, 2**63 - 1, "", "@client/9")}
    commit_tick(store, TickRecord("T/1", [], added={"t": rows}))
    back = store.rows("T/1", "t")
    assert set(back) == rows
    for r in back:
        for a, b in zip(r, next(x for x in rows if x[-1] == r[-1])):
            assert type(a) is type(b) and (repr(a) == repr(b))
    nan = (math.nan,)
    commit_tick(store, TickRecord("T/2", [], added={"t": {nan}}))
    [got] = store.rows("T/2", "t")
    assert math.isnan(got[0])


def test_sqlite_is_a_wal_database_that_survives_reopening(tmp_path) -> None:
    s = SqliteAgentStore(str(tmp_path))
    [i, j] = s.enqueue([("Kv/a", "put", ("k", "v"), None), ("Kv/a", "put", ("k2", "v"), None)])
    commit_tick(s, TickRecord("Kv/a", [i], added={"store": {("k", "v")}}))
    s.close()
    db = sqlite3.connect(str(tmp_path / FILE))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    s = SqliteAgentStore(str(tmp_path))
    assert [m.id for m in s.pending()] == [j]
    assert s.load("Kv/a") == ({"store": {("k", "v")}}, {})
    s.close()


def test_sqlite_fsync_option_and_format_version(tmp_path) -> None:
    s = SqliteAgentStore(str(tmp_path), fsync=True)
    assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    s._db.execute("UPDATE meta SET value='999' WHERE key='version'")
    s.close()
    with pytest.raises(ValueError, match="state format 999"):
        SqliteAgentStore(str(tmp_path))


def test_a_transaction_that_fails_leaves_nothing(tmp_path) -> None:
    s = SqliteAgentStore(str(tmp_path))
    [i] = s.enqueue([("Kv/a", "put", ("k", "v"), None)])
    bad = TickRecord("Kv/a", [i], added={"store": {("k", object())}})  # not JSON: the tick cannot commit
    with pytest.raises(TypeError):
        s.commit_ticks([TickRecord("Kv/b", [], added={"store": {("ok",)}}), bad])
    assert [m.id for m in s.pending()] == [i] and s.load("Kv/b") is None
    s.close()
