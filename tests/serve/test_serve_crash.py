"""SIGKILL under load through `dfl serve --state`: every acknowledged (202) message is applied
exactly once after a restart on the same state, none is lost or applied twice, and no row is
duplicated. A few kills in CI; the issue's run of 20 kills is
`DFL_CRASH_KILLS=20 python -m pytest tests/serve/test_serve_crash.py` (about a minute)."""
from __future__ import annotations

import os
import threading
import time

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

from serve_helpers import DflServe  # noqa: E402

ACC = """
agent Acc {
  @public channel add(id: int)
  table seen(id: int)
  table total(n: int)
  total(0).
  rel s(v: int)
  s(v) :- v = sum i : { add(i) }.
  next seen(i) :- add(i).
  next total(n + v) :- s(v), total(n).
  delete total(n) :- s(_), total(n).
}
"""
KEYS = ("a", "b", "c")
KILLS = int(os.environ.get("DFL_CRASH_KILLS", "3"))


def _load(url: str, start: int, acked: dict, sent: dict, stop: threading.Event, worker: int):
    """Posts ids start+worker, start+worker+4, ... until stopped or the server dies."""
    i = start + worker
    with httpx.Client(base_url=url, timeout=10) as c:
        while not stop.is_set():
            key = KEYS[i % len(KEYS)]
            sent[key].add(i)
            try:
                r = c.post(f"/v1/agents/Acc/{key}/add", json=[i])
            except httpx.HTTPError:
                return  # killed
            if r.status_code == 202:
                acked[key].add(i)
            i += 4


def _state(url: str) -> dict:
    with httpx.Client(base_url=url, timeout=10) as c:
        out = {}
        for key in KEYS:
            seen = [r[0] for r in c.get(f"/v1/agents/Acc/{key}/seen").json()["rows"]]
            total = c.get(f"/v1/agents/Acc/{key}/total").json()["rows"]
            out[key] = (seen, total)
        return out


def test_sigkill_under_load(tmp_path):
    prog = tmp_path / "acc.dfl"
    prog.write_text(ACC)
    state = tmp_path / "state"
    # Every key present from the start: the main thread sums over the dicts while the load
    # threads add to them, so the dicts themselves must never change size.
    acked: dict[str, set[int]] = {k: set() for k in KEYS}
    sent: dict[str, set[int]] = {k: set() for k in KEYS}
    for round_ in range(KILLS):
        with DflServe(prog, "--state", str(state)) as srv:
            stop = threading.Event()
            threads = [threading.Thread(target=_load, args=(srv.url, round_ * 1_000_000, acked, sent, stop, w))
                       for w in range(4)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 20
            base = sum(map(len, acked.values()))
            while sum(map(len, acked.values())) < base + 60 and time.monotonic() < deadline:
                time.sleep(0.01)
            srv.kill()  # SIGKILL mid-load
            stop.set()
            for t in threads:
                t.join(15)
    assert sum(map(len, acked.values())) >= 60 * KILLS
    with DflServe(prog, "--state", str(state)) as srv:
        def settled():
            return _state(srv.url)
        before = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # recovered messages are still being applied
            now = settled()
            if now == before:
                break
            before = now
            time.sleep(0.5)
        final = settled()
    print(f"\n{KILLS} kills: {sum(map(len, acked.values()))} messages acknowledged, "
          f"{sum(len(final[k][0]) for k in KEYS)} applied after the restart")  # shown with -s
    for key in KEYS:
        seen, total = final[key]
        assert len(seen) == len(set(seen)), f"{key}: a row twice"
        assert acked.get(key, set()) <= set(seen), f"{key}: lost {sorted(acked[key] - set(seen))[:10]}"
        assert set(seen) <= sent.get(key, set()), f"{key}: rows never sent"
        assert total == [(sum(seen),)] or total == [[sum(seen)]], f"{key}: a message applied twice or lost"
