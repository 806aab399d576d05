"""One agent instance (LANGUAGE.md §8): an (agent type, key) with its own tables, ticking over
the plan its agent type was compiled to once.

A tick is split in two so a host can make it durable: `compute(msgs)` runs the tick on the
messages and returns its `Outcome` (the tables after it, the rows deferred to the next tick,
the rows it sends, its outputs) without touching the instance; `apply(outcome)` then makes it
the instance's state. A host that keeps state in a store commits the outcome (with the
messages consumed and the sends) in one transaction between the two; a program error raised
by `compute` leaves the instance as it was.

The instance's own address reaches its rules as the one row of the input `__self`
(lang/addresses.py); what it sends is the rows of its hidden `__send_<chan>` outputs
(lang/sends.py): the first column the destination, the rest the row.
"""
from __future__ import annotations

from dataclasses import dataclass

from dfl.backends.base import InputKey
from dfl.ir.values import sort_rows
from dfl.lang.addresses import SELF_REL
from dfl.lang.sends import sent_channel
from dfl.runtime.agents.addr import make
from dfl.runtime.agents.types import AgentType
from dfl.runtime.ticks import tick_step


@dataclass(frozen=True)
class Send:
    dest: str  # an address "Agent/key", or an outside client's "@client/<id>"
    channel: str
    row: tuple


@dataclass
class Outcome:
    """One tick, computed and not yet applied."""
    tables: dict[str, set[tuple]]  # every table's rows after the tick
    deferred: dict[str, list[tuple]]  # rows deferred to the next tick (a channel's among them)
    sends: list[Send]  # one per distinct row sent, ordered by channel then row
    sinks: dict[str, list[tuple]]  # the tick's outputs
    busy: bool  # the instance must tick again, message or not (False: quiescent)


class Instance:
    def __init__(self, agent: AgentType, key: str, target: str, inputs: dict[str, list[tuple]],
                 tables: dict[str, set[tuple]] | None = None, deferred: dict[str, list[tuple]] | None = None) -> None:
        """`inputs`: the rows of the top-level inputs the agent reads; `tables`/`deferred`: a
        saved state (None: the tables' declared initial rows, nothing deferred)."""
        self.agent = agent
        self.key = key
        self.addr = make(agent.name, key)
        prog = agent.program
        self.plan = prog.plan(target)
        self.decls = {r.name: r for r in prog.graph.relations}
        self.base: dict[InputKey, list[tuple]] = {("input", rel): rows for rel, rows in inputs.items()}
        if SELF_REL in self.decls:
            self.base[("input", SELF_REL)] = [(self.addr,)]
        if tables is None:
            tables = {r.name: set(r.init) for r in prog.graph.relations if r.storage == "table"}
        self._tables = tables
        self._deferred = deferred or {}
        self._sinks: dict[str, list[tuple]] = {}
        self.ticks = 0

    def tables(self) -> dict[str, set[tuple]]:
        return self._tables

    def deferred(self) -> dict[str, list[tuple]]:
        return self._deferred

    def rows(self, relation: str) -> list[tuple]:
        """A table's rows now, or an output's rows of the last tick."""
        if relation in self._tables:
            return list(self._tables[relation])
        return list(self._sinks.get(relation, ()))

    def compute(self, msgs: dict[str, list[tuple]]) -> Outcome:
        """One tick with `msgs` on their channels (raises DflError on a program error; the
        instance is left as it was)."""
        ins = dict(self.base)
        for rel, rows in self._tables.items():
            ins[("state", rel)] = list(rows)
        arriving: dict[str, list[tuple]] = {ch: list(rows) for ch, rows in msgs.items() if rows}
        for rel, rows in self._deferred.items():
            if self.decls[rel].storage == "channel":
                arriving.setdefault(rel, []).extend(rows)
            else:
                ins[("deferred", rel)] = rows
        for ch, rows in arriving.items():
            ins[("channel", ch)] = rows
        step = tick_step(self.plan, ins, self._tables)
        sends: list[Send] = []
        sinks: dict[str, list[tuple]] = {}
        for rel, rows in sorted(step.result.sinks.items()):
            ch = sent_channel(rel)
            if ch is None:
                sinks[rel] = rows
                continue
            types = self.decls[rel].schema.types
            sends.extend(Send(r[0], ch, tuple(r[1:])) for r in sort_rows(set(map(tuple, rows)), types))
        # quiescent: the next tick, with no message, would see what this one saw
        quiet = not arriving and step.tables == self._tables and _same(step.deferred, self._deferred)
        return Outcome(step.tables, step.deferred, sends, sinks, not quiet)

    def apply(self, o: Outcome) -> None:
        self._tables = o.tables
        self._deferred = o.deferred
        self._sinks = o.sinks
        self.ticks += 1


def _same(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> bool:
    keys = {k for k, v in a.items() if v} | {k for k, v in b.items() if v}
    return all(set(a.get(k, ())) == set(b.get(k, ())) for k in keys)
