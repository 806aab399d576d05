"""A host over a state directory, for the crash test (test_agent_crash.py): `load FIRST` posts
incr(id) for ids FIRST, FIRST + 1, ... with many requests in flight, printing `ack ID` once each post
returned (durable), until killed; `drain` restarts on the same state, lets the recovered
messages run, and prints every instance's `seen` ids and `total` as JSON."""
from __future__ import annotations

import asyncio
import json
import sys

import dfl.api as api
from dfl.runtime.agents.host import Host
from dfl.runtime.agents.store_sqlite import SqliteAgentStore

PROGRAM = """
agent Counter {
  @public channel incr(id: int)
  table seen(id: int)
  table total(n: int)
  total(0).
  next seen(i) :- incr(i).
  rel k(c: int)
  k(c) :- c = count : incr(_).
  next total(n + c) :- k(c), total(n).
  delete total(n) :- k(_), total(n).
}
"""
KEYS = 8


async def load(h: Host, first: int, inflight: int) -> None:
    ids = iter(range(first, 10**12))

    async def client():
        for i in ids:
            await h.post("Counter", f"c{i % KEYS}", "incr", [(i,)])
            sys.stdout.write(f"ack {i}\n")
            sys.stdout.flush()
    await asyncio.gather(*[client() for _ in range(inflight)])


async def main(mode: str, state: str, first: int) -> None:
    store = SqliteAgentStore(state)
    h = Host(api.compile(PROGRAM).agents, {}, store=store)
    await h.start()
    if mode == "load":
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await load(h, first, 64)
    await h.stop()
    out = {f"c{k}": {"seen": sorted(r[0] for r in h.read("Counter", f"c{k}", "seen")),
                     "total": h.read("Counter", f"c{k}", "total")} for k in range(KEYS)}
    print(json.dumps({"instances": out, "pending": len(store.pending()), "failed": len(store.failed())}))
    store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1))
