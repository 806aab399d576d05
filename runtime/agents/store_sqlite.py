"""The durable agent store (store.py's interface): one SQLite database, `DIR/dfl-state.sqlite3`,
in WAL mode (docs/service.md, "Durability").

Tables:
- `inbox(id, dest, channel, row, reply_to, state)`: every message not consumed yet
  (state 0), and those whose tick failed (state 2). A message consumed by a committed tick
  is deleted in that tick's transaction: absent means applied, exactly once.
- `instance(addr, deferred, ticks)`: each instance that committed a tick, its deferred rows
  (a JSON object, rewritten each tick: they are the next tick's only) and its tick count.
- `row(addr, relation, row)`: each instance's table rows; a tick inserts the rows it added
  and deletes those it removed, so a tick costs O(change), not O(table).
Sends to other instances are inserted into `inbox` in the sending tick's transaction (the
outbox is the destination's inbox).

Rows are JSON arrays (ints, floats, strs, bools; an addr is a str). Python's json writes a
float as its repr, so it reads back bit for bit; NaN and ±Infinity are written as the JSON
extensions `NaN`/`Infinity`, which it reads back too.

`synchronous=NORMAL` (the default here) survives the crash of the process (SIGKILL, an
exception) but a power loss may lose the last commits; `fsync=True` uses `synchronous=FULL`,
which survives that too, at the cost of an fsync per commit.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading

from dfl.runtime.agents.store import Stored, TickRecord

FILE = "dfl-state.sqlite3"
VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inbox(id INTEGER PRIMARY KEY AUTOINCREMENT, dest TEXT NOT NULL,
    channel TEXT NOT NULL, row TEXT NOT NULL, reply_to TEXT, state INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS instance(addr TEXT PRIMARY KEY, deferred TEXT NOT NULL,
    ticks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS row(addr TEXT NOT NULL, relation TEXT NOT NULL, row TEXT NOT NULL,
    PRIMARY KEY(addr, relation, row)) WITHOUT ROWID;
"""
PENDING, FAILED = 0, 2


def encode(row: tuple) -> str:
    return json.dumps(list(row), separators=(",", ":"))


def decode(text: str) -> tuple:
    return tuple(json.loads(text))


class SqliteAgentStore:
    durable = True

    def __init__(self, directory: str, fsync: bool = False) -> None:
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, FILE)
        # one connection, used from the host's threads one at a time (the lock)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        got = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        if got is None:
            self._db.execute("INSERT INTO meta VALUES('version', ?)", (VERSION,))
        elif got[0] != VERSION:
            raise ValueError(f"{self.path}: state format {got[0]}, this dfl reads format {VERSION}")

    def _tx(self):
        return _Tx(self._db, self._lock)

    def enqueue(self, messages):
        with self._tx() as db:
            return self._insert(db, messages)

    @staticmethod
    def _insert(db, messages) -> list[int]:
        ids = []
        for dest, channel, row, reply_to in messages:
            cur = db.execute("INSERT INTO inbox(dest, channel, row, reply_to) VALUES(?,?,?,?)",
                             (dest, channel, encode(row), reply_to))
            ids.append(cur.lastrowid)
        return ids

    def commit_ticks(self, records: list[TickRecord]) -> list[list[int]]:
        out = []
        with self._tx() as db:
            for r in records:
                if r.failed:
                    db.executemany("UPDATE inbox SET state=? WHERE id=?", [(FAILED, i) for i in r.consumed])
                    out.append([])
                    continue
                db.executemany("DELETE FROM inbox WHERE id=?", [(i,) for i in r.consumed])
                for rel, rows in r.removed.items():
                    db.executemany("DELETE FROM row WHERE addr=? AND relation=? AND row=?",
                                   [(r.addr, rel, encode(x)) for x in rows])
                for rel, rows in r.added.items():
                    db.executemany("INSERT OR IGNORE INTO row VALUES(?,?,?)",
                                   [(r.addr, rel, encode(x)) for x in rows])
                deferred = json.dumps({k: [list(x) for x in v] for k, v in r.deferred.items() if v})
                db.execute("INSERT INTO instance VALUES(?,?,1) ON CONFLICT(addr) DO UPDATE SET "
                           "deferred=excluded.deferred, ticks=ticks+1", (r.addr, deferred))
                out.append(self._insert(db, [(d, c, row, None) for d, c, row in r.sends]))
        return out

    def load(self, addr):
        with self._lock:
            got = self._db.execute("SELECT deferred FROM instance WHERE addr=?", (addr,)).fetchone()
            if got is None:
                return None
            tables: dict[str, set[tuple]] = {}
            for rel, text in self._db.execute("SELECT relation, row FROM row WHERE addr=?", (addr,)):
                tables.setdefault(rel, set()).add(decode(text))
        deferred = {k: [tuple(x) for x in v] for k, v in json.loads(got[0]).items()}
        return tables, deferred

    def rows(self, addr, relation):
        with self._lock:
            return [decode(t) for (t,) in self._db.execute(
                "SELECT row FROM row WHERE addr=? AND relation=?", (addr, relation))]

    def _messages(self, state: int) -> list[Stored]:
        with self._lock:
            got = self._db.execute("SELECT id, dest, channel, row, reply_to FROM inbox WHERE state=? "
                                   "ORDER BY id", (state,)).fetchall()
        return [Stored(i, d, c, decode(r), rt) for i, d, c, r, rt in got]

    def pending(self):
        return self._messages(PENDING)

    def failed(self):
        return self._messages(FAILED)

    def instances(self):
        with self._lock:
            return [a for (a,) in self._db.execute("SELECT addr FROM instance ORDER BY addr")]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Tx:
    """BEGIN IMMEDIATE .. COMMIT under the lock; ROLLBACK when the body raises."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self.lock.release()
