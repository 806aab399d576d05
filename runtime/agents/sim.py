"""The deterministic simulation of a service (`dfl run --messages`, LANGUAGE.md §8).

An instance (runtime/agents/instance.py) is activated by its first message. The outside
messages are taken in time order; at each time, the instances they go to get them, all of
one instance's in one tick, and then the service runs in rounds until it is quiet: in a
round every instance with messages waiting, or not yet quiescent, runs one tick on all its
waiting messages, and the rows its tick sends wait for their receivers' next round (a later
tick of the receiver, as §8 says). Then comes the next time. Instances are visited in
(agent, key) order, so a run never depends on dict order.

`seed` (`--seed N`) varies only what agents send each other: each such message waits 0, 1 or
2 extra rounds, drawn from the seed, and so may land in a different tick of its receiver
than without a seed, alone or with other messages. A confluent program's results do not
change (tests/agents/test_agent_seeds.py runs every example under many seeds).

Rows sent to an outside sender's reply address (`@client/<line>`, the line of the messages
file that sent the message) are collected as replies. Sends the runtime must refuse (an
unknown agent type, a channel the receiver lacks, a row of the wrong width, a sender that
the channel's `@allow` leaves out) are counted and described, never delivered.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import groupby

from dfl.ir.types import Schema
from dfl.ir.values import sort_rows
from dfl.runtime.agents.addr import is_client, split
from dfl.runtime.agents.instance import Instance, Send
from dfl.runtime.agents.messages import Message
from dfl.runtime.agents.types import AgentType, keyed
from dfl.runtime.ticks import DEFAULT_MAX_TICKS

MAX_DELAY = 2  # extra rounds a seeded run may hold an agent-to-agent message


@dataclass
class Reply:
    to: str  # the outside sender's reply address
    channel: str
    row: tuple


@dataclass
class SimResult:
    relations: dict[str, tuple[Schema, list[tuple]]]  # "Agent.rel" -> keyed schema, sorted rows
    ticks: int  # ticks run, all instances together
    quiescent: bool  # False when the tick limit stopped an instance or the service
    replies: list[Reply] = field(default_factory=list)  # in the order they were sent
    refused: list[str] = field(default_factory=list)  # why each refused send was refused


class Service:
    """The instances of a run and the messages between them."""

    def __init__(self, agents: dict[str, AgentType], inputs: dict[str, dict[str, list[tuple]]], target: str,
                 seed: int | None = None) -> None:
        self.agents = agents
        self.inputs = inputs
        self.target = target
        self.rng = random.Random(seed) if seed is not None else None
        self.instances: dict[tuple[str, str], Instance] = {}
        self.inbox: dict[tuple[str, str], dict[str, list[tuple]]] = {}
        self.held: list[tuple[int, tuple[str, str], str, tuple]] = []  # (rounds left, dest, channel, row)
        self.busy: set[tuple[str, str]] = set()
        self.replies: list[Reply] = []
        self.refused: list[str] = []
        self.ticks = 0

    def instance(self, ident: tuple[str, str]) -> Instance:
        inst = self.instances.get(ident)
        if inst is None:
            at = self.agents[ident[0]]
            inst = self.instances[ident] = Instance(at, ident[1], self.target, self.inputs.get(at.name, {}))
        return inst

    def post(self, agent: str, key: str, channel: str, row: tuple) -> None:
        self.inbox.setdefault((agent, key), {}).setdefault(channel, []).append(row)

    def settle(self, max_rounds: int) -> bool:
        """Rounds until no message waits and every instance is quiescent; False at the limit."""
        rounds = 0
        while self.inbox or self.busy or self.held:
            if rounds >= max_rounds:
                return False
            rounds += 1
            due, self.inbox = self.inbox, {}
            for ident in sorted(set(due) | self.busy):
                inst = self.instance(ident)
                o = inst.compute(due.get(ident, {}))
                inst.apply(o)
                self.ticks += 1
                (self.busy.add if o.busy else self.busy.discard)(ident)
                for s in o.sends:
                    self._route(inst, s)
            self._release()
        return True

    def _route(self, sender: Instance, s: Send) -> None:
        if is_client(s.dest):
            self.replies.append(Reply(s.dest, s.channel, s.row))
            return
        why = self._refusal(sender, s)
        if why is not None:
            self.refused.append(f"{sender.addr} -> {s.dest} {s.channel}{s.row}: {why}")
            return
        dest = split(s.dest)
        delay = self.rng.randint(0, MAX_DELAY) if self.rng is not None else 0
        self.held.append((delay, dest, s.channel, s.row))

    def _release(self) -> None:
        """Messages whose delay is over wait for their receiver's next round."""
        later = []
        for delay, dest, ch, row in self.held:
            if delay == 0:
                self.post(dest[0], dest[1], ch, row)
            else:
                later.append((delay - 1, dest, ch, row))
        if self.rng is not None:
            for chans in self.inbox.values():  # arrival order within a tick is no promise either
                for rows in chans.values():
                    self.rng.shuffle(rows)
        self.held = later

    def _refusal(self, sender: Instance, s: Send) -> str | None:
        try:
            agent, _ = split(s.dest)
        except ValueError:
            return "not an address"
        at = self.agents.get(agent)
        if at is None:
            return f"there is no agent {agent}"
        schema = at.channels().get(s.channel)
        if schema is None:
            return f"agent {agent} has no channel {s.channel}"
        if schema.arity != len(s.row):
            return f"{agent}.{s.channel} has {schema.arity} column(s), the row {len(s.row)}"
        allowed = at.allow.get(s.channel)
        if allowed is not None and sender.agent.name not in allowed:
            return f"{agent}.{s.channel} accepts messages only from {', '.join(sorted(allowed))} (@allow)"
        return None


def simulate(agents: dict[str, AgentType], messages: list[Message], inputs: dict[str, dict[str, list[tuple]]],
             target: str, max_ticks: int | None = None, seed: int | None = None) -> SimResult:
    """`inputs[agent]`: the rows of the top-level inputs that agent type reads."""
    limit = DEFAULT_MAX_TICKS if max_ticks is None else max_ticks
    svc = Service(agents, inputs, target, seed)
    quiescent = True
    for _, batch in groupby(sorted(messages, key=lambda m: m.time), key=lambda m: m.time):
        for m in batch:  # sorted() is stable: file order within one time
            svc.post(m.agent, m.key, m.channel, m.values)
        quiescent = svc.settle(limit) and quiescent
    return SimResult(_results(agents, svc.instances), svc.ticks, quiescent, svc.replies, svc.refused)


def _results(agents: dict[str, AgentType], instances: dict[tuple[str, str], Instance]):
    out: dict[str, tuple[Schema, list[tuple]]] = {}
    for name in sorted(agents):
        for rel, schema in agents[name].results().items():
            rows = []
            for (agent, key), inst in instances.items():
                if agent == name:
                    rows.extend((key, *r) for r in inst.rows(rel))
            ks = keyed(schema)
            out[f"{name}.{rel}"] = (ks, sort_rows(rows, ks.types))
    return out
