"""The live service (docs/service.md): agent instances on workers, messages in and out, the
state store, autoscaling. `dfl serve` (runtime/serve/) puts HTTP in front of a `Host`.

Flow of a message from outside: `post` checks it (agent, @public channel, reply column),
puts it in a batch with every other message posted meanwhile and enqueues the batch in one
store transaction (group commit); once that committed, the message is acknowledged (post
returns) and routed to its instance's worker. A worker's driver takes all the mail for its
instances, runs one request on the worker (each instance: one tick for all its messages),
commits every tick of the request in one transaction (consumed ids, table diffs, deferred
rows, sends to other instances put in their inbox), and only then delivers: sends to
instances go to their workers, replies to `@client/..` addresses to `replies()`.

Instances are virtual: the host keeps a directory addr -> worker; the first message for an
instance not active anywhere activates it on the least loaded worker, from the state the
store has for it (none: its initial rows). An instance idle for `idle_s` is deactivated
(dropped from its worker; its state is in the store already, every tick committed), and
reactivated anywhere by its next message. With an autoscale Policy the pool follows load
(tick latency against the SLO, backlog) and goes down to zero workers when idle; the next
message starts a worker at once (reactivation, reported to `events.reactivation`).

The host runs on one asyncio event loop; none of its methods is thread-safe.
"""
from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import math
import time
from dataclasses import dataclass, field

from dfl.runtime.agents.addr import client, make, split
from dfl.runtime.agents.events import HostEvents
from dfl.runtime.agents.store import AgentStore, MemoryAgentStore
from dfl.runtime.agents.workers import AgentWorker, InProcHandle, ProcessHandle, RayHandle, Request, table_names
from dfl.runtime.pools.autoscale import Autoscaler, Load, Policy

log = logging.getLogger("dfl.agents")
ENGINES = ("local", "inproc", "ray")


@dataclass(eq=False)
class _Msg:
    id: int  # inbox id
    dest: str
    channel: str
    row: tuple
    origins: frozenset  # the outside senders (reply addresses) whose request caused it


@dataclass(eq=False)
class _Slot:
    """A worker as the host sees it."""
    n: int
    handle: object
    instances: set = field(default_factory=set)
    mail: dict = field(default_factory=dict)  # addr -> [_Msg], not yet sent to the worker
    activate: set = field(default_factory=set)  # placed here, state not yet shipped
    drops: list = field(default_factory=list)
    busy: bool = False  # some instance here must tick again without a message
    inflight: list | None = None  # the messages of the request running now
    draining: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    def idle(self) -> bool:
        return not self.mail and self.inflight is None and not self.busy and not self.activate


class Refused(ValueError):
    """A message from outside the host will not take (the reason says why)."""


class Host:
    def __init__(self, agents: dict, inputs: dict[str, dict[str, list[tuple]]], target: str = "interp",
                 store: AgentStore | None = None, workers: int = 1, autoscale: Policy | None = None,
                 engine: str = "local", idle_s: float = 60.0, events: HostEvents | None = None,
                 max_ticks: int = 1000, tick_thread: bool = False, instance_factory=None,
                 autoscale_interval_s: float = 0.05, tune_gc: bool = True) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
        if workers < 0 or (workers == 0 and autoscale is None):
            raise ValueError(f"workers: expected at least 1 (or an autoscale policy), got {workers}")
        self.agents, self.inputs, self.target = agents, inputs, target
        self.store = store if store is not None else MemoryAgentStore()
        self.engine, self.idle_s, self.max_ticks = engine, idle_s, max_ticks
        self.events = events or HostEvents()
        self.policy = autoscale
        self.scaler = Autoscaler(autoscale) if autoscale is not None else None
        self.autoscale_interval_s = autoscale_interval_s
        self.initial_workers = autoscale.min_workers if autoscale is not None else workers
        # one fixed worker runs in this process: no pipe, no pickling
        self.inproc = engine == "inproc" or (engine == "local" and autoscale is None and workers == 1)
        self.tick_thread = tick_thread
        self.tune_gc = tune_gc
        self.factory = instance_factory
        self.tables = {name: table_names(at) for name, at in agents.items()}
        self.channels = {name: at.channels() for name, at in agents.items()}  # computed once: post is hot
        self.slots: list[_Slot] = []
        self.location: dict[str, _Slot] = {}
        self.last_active: dict[str, float] = {}
        self.last_sinks: dict[str, dict] = {}
        self.carry: dict[str, frozenset] = {}  # busy instance -> origins of the work it carries on
        self.outstanding: dict[str, int] = {}  # origin -> messages and busy instances it caused
        self.replies_in: dict[str, list] = {}
        self.reply_events: dict[str, asyncio.Event] = {}
        self.unplaced: list[_Msg] = []  # mail that found no worker (scaled to zero)
        self.rerouting = 0  # workers being replaced: their mail is in no slot until it is routed again
        self.cold_since: float | None = None
        self.tick_s: list[float] = []  # recent tick latencies, for the autoscaler's p99
        self.posting: list = []
        self.flushing = False
        self.slot_ids = itertools.count()
        self.client_ids = itertools.count(1)
        self.growing = False
        self.lost = 0  # worker failures in a row
        self.tasks: list[asyncio.Task] = []
        self.started = False

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Starts the workers and delivers every message the store holds unconsumed (a restart)."""
        self.started = True
        if self.tune_gc:
            tune_gc()
        for _ in range(self.initial_workers):
            await self._add_worker()
        pending = self.store.pending()
        for m in pending:
            self._route(_Msg(m.id, m.dest, m.channel, m.row, frozenset()))
        if pending:
            log.info("recovered %d pending message(s) from the store", len(pending))
        self._spawn(self._reaper())
        if self.scaler is not None:
            self._spawn(self._autoscale())

    def _spawn(self, coro) -> None:
        """A background task the host owns: kept (not garbage-collected), cancelled at stop."""
        t = asyncio.create_task(coro)
        self.tasks.append(t)
        t.add_done_callback(lambda t: self.tasks.remove(t) if t in self.tasks else None)

    async def settle(self, timeout_s: float = 10.0) -> bool:
        """Waits until every message is delivered and every instance is quiet (True), or
        the timeout passed (False)."""
        deadline = time.monotonic() + timeout_s
        while self.posting or self.unplaced or self.rerouting or not all(s.idle() for s in self.slots):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.002)
        return True

    async def stop(self, drain_s: float = 10.0) -> None:
        """Waits (up to drain_s) until all mail is delivered and every instance is quiet,
        then stops the workers. The state is in the store already."""
        await self.settle(drain_s)
        for t in list(self.tasks):
            t.cancel()
        for s in list(self.slots):
            await self._close_slot(s)
        self.started = False

    # ------------------------------------------------------------ messages in
    async def post(self, agent: str, key: str, channel: str, rows: list[tuple],
                   reply_to: str | None = None) -> None:
        """Returns once the rows are durable (acknowledged); raises Refused for a message the
        service does not take from outside."""
        at = self.agents.get(agent)
        if at is None:
            self._refuse("no_agent", f"there is no agent {agent!r}")
        schema = self.channels[agent].get(channel)
        if schema is None:
            self._refuse("no_channel", f"agent {agent} has no channel {channel!r}")
        if channel not in at.public:
            self._refuse("not_public", f"{agent}.{channel} is not @public")
        dest = make(agent, key)
        batch = []
        for row in rows:
            row = tuple(row)
            try:
                row = self._fill(at, channel, schema, row, reply_to)
            except ValueError as e:
                self._refuse("arity", str(e))
            batch.append((dest, channel, row, reply_to))
        if not batch:
            return
        origins = frozenset([reply_to]) if reply_to else frozenset()
        if not self.store.durable:  # nothing to wait for: enqueue now
            ids = self.store.enqueue(batch)
            self.events.message_in(len(batch))
            for (d, c, r, _), i in zip(batch, ids):
                self._route(_Msg(i, d, c, r, origins))
            return
        done = asyncio.get_running_loop().create_future()
        self.posting.append((batch, origins, done))
        if not self.flushing:
            self.flushing = True
            asyncio.create_task(self._flush())
        await done

    def _fill(self, at, channel, schema, row, reply_to):
        if reply_to and len(row) == schema.arity - 1:
            return at.fill_reply(channel, row, reply_to)
        return self._arity(at, channel, schema, row)

    @staticmethod
    def _arity(at, channel, schema, row):
        if len(row) != schema.arity:
            raise ValueError(f"{at.name}.{channel} has {schema.arity} column(s), the message gives {len(row)}")
        return row

    def _refuse(self, kind: str, reason: str):
        """`kind`, one of a few fixed words, is the metric's label; `reason` the error's text."""
        self.events.refused(kind, reason)
        raise Refused(reason)

    async def _flush(self) -> None:
        """Group commit: every batch posted while the last commit ran goes in the next one."""
        try:
            while self.posting:
                items, self.posting = self.posting, []
                flat = [m for batch, _, _ in items for m in batch]
                try:
                    ids = await asyncio.to_thread(self.store.enqueue, flat)
                except Exception as e:  # noqa: BLE001 - each poster gets the error
                    log.exception("enqueue failed")
                    for _, _, done in items:
                        if not done.done():
                            done.set_exception(e)
                    continue
                self.events.message_in(len(flat))
                it = iter(ids)
                for batch, origins, done in items:
                    for d, c, r, _ in batch:
                        self._route(_Msg(next(it), d, c, r, origins))
                    if not done.done():
                        done.set_result(None)
        finally:
            self.flushing = False

    def _route(self, m: _Msg) -> None:
        for o in m.origins:
            self.outstanding[o] = self.outstanding.get(o, 0) + 1
        slot = self.location.get(m.dest)
        if slot is not None and slot.draining and slot.inflight is None and m.dest not in slot.mail \
                and m.dest not in self.carry and m.dest not in slot.activate:
            # its worker is going away: the instance moves now (its state is committed)
            self._unlocate(slot, m.dest)
            slot.drops.append(m.dest)
            slot = None
        slot = slot or self._place(m.dest)
        if slot is None:
            self.unplaced.append(m)
            if self.cold_since is None:
                self.cold_since = time.monotonic()
            if not self.growing and self.scaler is not None:
                self.growing = True
                self._spawn(self._grow_from_zero())
            return
        slot.mail.setdefault(m.dest, []).append(m)
        slot.wake.set()

    def _place(self, addr: str) -> _Slot | None:
        live = [s for s in self.slots if not s.draining]
        if not live:
            return None
        slot = min(live, key=lambda s: (len(s.instances), s.n))
        slot.instances.add(addr)
        slot.activate.add(addr)
        self.location[addr] = slot
        self.last_active[addr] = time.monotonic()
        self.events.active_instances(len(self.location))
        return slot

    # ------------------------------------------------------------ the workers' drivers
    async def _drive(self, slot: _Slot) -> None:
        while True:
            await slot.wake.wait()
            # an in-process worker answers without awaiting, so a busy driver would never let the
            # loop take requests in: yield once, and whatever was posted meanwhile joins this request
            await asyncio.sleep(0)
            slot.wake.clear()
            req = Request(drop=slot.drops)
            slot.drops = []
            if slot.activate:
                addrs, slot.activate = list(slot.activate), set()
                loaded = await self._load(addrs)
                req.activate = dict(zip(addrs, loaded))
            taken = []
            for addr in list(slot.mail):
                if addr in slot.activate:
                    continue  # placed while the states loaded: it is activated by the next request
                msgs = slot.mail.pop(addr)
                taken.extend(msgs)
                req.deliver.extend((addr, m.id, m.channel, m.row) for m in msgs)
            if not req and not slot.busy:
                continue
            slot.inflight = taken
            try:
                reply = await slot.handle.call(req)
            except Exception:  # noqa: BLE001 - a lost worker: its instances start again elsewhere
                log.exception("agent worker %d failed; its instances are reactivated elsewhere", slot.n)
                slot.inflight = None
                await self._lose(slot, taken)
                return
            self.lost = 0
            records = [t.record for t in reply.ticks]
            try:
                if self.store.durable:
                    ids = await asyncio.to_thread(self.store.commit_ticks, records)
                else:
                    ids = self.store.commit_ticks(records)
            except Exception:  # noqa: BLE001 - the worker is ahead of the store: start it again
                log.exception("agent worker %d: its ticks could not be committed; its instances start "
                              "again from the store", slot.n)
                slot.inflight = None
                await self._lose(slot, taken)
                return
            try:
                self._delivered(reply, taken, ids)
            except Exception:  # noqa: BLE001 - committed: never run again; say what went wrong
                log.exception("agent worker %d: delivering a committed request failed", slot.n)
            finally:
                slot.inflight = None
            slot.busy = reply.busy
            if slot.busy or slot.mail or slot.activate or slot.drops:
                slot.wake.set()

    async def _load(self, addrs: list[str]) -> list:
        if self.store.durable:
            return await asyncio.to_thread(lambda: [self.store.load(a) for a in addrs])
        return [self.store.load(a) for a in addrs]

    def _delivered(self, reply, taken: list[_Msg], ids: list[list[int]]) -> None:
        """After a request's ticks committed: route their sends, hand replies over, count."""
        if self.cold_since is not None and reply.ticks:
            self.events.reactivation(time.monotonic() - self.cold_since)
            self.cold_since = None
        for kind, why in reply.refused:
            log.warning("refused: %s", why)
            self.events.refused(kind, why)
        by_id = {m.id: m.origins for m in taken}
        local: dict[int, frozenset] = {}
        done: list[frozenset] = []  # origins to count down once the new work is counted up
        now = time.monotonic()
        for t, sids in zip(reply.ticks, ids):
            addr = t.record.addr
            own: frozenset = frozenset()  # the causes of the messages this tick took in
            for i in t.record.consumed:
                o = by_id.get(i, frozenset())
                own |= o
                done.append(o)
            for i in t.local_consumed:
                own |= local.pop(i, frozenset())
            origins = own
            carried = self.carry.pop(addr, None)
            if carried is not None:
                origins |= carried
                done.append(carried)
            for i in t.local_sent:
                local[i] = origins
            self.events.tick(t.seconds)
            self.tick_s.append(t.seconds)
            if t.error is not None:
                self.events.tick_error()
                continue
            for (dest, channel, row), i in zip(t.record.sends, sids):
                self._route(_Msg(i, dest, channel, row, origins))
            for dest, channel, row in t.client:
                self._reply(dest, channel, row)
            n_out = len(t.record.sends) + len(t.client) + len(t.local_sent)
            if n_out:
                self.events.message_out(n_out)
            if t.busy and t.changed:
                # the next tick continues this one's work (it sees the changed state). What an
                # earlier tick began is carried on only through ticks without new messages, so
                # under steady load the causes do not pile up: a request whose `next` chain
                # outlasts a tick with new messages may be told quiet early (docs/service.md)
                keep = origins if not (t.record.consumed or t.local_consumed) else own
                self.carry[addr] = keep
                for o in keep:
                    self.outstanding[o] = self.outstanding.get(o, 0) + 1
            self.last_sinks[addr] = t.sinks
            self.last_active[addr] = now
        del self.tick_s[:-500]
        for os_ in done:
            for o in os_:
                left = self.outstanding.get(o, 0) - 1
                if left > 0:
                    self.outstanding[o] = left
                else:
                    self.outstanding.pop(o, None)
                    ev = self.reply_events.get(o)
                    if ev is not None:
                        ev.set()

    def _reply(self, dest: str, channel: str, row: tuple) -> None:
        if dest not in self.replies_in:
            log.info("a reply to %s, which waits for none (gone, or from before a restart): dropped", dest)
            return
        self.replies_in[dest].append((channel, row))
        ev = self.reply_events.get(dest)
        if ev is not None:
            ev.set()

    # ------------------------------------------------------------ replies to outside
    def reply_address(self) -> str:
        """A fresh "@client/<id>": replies sent to it are kept until `replies` takes them."""
        a = client(str(next(self.client_ids)))
        self.replies_in[a] = []
        return a

    async def replies(self, reply_to: str, timeout_s: float) -> list[tuple[str, tuple]]:
        """The (channel, row) pairs sent to reply_to, once some came and the work its request
        caused is quiet; at the timeout, what came by then (often nothing). The address is
        forgotten after."""
        deadline = time.monotonic() + timeout_s
        ev = self.reply_events.setdefault(reply_to, asyncio.Event())
        try:
            while True:
                got = self.replies_in.get(reply_to)
                if got and not self.outstanding.get(reply_to):
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    return got or []
                ev.clear()
                try:
                    await asyncio.wait_for(ev.wait(), left)
                except asyncio.TimeoutError:
                    pass
        finally:
            self.replies_in.pop(reply_to, None)
            self.reply_events.pop(reply_to, None)

    # ------------------------------------------------------------ reading
    def read(self, agent: str, key: str, relation: str) -> list[tuple]:
        """A relation of an instance as of its last committed tick (a table's rows, or an
        output's rows of that tick); an instance never activated reads empty."""
        addr = make(agent, key)
        slot = self.location.get(addr)
        if slot is not None and slot.inflight is None:
            rows = getattr(slot.handle, "rows", lambda *a: None)(addr, relation)
            if rows is not None:
                return rows
        if relation in self.tables.get(agent, ()):
            return self.store.rows(addr, relation)
        return list(self.last_sinks.get(addr, {}).get(relation, ()))

    def instances(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {name: [] for name in self.agents}
        for addr in self.location:
            agent, key = split(addr)
            out.setdefault(agent, []).append(key)
        return {k: sorted(v) for k, v in out.items()}

    def status(self) -> dict:
        return {"workers": sum(not s.draining for s in self.slots), "engine": self.engine,
                "active_instances": len(self.location), "durable": self.store.durable,
                "backlog": sum(len(v) for s in self.slots for v in s.mail.values()) + len(self.unplaced),
                "busy_workers": sum(s.inflight is not None for s in self.slots)}

    # ------------------------------------------------------------ idle instances
    async def _reaper(self) -> None:
        period = max(0.02, min(self.idle_s / 4, 1.0))
        while True:
            await asyncio.sleep(period)
            self._deactivate_idle(time.monotonic())

    def _deactivate_idle(self, now: float) -> None:
        gone = 0
        for addr, t in list(self.last_active.items()):
            slot = self.location.get(addr)
            if slot is None:
                self.last_active.pop(addr, None)
                continue
            if now - t < self.idle_s or addr in self.carry or addr in slot.mail or slot.inflight is not None \
                    or addr in slot.activate:
                continue
            self._unlocate(slot, addr)
            slot.drops.append(addr)
            slot.wake.set()
            gone += 1
        if gone:
            log.info("deactivated %d idle instance(s)", gone)
            self.events.active_instances(len(self.location))

    def _unlocate(self, slot: _Slot, addr: str) -> None:
        slot.instances.discard(addr)
        self.location.pop(addr, None)
        self.last_active.pop(addr, None)
        self.last_sinks.pop(addr, None)

    # ------------------------------------------------------------ workers and scaling
    async def _add_worker(self) -> _Slot:
        args = (self.agents, self.inputs, self.target, self.max_ticks)
        if self.inproc:
            handle = InProcHandle(AgentWorker(*args, instance_factory=self.factory), self.tick_thread)
        elif self.engine == "ray":
            handle = await asyncio.to_thread(RayHandle, *args, self.factory)
        else:
            handle = await asyncio.to_thread(ProcessHandle, *args, self.factory)
        slot = _Slot(next(self.slot_ids), handle)
        slot.task = asyncio.create_task(self._drive(slot))
        self.slots.append(slot)
        self.events.workers(sum(not s.draining for s in self.slots))
        if self.unplaced:
            waiting, self.unplaced = self.unplaced, []
            for m in waiting:
                self._route_again(m)
        return slot

    def _route_again(self, m: _Msg) -> None:
        """Routes a message already counted in `outstanding`."""
        for o in m.origins:
            self.outstanding[o] -= 1
        self._route(m)

    async def _grow_from_zero(self) -> None:
        try:
            if not [s for s in self.slots if not s.draining]:
                await self._add_worker()
        finally:
            self.growing = False

    async def _close_slot(self, slot: _Slot) -> None:
        if slot.task is not None and slot.task is not asyncio.current_task():  # _lose runs in its driver
            slot.task.cancel()
        if slot in self.slots:
            self.slots.remove(slot)
        for addr in list(slot.instances):
            self._unlocate(slot, addr)
        await slot.handle.close()
        self.events.workers(sum(not s.draining for s in self.slots))
        self.events.active_instances(len(self.location))

    async def _lose(self, slot: _Slot, taken: list[_Msg]) -> None:
        """A worker that failed: its uncommitted messages go to the instances' new places."""
        mail = [m for msgs in slot.mail.values() for m in msgs]
        slot.mail = {}
        self.rerouting += 1  # settle() must not take the gap below for quiet
        try:
            await self._close_slot(slot)
            self.lost += 1
            if self.lost > 3:
                log.error("agent workers failed %d times in a row: no new one is started; messages wait", self.lost)
            elif not self.slots or all(s.draining for s in self.slots):
                await self._add_worker()
            for m in taken + mail:
                self._route_again(m)
        finally:
            self.rerouting -= 1

    def load(self) -> Load:
        """The autoscaler's sample: a queued task is an instance with mail waiting."""
        live = [s for s in self.slots if not s.draining]
        lat = sorted(self.tick_s[-200:])
        p99 = lat[min(len(lat) - 1, math.ceil(0.99 * len(lat)) - 1)] if lat else None
        queued = sum(len(s.mail) for s in live) + len({m.dest for m in self.unplaced})
        return Load(time.monotonic(), len(live), sum(s.inflight is not None or s.busy for s in live), queued, p99)

    async def resize(self, n: int) -> None:
        live = [s for s in self.slots if not s.draining]
        for _ in range(n - len(live)):
            await self._add_worker()
        for slot in sorted(live, key=lambda s: len(s.instances))[:max(0, len(live) - n)]:
            slot.draining = True
            self.events.workers(sum(not s.draining for s in self.slots))
            self._spawn(self._retire(slot))

    async def _retire(self, slot: _Slot) -> None:
        """A worker the autoscaler let go: once it is idle, its instances (every tick of
        theirs committed) are deactivated and it stops."""
        while not slot.idle():
            await asyncio.sleep(0.01)
        await self._close_slot(slot)

    async def _autoscale(self) -> None:
        while True:
            await asyncio.sleep(self.autoscale_interval_s)
            d = self.scaler.observe(self.load())
            if d is not None:
                await self.resize(d.after)


_GC_TUNED = False


def tune_gc() -> None:
    """Once per process: the objects alive at the first start (modules, compiled programs) move
    out of the collector's sight (`gc.freeze`), and young collections run less often (when the
    thresholds are still Python's defaults). Measured (docs/service.md): the KV's p99 at
    5,000 req/s in memory went from 33-76 ms (full collections over every object) to 2.6-7 ms."""
    global _GC_TUNED
    if _GC_TUNED:
        return
    _GC_TUNED = True
    gc.freeze()
    if gc.get_threshold() == (700, 10, 10):
        gc.set_threshold(20_000, 20, 100)

