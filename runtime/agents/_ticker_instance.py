"""A stand-in for runtime/agents/instance.py (the semantics part writes it) with the same API,
over `tick_step`, used by the host only while that module is missing. It knows no sends (the
language cannot write them yet), so its outcomes send nothing. Delete once instance.py lands.
"""
from __future__ import annotations

from dataclasses import dataclass

from dfl.runtime.ticks import _same, tick_step


@dataclass(frozen=True)
class Send:
    dest: str
    channel: str
    row: tuple


@dataclass
class Outcome:
    tables: dict[str, set[tuple]]
    deferred: dict[str, list[tuple]]
    sends: list[Send]
    sinks: dict[str, list[tuple]]
    busy: bool


class Instance:
    def __init__(self, agent, key: str, target: str, inputs: dict[str, list[tuple]],
                 tables: dict[str, set[tuple]] | None = None,
                 deferred: dict[str, list[tuple]] | None = None) -> None:
        self.agent, self.key, self.addr = agent, key, f"{agent.name}/{key}"
        graph = agent.program.graph
        self.plan = agent.program.plan(target)
        self.decls = {r.name: r for r in graph.relations}
        init = {r.name: set(r.init) for r in graph.relations if r.storage == "table"}
        self._tables = init if tables is None else {**{k: set() for k in init}, **tables}
        self._deferred = dict(deferred or {})
        self._sinks: dict[str, list[tuple]] = {}
        self.base = {("input", rel): rows for rel, rows in inputs.items()}

    def _inputs(self, tables, deferred, msgs):
        ins = dict(self.base)
        for rel, rows in tables.items():
            ins[("state", rel)] = list(rows)
        chans = {k: list(v) for k, v in msgs.items()}
        for rel, rows in deferred.items():
            if self.decls[rel].storage == "channel":
                chans.setdefault(rel, []).extend(rows)
            else:
                ins[("deferred", rel)] = rows
        for rel, rows in chans.items():
            ins[("channel", rel)] = rows
        return ins

    def compute(self, msgs: dict[str, list[tuple]]) -> Outcome:
        current = self._inputs(self._tables, self._deferred, msgs)
        s = tick_step(self.plan, current, self._tables)
        following = self._inputs(s.tables, s.deferred, {})
        return Outcome(s.tables, s.deferred, [], s.result.sinks, not _same(following, current))

    def apply(self, o: Outcome) -> None:
        self._tables, self._deferred, self._sinks = o.tables, o.deferred, o.sinks

    def tables(self):
        return self._tables

    def deferred(self):
        return self._deferred

    def rows(self, relation: str) -> list[tuple]:
        if relation in self._tables:
            return list(self._tables[relation])
        return list(self._sinks.get(relation, ()))
