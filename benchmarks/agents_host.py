"""The agent host's figures (issue 11, items 2, 3, 6; docs/service.md "What is measured"),
without HTTP: what the host itself sustains on this machine.

    python benchmarks/agents_host.py              # all of it, ~1 min on 2 cores
    python benchmarks/agents_host.py --only kv --seconds 5

- kv: a KV agent in DFL (16 instances), C concurrent clients each doing put / get-with-reply
  in a loop for --seconds; requests/s and per-request p50/p99 (put: until acknowledged,
  get: until the reply), in memory and durable (SQLite in a temp dir).
- trip: agent-to-agent round trips (Ping -> Pong -> Ping) in one long chain, per trip, on one
  worker (in-process, sends delivered on the worker) and across two worker processes.
- cold: from zero workers (autoscale 0..1) to the first reply: the client's wait, and the
  host's `reactivation` figure (process start + state load + first tick).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import dfl.api as api  # noqa: E402
from dfl.runtime.agents.events import CountingEvents  # noqa: E402
from dfl.runtime.agents.host import Host  # noqa: E402
from dfl.runtime.agents.store_sqlite import SqliteAgentStore  # noqa: E402
from dfl.runtime.pools.autoscale import Policy  # noqa: E402

KV = """
agent Kv {
  @public channel put(key: str, val: str)
  @public channel get(key: str, client: addr)
  table store(key: str, val: str)
  next   store(k, v) :- put(k, v).
  delete store(k, old) :- put(k, _), store(k, old).
  got@c(k, v) :- get(k, c), store(k, v).
  got@c(k, v) :- get(k, c), put(k, v).
}
agent Ping {
  @public channel go(n: int, client: addr)
  channel pong(n: int)
  table client(c: addr)
  next client(c) :- go(_, c).
  ping@p(n, self) :- go(n, _), p = Pong(key_of(self)).
  ping@p(m, self) :- pong(n), n > 1, m = n - 1, p = Pong(key_of(self)).
  done@c(n) :- pong(n), n = 1, client(c).
}
agent Pong {
  channel ping(n: int, back: addr)
  pong@b(n) :- ping(n, b).
}
"""
SHARDS = 16


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


async def kv(prog, store, clients: int, seconds: float) -> dict:
    h = Host(prog.agents, {}, store=store)
    await h.start()
    lat: list[float] = []
    stop = time.perf_counter() + seconds

    async def client(c: int) -> None:
        i = 0
        while time.perf_counter() < stop:
            key = f"k{(c * 7919 + i // 2) % 1000}"  # get reads the key this client just put
            shard = str(hash(key) % SHARDS)
            t = time.perf_counter()
            if i % 2 == 0:
                await h.post("Kv", shard, "put", [(key, str(i))])
            else:
                me = h.reply_address()
                await h.post("Kv", shard, "get", [(key,)], reply_to=me)
                await h.replies(me, 5)
            lat.append(time.perf_counter() - t)
            i += 1
    t0 = time.perf_counter()
    await asyncio.gather(*[client(c) for c in range(clients)])
    wall = time.perf_counter() - t0
    await h.stop()
    return {"req_s": len(lat) / wall, "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3}


async def kv_rate(prog, store, rate: float, seconds: float) -> dict:
    """Open loop: requests start at `rate` per second whatever the answers do; latency from
    each request's start (a late start counts against it)."""
    h = Host(prog.agents, {}, store=store)
    await h.start()
    lat: list[float] = []

    async def one(i: int, due: float) -> None:
        key = f"k{(i // 2) % 1000}"
        shard = str(hash(key) % SHARDS)
        if i % 2 == 0:
            await h.post("Kv", shard, "put", [(key, str(i))])
        else:
            me = h.reply_address()
            await h.post("Kv", shard, "get", [(key,)], reply_to=me)
            await h.replies(me, 5)
        lat.append(time.perf_counter() - due)
    t0 = time.perf_counter()
    tasks = []
    n = int(rate * seconds)
    for i in range(n):
        due = t0 + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    await h.stop()
    return {"rate": rate, "done_s": n / wall, "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3}


async def trip(prog, workers: int, n: int) -> float:
    h = Host(prog.agents, {}, workers=workers)
    await h.start()
    me = h.reply_address()
    await h.post("Ping", "warm", "go", [(5,)], reply_to=me)
    await h.replies(me, 30)
    per = []
    for r in range(3):
        me = h.reply_address()
        t = time.perf_counter()
        await h.post("Ping", f"p{r}", "go", [(n,)], reply_to=me)
        got = await h.replies(me, 60)
        assert got == [("done", (1,))], got
        per.append((time.perf_counter() - t) / n)
    await h.stop()
    return statistics.median(per) * 1e3


async def cold(prog, rounds: int) -> dict:
    ev = CountingEvents()
    pol = Policy(min_workers=0, max_workers=1, idle_s=0.2, zero_after_s=0.3, cooldown_s=0.05)
    h = Host(prog.agents, {}, autoscale=pol, events=ev)
    await h.start()
    waits = []
    for r in range(rounds):
        while h.slots:  # wait for zero workers
            await asyncio.sleep(0.02)
        me = h.reply_address()
        t = time.perf_counter()
        await h.post("Kv", "0", "get", [("k",)], reply_to=me)
        await h.post("Kv", "0", "put", [("k", str(r))])
        await h.replies(me, 30)
        waits.append(time.perf_counter() - t)
    await h.stop()
    return {"first_reply_s": statistics.median(waits), "max_s": max(waits),
            "reactivation_s": statistics.median(ev.reactivations)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="kv,rate,trip,cold")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=64)
    a = ap.parse_args()
    prog = api.compile(KV)
    only = a.only.split(",")
    if "kv" in only:
        print("kv memory ", asyncio.run(kv(prog, None, a.clients, a.seconds)))
        with tempfile.TemporaryDirectory() as d:
            s = SqliteAgentStore(d)
            print("kv durable", asyncio.run(kv(prog, s, a.clients, a.seconds)))
            s.close()
    if "rate" in only:
        for durable, rate in [(False, 5000), (True, 2000)]:
            with tempfile.TemporaryDirectory() as d:
                s = SqliteAgentStore(d) if durable else None
                print("kv open loop", "durable" if durable else "memory ",
                      asyncio.run(kv_rate(prog, s, rate, a.seconds)))
                if s is not None:
                    s.close()
    if "trip" in only:
        print(f"trip, 1 worker : {asyncio.run(trip(prog, 1, 2000)):.3f} ms per round trip")
        print(f"trip, 2 workers: {asyncio.run(trip(prog, 2, 500)):.3f} ms per round trip")
    if "cold" in only:
        print("cold start", asyncio.run(cold(prog, 3)))


if __name__ == "__main__":
    main()
