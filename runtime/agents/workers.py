"""Where instances tick (docs/service.md, "Workers"): an `AgentWorker` holds the instances
placed on it and runs their ticks, one request at a time; the host (host.py) owns the
directory (which worker holds which instance), the store and the commits.

A request brings the messages for the worker's instances (with their inbox ids), the saved
state of instances placed on it now, and the instances to drop (deactivated: their state is
in the store already). The worker ticks every instance with mail, and those still busy from
before, once per pending batch of mail: all an instance's messages go into one tick. It
applies each tick at once and reports it as a `Tick` (a TickRecord for the store, and what
the host delivers). A send to an instance on this same worker is delivered here, in this
request, without going back to the host; it gets a local id (< 0) instead of an inbox id,
and is neither inserted nor consumed in the store, since both ticks commit in the same
transaction. A local send still undelivered when the request ends (a ping-pong between two
instances is cut after `max_ticks`) goes back to the host as an ordinary send.

Handles: `InProcHandle` (the worker in the host's process), `ProcessHandle` (a process
from a fork server, over a pipe), `RayHandle` (a Ray actor).
"""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import multiprocessing as mp
import time
from collections import deque
from dataclasses import dataclass, field

from dfl.errors import DflError
from dfl.runtime.agents.addr import is_client, split
from dfl.runtime.agents.store import TickRecord

log = logging.getLogger("dfl.agents")


def instance_class():
    from dfl.runtime.agents.instance import Instance

    return Instance


def table_names(agent) -> set[str]:
    return {r.name for r in agent.program.graph.relations if r.storage == "table"}


def output_names(agent) -> set[str]:
    # not the hidden outputs of sends (`__send_<chan>`, lang/sends.py): those are the Outcome's sends
    return {r.name for r in agent.program.graph.relations
            if "output" in r.kinds and r.storage != "table" and not r.name.startswith("__")}


@dataclass
class Request:
    deliver: list[tuple[str, int, str, tuple]] = field(default_factory=list)  # (addr, id, channel, row)
    activate: dict[str, tuple | None] = field(default_factory=dict)  # addr -> (tables, deferred) | None
    drop: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.deliver or self.activate or self.drop)


@dataclass
class Tick:
    record: TickRecord  # what the store commits (its sends: to instances elsewhere)
    seconds: float
    busy: bool = False
    changed: bool = False  # tables or deferred rows changed: the next tick carries this one's work on
    local_consumed: list[int] = field(default_factory=list)  # local ids this tick took in
    local_sent: list[int] = field(default_factory=list)  # local ids of the sends delivered here
    client: list[tuple[str, str, tuple]] = field(default_factory=list)  # replies to "@client/.."
    sinks: dict[str, list[tuple]] = field(default_factory=dict)  # the tick's outputs
    error: str | None = None


@dataclass
class Reply:
    ticks: list[Tick]
    refused: list[tuple[str, str]]  # (kind, text) of each send not delivered (AgentWorker.refusal)
    busy: bool  # some instance here must tick again without a new message


class AgentWorker:
    def __init__(self, agents: dict, inputs: dict[str, dict[str, list[tuple]]], target: str,
                 max_ticks: int = 1000, instance_factory=None) -> None:
        self.agents, self.inputs, self.target = agents, inputs, target
        self.max_ticks = max_ticks  # per request, and busy ticks in a row without mail per instance
        self.factory = instance_factory or instance_class()
        self.instances: dict = {}
        self.fresh: set[str] = set()  # activated without saved state: the store has none of its rows
        self.busy: dict[str, int] = {}  # addr -> busy ticks in a row without new mail
        self.outputs = {name: output_names(at) for name, at in agents.items()}
        self.channels = {name: at.channels() for name, at in agents.items()}

    def run(self, req: Request) -> Reply:
        for addr in req.drop:
            self.instances.pop(addr, None)
            self.busy.pop(addr, None)
        for addr, saved in req.activate.items():
            agent, key = split(addr)
            at = self.agents[agent]
            tables, deferred = saved if saved is not None else (None, None)
            if saved is not None:
                tables = {**{t: set() for t in table_names(at)}, **tables}
            else:
                self.fresh.add(addr)
            self.instances[addr] = self.factory(at, key, self.target, self.inputs.get(agent, {}), tables, deferred)
        mail: dict[str, list[tuple[int, str, tuple]]] = {}
        for addr, mid, channel, row in req.deliver:
            mail.setdefault(addr, []).append((mid, channel, row))
        ready = deque(list(mail) + [a for a in self.busy if a not in mail])
        queued = set(ready)
        ticks: list[Tick] = []
        refused: list[tuple[str, str]] = []
        local: dict[int, tuple[int, str, str, tuple]] = {}  # local id -> (tick index, dest, channel, row)
        next_local = -1
        while ready and len(ticks) < self.max_ticks:
            addr = ready.popleft()
            queued.discard(addr)
            got = mail.pop(addr, [])
            inst = self.instances[addr]
            msgs: dict[str, list[tuple]] = {}
            for _, channel, row in got:
                msgs.setdefault(channel, []).append(row)
            ids = [m for m, _, _ in got if m > 0]
            lids = [m for m, _, _ in got if m < 0]
            for m in lids:
                local.pop(m)
            t0 = time.perf_counter()
            try:
                o = inst.compute(msgs)
            except DflError as e:
                log.error("agent %s: a tick failed, its %d message(s) are dropped: %s", addr, len(got), e)
                ticks.append(Tick(TickRecord(addr, ids, failed=True), time.perf_counter() - t0,
                                  local_consumed=lids, error=str(e)))
                self.busy.pop(addr, None)
                continue
            before = {} if addr in self.fresh else inst.tables()
            self.fresh.discard(addr)
            rec = TickRecord(addr, ids, deferred=o.deferred)
            for rel, rows in o.tables.items():
                old = before.get(rel, set())
                if rows is not old:
                    if rows - old:
                        rec.added[rel] = rows - old
                    if old - rows:
                        rec.removed[rel] = old - rows
            inst.apply(o)
            tick = Tick(rec, time.perf_counter() - t0, busy=o.busy, local_consumed=lids,
                        changed=bool(rec.added or rec.removed or any(o.deferred.values())))
            outs = self.outputs.get(split(addr)[0], ())
            tick.sinks = {r: list(v) for r, v in o.sinks.items() if r in outs and v}
            for s in o.sends:
                why = self.refusal(addr, s.dest, s.channel, s.row)
                if why is not None:
                    refused.append(why)
                elif is_client(s.dest):
                    tick.client.append((s.dest, s.channel, tuple(s.row)))
                elif s.dest in self.instances:
                    local[next_local] = (len(ticks), s.dest, s.channel, tuple(s.row))
                    tick.local_sent.append(next_local)
                    mail.setdefault(s.dest, []).append((next_local, s.channel, tuple(s.row)))
                    self.busy.pop(s.dest, None)
                    if s.dest not in queued:
                        ready.append(s.dest)
                        queued.add(s.dest)
                    next_local -= 1
                else:
                    rec.sends.append((s.dest, s.channel, tuple(s.row)))
            ticks.append(tick)
            if o.busy and not got and self.busy.get(addr, 0) + 1 >= self.max_ticks:
                log.warning("agent %s: still busy after %d ticks without a message; it waits for the next",
                            addr, self.max_ticks)
                self.busy.pop(addr, None)
                tick.busy = False
            elif o.busy:
                # it ticks again in the next request, so the others get their turn first
                self.busy[addr] = 0 if got else self.busy.get(addr, 0) + 1
            else:
                self.busy.pop(addr, None)
        # local sends not delivered in this request go back as ordinary sends of their tick
        for lid, (i, dest, channel, row) in sorted(local.items(), reverse=True):
            ticks[i].local_sent.remove(lid)
            ticks[i].record.sends.append((dest, channel, row))
        return Reply(ticks, refused, bool(self.busy))

    def refusal(self, sender: str, dest: str, channel: str, row: tuple) -> tuple[str, str] | None:
        """Why a send is refused at run time, as (kind, text): kind is one of a few fixed words
        (the metric's label: never an address or a value), or None when it is delivered."""
        if is_client(dest):
            return None
        try:
            agent, key = split(dest)
        except ValueError:
            return "not_an_address", f"{sender} sent {channel} to {dest!r}, which is not an address"
        at = self.agents.get(agent)
        if at is None:
            return "no_agent", f"{sender} sent {channel} to {dest}: there is no agent {agent!r}"
        schema = self.channels[agent].get(channel)
        if schema is None:
            return "no_channel", f"{sender} sent to {dest}: agent {agent} has no channel {channel!r}"
        if len(row) != schema.arity:
            return "arity", f"{sender} sent {agent}.{channel} {len(row)} column(s), it has {schema.arity}"
        allowed = at.allow.get(channel)
        if allowed is not None and split(sender)[0] not in allowed:
            return "allow", f"{sender} may not send to {agent}.{channel} (@allow: {', '.join(sorted(allowed))})"
        return None


# ------------------------------------------------------------------ handles
class InProcHandle:
    """The worker in this process: its ticks run in the event loop (`thread=False`, the
    default: a tick is short, and a thread hop costs more than it saves under the GIL) or on a
    thread (the loop stays free to take requests during a long tick)."""

    def __init__(self, worker: AgentWorker, thread: bool = False) -> None:
        self.worker, self.thread = worker, thread

    async def call(self, req: Request) -> Reply:
        if self.thread:
            return await asyncio.to_thread(self.worker.run, req)
        return self.worker.run(req)

    def rows(self, addr: str, relation: str) -> list[tuple] | None:
        inst = self.worker.instances.get(addr)
        return None if inst is None else inst.rows(relation)

    async def close(self) -> None:
        pass


_CTX = None


def _context():
    global _CTX
    if _CTX is None:
        _CTX = mp.get_context("forkserver")
        _CTX.set_forkserver_preload(["dfl.runtime.agents.workers"])
    return _CTX


def _serve(conn, agents, inputs, target, max_ticks, factory) -> None:
    from dfl.runtime.dist import liveness

    liveness.die_with_parent()
    worker = AgentWorker(agents, inputs, target, max_ticks, factory)
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError):
            return
        if req is None:
            return
        try:
            conn.send(("ok", worker.run(req)))
        except BaseException as e:  # noqa: BLE001 - the host says what went wrong
            conn.send(("err", f"{type(e).__name__}: {e}"))


def shippable(agents: dict) -> dict:
    """The agent types without the plans compiled here (an interpreter plan holds generated
    functions, which do not pickle): a worker compiles its own, once."""
    out = {}
    for name, at in agents.items():
        prog = getattr(at, "program", None)
        if getattr(prog, "_plans", None):
            prog = copy.copy(prog)
            prog._plans = {}
            at = dataclasses.replace(at, program=prog)
        out[name] = at
    return out


class ProcessHandle:
    """A worker process. One request at a time: the host's driver for this worker awaits
    each answer before it sends the next."""

    def __init__(self, agents, inputs, target: str, max_ticks: int, factory=None) -> None:
        ctx = _context()
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(theirs, shippable(agents), inputs, target, max_ticks,
                                                        factory),
                                   name="dfl-agent-worker", daemon=True)
        from dfl.runtime.pools.pool import _main_hidden

        with _main_hidden():  # a script without a __main__ guard is not run again in the worker
            self.process.start()
        theirs.close()

    def _call(self, req: Request) -> Reply:
        self.conn.send(req)
        status, got = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"agent worker {self.process.pid}: {got}")
        return got

    async def call(self, req: Request) -> Reply:
        return await asyncio.to_thread(self._call, req)

    def rows(self, addr: str, relation: str) -> None:
        return None  # the host reads the store

    async def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        await asyncio.to_thread(self.process.join, 5)
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()


class RayHandle:
    """A worker in a Ray actor (`engine="ray"`)."""

    def __init__(self, agents, inputs, target: str, max_ticks: int, factory=None) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        self.actor = ray.remote(AgentWorker).remote(shippable(agents), inputs, target, max_ticks, factory)

    async def call(self, req: Request) -> Reply:
        return await self.actor.run.remote(req)

    def rows(self, addr: str, relation: str) -> None:
        return None

    async def close(self) -> None:
        import ray

        ray.kill(self.actor)
