"""The deterministic simulation of a service (`dfl run --messages`, LANGUAGE.md §8).

An instance is an (agent type, key) pair, activated by its first message, with its own
state in a StateStore and its own ticks: one `Ticker` over the plan its agent type was
compiled to once. The outside messages are delivered in time order: at each time, every
instance with messages at that time gets them all in one tick, then runs its ticks to
quiescence (its `next` rules and self-deferred rows settle) before the next time comes.
Instances are visited in (agent, key) order so a run never depends on dict order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from dfl.ir.types import Schema
from dfl.ir.values import sort_rows
from dfl.runtime.agents.messages import Message
from dfl.runtime.agents.types import AgentType, keyed
from dfl.runtime.ticks import DEFAULT_MAX_TICKS, Ticker, _same


@dataclass
class Instance:
    agent: AgentType
    key: str
    ticker: Ticker
    sinks: dict[str, list[tuple]] = field(default_factory=dict)  # the last tick's outputs
    quiescent: bool = True

    def deliver(self, msgs: dict[str, list[tuple]], max_ticks: int) -> int:
        """One tick with `msgs` on their channels, then ticks until quiescence; returns the
        ticks run."""
        current = self.ticker.inputs()
        for ch, rows in msgs.items():
            current[("channel", ch)] = list(current.get(("channel", ch), ())) + rows
        ran = 0
        while True:
            self.sinks = self.ticker.step(current).result.sinks
            ran += 1
            following = self.ticker.inputs()
            if _same(following, current):
                self.quiescent = True
                return ran
            if ran >= max_ticks:
                self.quiescent = False
                return ran
            current = following


@dataclass
class SimResult:
    relations: dict[str, tuple[Schema, list[tuple]]]  # "Agent.rel" -> keyed schema, sorted rows
    ticks: int  # ticks run, all instances together
    quiescent: bool  # False when an instance hit the tick limit


def simulate(agents: dict[str, AgentType], messages: list[Message], inputs: dict[str, dict[str, list[tuple]]],
             target: str, max_ticks: int | None = None) -> SimResult:
    """`inputs[agent]`: the rows of the top-level inputs that agent type reads."""
    limit = DEFAULT_MAX_TICKS if max_ticks is None else max_ticks
    instances: dict[tuple[str, str], Instance] = {}
    ticks = 0
    for _, batch in groupby(sorted(messages, key=lambda m: m.time), key=lambda m: m.time):
        per: dict[tuple[str, str], dict[str, list[tuple]]] = {}
        for m in batch:  # sorted() is stable: file order within one time
            per.setdefault((m.agent, m.key), {}).setdefault(m.channel, []).append(m.values)
        for ident in sorted(per):
            inst = instances.get(ident)
            if inst is None:
                at = agents[ident[0]]
                prog = at.program
                inst = instances[ident] = Instance(at, ident[1], Ticker(prog.graph, prog.plan(target),
                                                                        inputs.get(at.name, {})))
            ticks += inst.deliver(per[ident], limit)
    return SimResult(_results(agents, instances), ticks, all(i.quiescent for i in instances.values()))


def _results(agents: dict[str, AgentType], instances: dict[tuple[str, str], Instance]):
    out: dict[str, tuple[Schema, list[tuple]]] = {}
    for name in sorted(agents):
        for rel, schema in agents[name].results().items():
            rows = []
            for (agent, key), inst in instances.items():
                if agent != name:
                    continue
                tables = inst.ticker.store.tables()
                got = tables[rel] if rel in tables else inst.sinks.get(rel, ())
                rows.extend((key, *r) for r in got)
            ks = keyed(schema)
            out[f"{name}.{rel}"] = (ks, sort_rows(rows, ks.types))
    return out
