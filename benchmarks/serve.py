"""Benchmarks of `dfl serve` (docs/serve.md, benchmarks/README.md "dfl serve"), loopback only,
each part bounded in time:

    python benchmarks/serve.py                      # everything, ~1-2 min
    python benchmarks/serve.py --only kv --duration 5 --connections 32
    python benchmarks/serve.py --only rtt,reactivate --json out.json

- kv: requests/s and p50/p99 latency of POST /v1/agents/Kv/<key>/put (202 once durable) on
  the key-value store, 1 and 2 workers, in memory and with --state (SQLite). The load
  generator is wrk (Debian package `wrk`, closed loop, --latency), else an async httpx
  client (slower: it shares the cores with the server).
- rtt: agent-to-agent round trip over a direct channel (Ping and Pong bounce a counter
  `--bounces` times inside the host, then reply to the client: the time per bounce pair)
  against the same exchange through storage (two threads, one writes a row to SQLite and
  commits, the other polls for it every `--poll-ms` and answers the same way), in one run.
- reactivate: `dfl serve --autoscale 0..1` left idle until it has scaled to zero, then the
  time of the next call (POST ?wait) to its reply, and the host's own reactivation histogram.

Targets (issue 11): KV durable p99 <= 20 ms at >= 2,000 req/s; in memory >= 5,000 req/s;
direct round trip >= 10x faster than through storage, p50 <= 0.5 ms on one worker.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KV = HERE / "workloads" / "serve_kv.dfl"
PINGPONG = HERE / "workloads" / "serve_pingpong.dfl"
KEYS = 100  # instances the KV load spreads over


# ------------------------------------------------------------------ a `dfl serve` process
class Server:
    def __init__(self, program: Path, *args: str, timeout_s: float = 60.0):
        cmd = [sys.executable, "-m", "dfl", "serve", str(program), "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.log: list[str] = []
        deadline = time.monotonic() + timeout_s
        self.url = None
        while self.url is None:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("dfl serve exited:\n" + "".join(self.log))
            self.log.append(line)
            m = re.search(r"listening on (http\S+)", line)
            if m:
                self.url = m.group(1)
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dfl serve did not start in time:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ------------------------------------------------------------------ load generators
WRK_LUA = """
local n = 0
request = function()
  n = n + 1
  local key = "k" .. (n %% %d)
  return wrk.format("POST", "/v1/agents/Kv/" .. key .. "/put", {["Content-Type"] = "application/json"},
                    '["item' .. n .. '", "v"]')
end
"""


def load_wrk(url: str, seconds: float, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA % KEYS)
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
                              "-s", f.name, url], capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": pct.get("50"), "p99_ms": pct.get("99"), "tool": "wrk",
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1).strip() if socket_errors else ""}


def _ms(v: str, unit: str) -> float:
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load_httpx(url: str, seconds: float, connections: int) -> dict:
    import httpx

    lat: list[float] = []
    bad = 0

    async def one(client, worker):
        nonlocal bad
        n = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            n += 1
            t = time.perf_counter()
            r = await client.post(f"/v1/agents/Kv/k{(worker * 7919 + n) % KEYS}/put", json=[f"item{n}", "v"])
            lat.append(time.perf_counter() - t)
            bad += r.status_code != 202

    async def main():
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=url, limits=limits) as client:
            t = time.perf_counter()
            await asyncio.gather(*(one(client, w) for w in range(connections)))
            return time.perf_counter() - t

    took = asyncio.run(main())
    lat.sort()
    return {"rps": len(lat) / took, "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[int(len(lat) * 0.99)],
            "tool": "httpx", "non_2xx": bad}


def bench_kv(args) -> list[dict]:
    rows = []
    for workers in (1, 2):
        for durable in (False, True):
            with tempfile.TemporaryDirectory(prefix="dfl-serve-bench-") as d:
                extra = ["--workers", str(workers)] + (["--state", d] if durable else [])
                with Server(KV, *extra) as srv:
                    _warm(srv.url)
                    if shutil.which("wrk") and not args.httpx:
                        res = load_wrk(srv.url, args.duration, args.connections, args.threads)
                    else:
                        res = load_httpx(srv.url, args.duration, args.connections)
                res.update(workers=workers, state="sqlite" if durable else "memory")
                rows.append(res)
                print(f"kv  workers={workers} state={res['state']:6}  {res['rps']:8.0f} req/s  "
                      f"p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  ({res['tool']}, "
                      f"non-2xx {res['non_2xx']})", flush=True)
    return rows


def _warm(url: str) -> None:
    import httpx

    with httpx.Client(base_url=url) as c:
        for i in range(50):
            c.post(f"/v1/agents/Kv/k{i % KEYS}/put", json=["warm", "v"]).raise_for_status()


# ------------------------------------------------------------------ round trips
def bench_direct(bounces: int, rounds: int, workers: int = 1) -> list[float]:
    """Seconds per Ping->Pong->Ping round trip inside the host, from `rounds` calls that each
    bounce `bounces` times (the HTTP-free cost of one call, measured with 0 bounces, is
    subtracted)."""
    import dfl
    from dfl.runtime.agents.host import Host

    prog = dfl.load(PINGPONG)

    async def main():
        host = Host(prog.agents, {}, workers=workers)
        await host.start()
        try:
            async def call(n: int) -> float:
                reply = host.reply_address()
                t = time.perf_counter()
                await host.post("Ping", "a", "serve", [(n,  reply)], reply_to=reply)
                got = await host.replies(reply, 10.0)
                assert got, "no reply from Ping"
                return time.perf_counter() - t

            for _ in range(5):  # warm-up: activation, plans
                await call(2)
            base = statistics.median([await call(0) for _ in range(rounds)])
            per = []
            for _ in range(rounds):
                per.append(max(0.0, (await call(bounces) - base)) / bounces)
            return per
        finally:
            await host.stop()

    return asyncio.run(main())


def bench_storage(rounds: int, poll_ms: float) -> list[float]:
    """The same exchange through storage: A inserts a request row into SQLite and commits; B
    polls for it every poll_ms, inserts the answer and commits; A polls for the answer."""
    d = tempfile.mkdtemp(prefix="dfl-serve-bench-")
    path = os.path.join(d, "exchange.sqlite3")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE msg (id INTEGER PRIMARY KEY, box TEXT, n INTEGER, seen INTEGER DEFAULT 0)")
    db.commit()
    db.close()
    stop = threading.Event()

    def poll(conn, box: str, seconds: float | None = None):
        end = None if seconds is None else time.monotonic() + seconds
        while not stop.is_set() and (end is None or time.monotonic() < end):
            row = conn.execute("SELECT id, n FROM msg WHERE box = ? AND seen = 0 LIMIT 1", (box,)).fetchone()
            if row:
                conn.execute("UPDATE msg SET seen = 1 WHERE id = ?", (row[0],))
                conn.commit()
                return row[1]
            time.sleep(poll_ms / 1000)
        return None

    def pong():
        conn = sqlite3.connect(path, isolation_level="DEFERRED")
        while not stop.is_set():
            n = poll(conn, "pong")
            if n is not None:
                conn.execute("INSERT INTO msg (box, n) VALUES ('ping', ?)", (n,))
                conn.commit()

    t = threading.Thread(target=pong, daemon=True)
    t.start()
    conn = sqlite3.connect(path)
    out = []
    try:
        for i in range(rounds + 5):
            start = time.perf_counter()
            conn.execute("INSERT INTO msg (box, n) VALUES ('pong', ?)", (i,))
            conn.commit()
            assert poll(conn, "ping", 10.0) == i
            if i >= 5:
                out.append(time.perf_counter() - start)
    finally:
        stop.set()
        t.join(5)
        conn.close()
        shutil.rmtree(d, ignore_errors=True)
    return out


def bench_rtt(args) -> dict:
    res = {}
    for workers in (1,) if args.quick else (1, 2):
        direct = bench_direct(args.bounces, args.rounds, workers)
        res[f"direct_w{workers}"] = _summary(direct)
    res["storage"] = _summary(bench_storage(args.rounds, args.poll_ms))
    res["poll_ms"] = args.poll_ms
    d, s = res["direct_w1"], res["storage"]
    res["speedup_p50"] = s["p50_ms"] / d["p50_ms"] if d["p50_ms"] else float("inf")
    for name in [k for k in res if k.startswith("direct")] + ["storage"]:
        r = res[name]
        print(f"rtt {name:10}  p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  (n={r['n']})", flush=True)
    print(f"rtt direct is {res['speedup_p50']:.0f}x faster than through storage (p50, polling every "
          f"{args.poll_ms} ms)", flush=True)
    return res


def _summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"p50_ms": 1000 * xs[len(xs) // 2], "p99_ms": 1000 * xs[min(len(xs) - 1, int(len(xs) * 0.99))],
            "n": len(xs)}


# ------------------------------------------------------------------ reactivation
def bench_reactivate(args) -> dict:
    import httpx

    out = []
    with Server(PINGPONG, "--autoscale", "0..1") as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        for _ in range(args.reactivations):
            c.post("/v1/agents/Ping/a/serve", params={"wait": 5000}, json=[0]).raise_for_status()
            deadline = time.monotonic() + args.idle_wait
            while time.monotonic() < deadline:  # until the pool has scaled to zero
                status = c.get("/healthz").json()
                if status.get("workers", 1) == 0:
                    break
                time.sleep(0.2)
            else:
                print(f"reactivate: the pool did not scale to zero within {args.idle_wait} s; "
                      f"status {status}", flush=True)
                return {"error": "no scale to zero", "status": status}
            t = time.perf_counter()
            c.post("/v1/agents/Ping/a/serve", params={"wait": 10000}, json=[0]).raise_for_status()
            out.append(time.perf_counter() - t)
        metrics = c.get("/metrics").text
    host_s = re.search(r"dfl_reactivation_seconds_sum ([\d.e+-]+)", metrics)
    host_n = re.search(r"dfl_reactivation_seconds_count ([\d.e+-]+)", metrics)
    res = {"first_reply_ms": [round(1000 * x, 1) for x in out],
           "host_mean_ms": 1000 * float(host_s.group(1)) / float(host_n.group(1)) if host_n and float(host_n.group(1))
           else None}
    print(f"reactivate  first reply after scale to zero: {res['first_reply_ms']} ms; host-measured mean "
          f"{res['host_mean_ms'] if res['host_mean_ms'] is None else round(res['host_mean_ms'], 1)} ms", flush=True)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="kv,rtt,reactivate", help="parts, comma-separated: kv, rtt, reactivate")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of load per kv cell (default 5)")
    ap.add_argument("--connections", type=int, default=16, help="concurrent connections of the kv load (default 16)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the server has the other core)")
    ap.add_argument("--httpx", action="store_true", help="use the httpx load generator even if wrk is installed")
    ap.add_argument("--bounces", type=int, default=50, help="round trips per direct call (default 50)")
    ap.add_argument("--rounds", type=int, default=40, help="calls (direct) / exchanges (storage) (default 40)")
    ap.add_argument("--poll-ms", type=float, default=1.0, help="the storage exchange's poll interval (default 1)")
    ap.add_argument("--reactivations", type=int, default=3, help="scale-to-zero cycles (default 3)")
    ap.add_argument("--idle-wait", type=float, default=30.0, help="seconds to wait for scale to zero (default 30)")
    ap.add_argument("--quick", action="store_true", help="rtt on one worker only")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = ap.parse_args(argv)
    parts = set(args.only.split(","))
    res = {"when": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count()}
    if "kv" in parts:
        res["kv"] = bench_kv(args)
    if "rtt" in parts:
        res["rtt"] = bench_rtt(args)
    if "reactivate" in parts:
        res["reactivate"] = bench_reactivate(args)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
