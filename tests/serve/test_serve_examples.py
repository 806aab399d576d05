"""Each example with agents (examples/*/ with `--messages`, and the agents acceptance cases)
replayed through `dfl serve` and the HTTP API: the messages of one time go out as one POST
per (instance, channel), the server is let settle before the next time, and every table the
example expects is read back with GET and compared with its expected CSV."""
from __future__ import annotations

import csv
import json
import time
from itertools import groupby
from pathlib import Path

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

import dfl  # noqa: E402
from dfl.runtime.agents.messages import read_messages  # noqa: E402
from dfl.runtime.io.csvio import CONVERTERS  # noqa: E402
from serve_helpers import DflServe  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CASES = [d for suite in (REPO / "examples", REPO.parent / "shared" / "acceptance-agents") if suite.is_dir()
         for d in sorted(suite.iterdir())
         if (d / "expect.json").is_file() and "--messages" in json.loads((d / "expect.json").read_text()).get("args", [])]


def _settle(http: httpx.Client, timeout_s: float = 20.0) -> None:
    """Until the host has no backlog and no busy worker, three times in a row."""
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        s = http.get("/healthz").json()
        quiet = quiet + 1 if not s.get("backlog") and not s.get("busy_workers") else 0
        time.sleep(0.02)


def _mask(row) -> tuple:
    return tuple("@client/*" if isinstance(v, str) and v.startswith("@client/") else v for v in row)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_example_through_http(case):
    prog = dfl.load(case / "prog.dfl")
    msgs = read_messages(str(case / "in" / "messages.csv"), prog.agents)
    args = ["-I", str(case / "in")] if any(at.inputs() or at.shared for at in prog.agents.values()) else []
    with DflServe(case / "prog.dfl", *args) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
        for _, batch in groupby(sorted(msgs, key=lambda m: m.time), key=lambda m: m.time):
            per: dict = {}
            for m in batch:
                values = list(m.values)
                schema = prog.agents[m.agent].channels()[m.channel]
                if schema.columns and str(schema.columns[-1].type) == "addr" and str(values[-1]).startswith("@client/"):
                    values = values[:-1]  # the file's reply address: the server fills in its own
                per.setdefault((m.agent, m.key, m.channel), []).append(values)
            for (agent, key, channel), rows in per.items():
                r = http.post(f"/v1/agents/{agent}/{key}/{channel}", json=rows)
                assert r.status_code == 202, r.text
            _settle(http)
        checked = 0
        for f in sorted((case / "out").glob("*.csv")):
            agent, rel = f.stem.split(".", 1)
            at = prog.agents.get(agent)
            if at is None or rel not in {r.name for r in at.program.graph.relations if r.storage == "table"}:
                continue  # a top-level output, or an agent output (its last tick: not comparable here)
            schema = at.results()[rel]
            with f.open(newline="") as fh:
                rows = list(csv.reader(fh))[1:]
            want: dict = {}
            for row in rows:
                want.setdefault(row[0], set()).add(tuple(CONVERTERS[c.type](v) for v, c in zip(row[1:], schema.columns)))
            for key, expect in want.items():
                got = http.get(f"/v1/agents/{agent}/{key}/{rel}").json()["rows"]
                # a reply address is the file's line there, one per request here: compare its kind
                assert {_mask(r) for r in got} == {_mask(r) for r in expect}, (agent, key, rel)
                checked += 1
        assert checked, "the example has no table to compare"
