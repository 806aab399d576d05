"""The agent examples (examples/*/ with --messages) through the host: the messages of each
time posted together, the host settled before the next time; every table and output of
every instance as the simulation (`dfl run --messages`) leaves it."""
from __future__ import annotations

import asyncio
import json
from itertools import groupby
from pathlib import Path

import pytest

import dfl.api as api
from dfl.runtime.agents.host import Host
from dfl.runtime.agents.messages import read_messages
from dfl.runtime.agents.run import read_agent_inputs, run_messages
from dfl.runtime.agents.store_sqlite import SqliteAgentStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = sorted(d.name for d in EXAMPLES.iterdir()
               if (d / "expect.json").exists() and "--messages" in json.loads((d / "expect.json").read_text()).get("args", []))


@pytest.mark.parametrize("workers,durable", [(1, False), (2, False), (1, True)])
@pytest.mark.parametrize("name", CASES)
def test_example_through_the_host(name: str, workers: int, durable: bool, tmp_path) -> None:
    d = EXAMPLES / name
    prog = api.load(d / "prog.dfl")
    msgs_path = str(d / "in" / "messages.csv")
    in_dir = str(d / "in")
    sim = run_messages(prog, msgs_path, in_dir, {}, "interp")
    msgs = read_messages(msgs_path, prog.agents)

    async def go():
        store = SqliteAgentStore(str(tmp_path)) if durable else None
        h = Host(prog.agents, read_agent_inputs(prog, in_dir, {}), workers=workers, store=store)
        await h.start()
        for _, batch in groupby(sorted(msgs, key=lambda m: m.time), key=lambda m: m.time):
            await asyncio.gather(*[h.post(m.agent, m.key, m.channel, [m.values]) for m in batch])
            assert await h.settle(20)
        got = {}
        for agent, at in prog.agents.items():
            keys = sorted({m.key for m in msgs if m.agent == agent} | set(h.instances().get(agent, [])))
            for rel in at.results():
                got[f"{agent}.{rel}"] = sorted((k, *r) for k in keys for r in h.read(agent, k, rel))
        await h.stop()
        if store is not None:
            assert store.pending() == [] and store.failed() == []
            store.close()
        return got
    got = asyncio.run(asyncio.wait_for(go(), 60))
    want = {rel: sorted(rows) for rel, (_, rows) in sim.relations.items()}
    assert got == want
