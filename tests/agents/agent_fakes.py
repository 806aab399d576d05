"""Agent types written in Python for the host's tests: they send (the language's sends land
with the semantics part), and they pickle by reference, so worker processes can run them."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from dfl.errors import DflError
from dfl.ir.types import Column, Schema, Type


@dataclass(frozen=True)
class Send:
    dest: str
    channel: str
    row: tuple


@dataclass
class Outcome:
    tables: dict
    deferred: dict
    sends: list
    sinks: dict
    busy: bool


class FakeAgent:
    def __init__(self, name, channels, tables, behave, public=None, allow=None) -> None:
        self.name = name
        self._channels = {c: Schema(tuple(Column(f"c{i}", t) for i, t in enumerate(ts))) for c, ts in channels.items()}
        self.public = frozenset(channels if public is None else public)
        self.allow = allow or {}
        rels = [SimpleNamespace(name=t, storage="table", kinds=frozenset()) for t in tables]
        self.program = SimpleNamespace(graph=SimpleNamespace(relations=rels))
        self.tables = tables
        self.behave = behave

    def channels(self):
        return self._channels


class FakeInstance:
    def __init__(self, agent, key, target, inputs, tables=None, deferred=None) -> None:
        self.agent, self.key, self.addr = agent, key, f"{agent.name}/{key}"
        self._tables = {t: set() for t in agent.tables} if tables is None else tables
        self._deferred = deferred or {}

    def compute(self, msgs):
        tables = {k: set(v) for k, v in self._tables.items()}
        sends: list[Send] = []
        busy = self.agent.behave(self.addr, tables, msgs, sends)
        return Outcome(tables, {}, sends, {}, bool(busy))

    def apply(self, o):
        self._tables, self._deferred = o.tables, o.deferred

    def tables(self):
        return self._tables

    def deferred(self):
        return self._deferred

    def rows(self, relation):
        return list(self._tables.get(relation, ()))


def kv(addr, tables, msgs, sends):
    for k, v in msgs.get("put", ()):
        tables["store"] = {r for r in tables["store"] if r[0] != k} | {(k, v)}
    for k, c in msgs.get("get", ()):
        for r in tables["store"]:
            if r[0] == k:
                sends.append(Send(c, "got", r))
    for (x,) in msgs.get("boom", ()):
        raise DflError(f"boom {x}")


def ping(addr, tables, msgs, sends):
    """go(n, client): n round trips with Pong/<key>, then done(n) to the client."""
    key = addr.split("/", 1)[1]
    for n, c in msgs.get("go", ()):
        tables["client"] = {(c,)}
        sends.append(Send(f"Pong/{key}", "ping", (n, addr)))
    for (n,) in msgs.get("pong", ()):
        tables["trips"] = tables["trips"] | {(n,)}
        if n > 1:
            sends.append(Send(f"Pong/{key}", "ping", (n - 1, addr)))
        else:
            for (c,) in tables["client"]:
                sends.append(Send(c, "done", (len(tables["trips"]),)))


def pong(addr, tables, msgs, sends):
    for n, back in msgs.get("ping", ()):
        tables["seen"] = tables["seen"] | {(n,)}
        sends.append(Send(back, "pong", (n,)))


def spin(addr, tables, msgs, sends):
    """Counts down by itself: busy until its counter reaches 0, then tells its client."""
    for n, c in msgs.get("start", ()):
        tables["left"] = {(n,)}
        tables["client"] = {(c,)}
    [(n,)] = tables["left"] or [(0,)]
    if n > 0:
        tables["left"] = {(n - 1,)}
        return True
    for (c,) in tables["client"]:
        sends.append(Send(c, "finished", ()))
    tables["client"] = set()
    return False


def rude(addr, tables, msgs, sends):
    """Sends what the host must refuse."""
    for (c,) in msgs.get("go", ()):
        sends.append(Send("Nobody/x", "hi", ()))
        sends.append(Send("Kv/x", "nochannel", ()))
        sends.append(Send("Kv/x", "put", ("only one column",)))
        sends.append(Send("Guarded/x", "hi", (1,)))
        sends.append(Send(c, "ok", ()))


def guarded(addr, tables, msgs, sends):
    pass


S, I, A = Type.STR, Type.INT, Type.ADDR


def agents():
    return {
        "Kv": FakeAgent("Kv", {"put": [S, S], "get": [S, A], "boom": [I], "secret": [S]}, ["store"], kv,
                        public={"put", "get", "boom"}),
        "Ping": FakeAgent("Ping", {"go": [I, A], "pong": [I]}, ["client", "trips"], ping, public={"go"},
                          allow={"pong": frozenset({"Pong"})}),
        "Pong": FakeAgent("Pong", {"ping": [I, A]}, ["seen"], pong, public=set()),
        "Spin": FakeAgent("Spin", {"start": [I, A]}, ["left", "client"], spin),
        "Rude": FakeAgent("Rude", {"go": [A]}, [], rude),
        "Guarded": FakeAgent("Guarded", {"hi": [I]}, [], guarded, allow={"hi": frozenset({"Kv"})}),
    }
