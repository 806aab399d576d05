"""Where a service's agents keep what must outlive a tick (docs/service.md): the messages not
yet consumed (the inbox), each instance's tables and deferred rows.

The host (host.py) writes a store in two ways only, each one transaction:
- `enqueue(messages)`: messages from outside, durable before it returns (a batch of many
  concurrent requests shares one commit: group commit);
- `commit_ticks(records)`: ticks of instances, each with the ids of the messages it consumed,
  its tables' changes (diffs, so a tick costs O(change)), its deferred rows and the messages
  it sends to other instances (put in their inbox in the same transaction, so a send is as
  durable as the tick that made it, and a message is consumed exactly once).

`MemoryAgentStore` keeps all of it in this process (a service without `--state`);
`SqliteAgentStore` (store_sqlite.py) in a database file.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Stored:
    """A message in the inbox."""
    id: int
    dest: str  # "Agent/key"
    channel: str
    row: tuple
    reply_to: str | None = None


@dataclass
class TickRecord:
    """One tick of one instance, as the store records it."""
    addr: str
    consumed: list[int]  # inbox ids of the messages the tick took in (local deliveries have none)
    added: dict[str, set[tuple]] = field(default_factory=dict)  # table -> rows new this tick
    removed: dict[str, set[tuple]] = field(default_factory=dict)  # table -> rows gone this tick
    deferred: dict[str, list[tuple]] = field(default_factory=dict)  # rows for the next tick (all of them)
    sends: list[tuple[str, str, tuple]] = field(default_factory=list)  # (dest, channel, row) to enqueue
    failed: bool = False  # the tick raised: its messages are marked failed, nothing else changes


class AgentStore(Protocol):
    durable: bool

    def enqueue(self, messages: list[tuple[str, str, tuple, str | None]]) -> list[int]:
        """(dest, channel, row, reply_to) each; their ids, once committed."""
        ...

    def commit_ticks(self, records: list[TickRecord]) -> list[list[int]]:
        """All the records in one transaction; per record, the inbox ids of its sends."""
        ...

    def load(self, addr: str) -> tuple[dict[str, set[tuple]], dict[str, list[tuple]]] | None:
        """An instance's saved (tables, deferred), or None when it never ticked."""
        ...

    def rows(self, addr: str, relation: str) -> list[tuple]: ...

    def pending(self) -> list[Stored]:
        """Every message not consumed yet, in id order (what a restart delivers again)."""
        ...

    def failed(self) -> list[Stored]: ...

    def instances(self) -> list[str]:
        """Every instance that ever committed a tick."""
        ...

    def close(self) -> None: ...


def commit_tick(store: AgentStore, record: TickRecord) -> list[int]:
    """One record (the interface's `commit_tick(addr, consumed_ids, outcome)`, diffs given)."""
    return store.commit_ticks([record])[0]


class MemoryAgentStore:
    """The whole state in this process's memory: lost when it stops (`dfl serve` says so)."""
    durable = False

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._inbox: dict[int, Stored] = {}
        self._failed: dict[int, Stored] = {}
        self._tables: dict[str, dict[str, set[tuple]]] = {}
        self._deferred: dict[str, dict[str, list[tuple]]] = {}

    def enqueue(self, messages):
        ids = []
        for dest, channel, row, reply_to in messages:
            i = next(self._ids)
            self._inbox[i] = Stored(i, dest, channel, tuple(row), reply_to)
            ids.append(i)
        return ids

    def commit_ticks(self, records):
        out = []
        for r in records:
            for i in r.consumed:
                m = self._inbox.pop(i, None)
                if r.failed and m is not None:
                    self._failed[i] = m
            if r.failed:
                out.append([])
                continue
            tables = self._tables.setdefault(r.addr, {})
            for rel, rows in r.removed.items():
                tables.setdefault(rel, set()).difference_update(rows)
            for rel, rows in r.added.items():
                tables.setdefault(rel, set()).update(rows)
            self._deferred[r.addr] = {k: list(v) for k, v in r.deferred.items() if v}
            out.append(self.enqueue([(d, c, row, None) for d, c, row in r.sends]))
        return out

    def load(self, addr):
        if addr not in self._deferred:
            return None
        return ({k: set(v) for k, v in self._tables.get(addr, {}).items()},
                {k: list(v) for k, v in self._deferred[addr].items()})

    def rows(self, addr, relation):
        return list(self._tables.get(addr, {}).get(relation, ()))

    def pending(self):
        return [self._inbox[i] for i in sorted(self._inbox)]

    def failed(self):
        return [self._failed[i] for i in sorted(self._failed)]

    def instances(self):
        return sorted(self._deferred)

    def close(self) -> None:
        pass
