#!/usr/bin/env python
"""A correlated body aggregate, whole runs (issue 14, item 3): per-user sessions by a 30-minute gap.

    python benchmarks/sessions.py [--lines 200000] [--users 100] [--repeat 3] [--join]
                                  [--program sessions|window] [--data-dir DIR] [--seed 3] [--timeout 600]

    session(u, ts) :- event(u, ts), p = max t : { event(u, t), t < ts }, ts - p > 1800.
    session(u, ts) :- event(u, ts), m = min t : event(u, t), ts = m.

or (--program window) the events of the hour up to each event, DuckDB's `count(*) over
(partition by u order by ts range between 3599 preceding and current row)`:

    session(u, ts, n) :- event(u, ts), n = count : { event(u, t), t > ts - 3600, t <= ts }.

Each system is a fresh process reading event.csv and writing its result (the same timing
and peak-RSS launcher as benchmarks/files.py, after one warm-up run):
- `dfl`: `python -m dfl run sessions.dfl -I DIR -O OUT`, where `max t : {…, t < ts}` runs as
  a `range_aggregate` (sorted, compiler/passes/range_aggregates.py);
- `dfl-join` (with --join): the same program compiled without that pass, the plan before it
  (the correlated join, filtered, grouped), with no memory limit;
- `duckdb`: the window function a SQL user writes, `lag(ts) over (partition by u order by ts)`.
The results are read back and compared as row sets; a difference exits 1.

Data: event.csv as /work/shared-i14/gen.py makes it (`sessions`): numpy's PCG64 from --seed,
u uniform over --users, ts = burst * 7200 + uniform(0, 1500) with 20 bursts a user.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = {
    "sessions": """input event(u: int, ts: int)
output session(u: int, start: int)
session(u, ts) :- event(u, ts), p = max t : { event(u, t), t < ts }, ts - p > 1800.
session(u, ts) :- event(u, ts), m = min t : event(u, t), ts = m.
""",
    # the events of the last hour before each event of the user (a window count)
    "window": """input event(u: int, ts: int)
output session(u: int, ts: int, n: int)
session(u, ts, n) :- event(u, ts), n = count : { event(u, t), t > ts - 3600, t <= ts }.
"""}
DUCKDB = {
    "sessions": """import sys, duckdb
duckdb.sql(f\"\"\"copy (with e as (select distinct u, ts from read_csv('{sys.argv[1]}/event.csv')),
l as (select u, ts, lag(ts) over (partition by u order by ts) p from e)
select u, ts as start from l where p is null or ts - p > 1800) to '{sys.argv[2]}/session.csv' (header)\"\"\")
""",
    "window": """import sys, duckdb
duckdb.sql(f\"\"\"copy (with e as (select distinct u, ts from read_csv('{sys.argv[1]}/event.csv'))
select u, ts, count(*) over (partition by u order by ts range between 3599 preceding and current row) n
from e) to '{sys.argv[2]}/session.csv' (header)\"\"\")
"""}
# the plan before the pass: the same pipeline without range_aggregates
JOIN_PLAN = """import csv, sys
from dfl.api import Program
from dfl.compiler.lower import lower
from dfl.compiler.passes.range_aggregates import range_aggregates
from dfl.compiler.pipeline import PASSES, optimize
from dfl.lang.check import check
from dfl.lang.parser import parse
prog, src, out = sys.argv[1:4]
c = check(parse(open(prog).read(), prog))
p = Program(c, optimize(lower(c), tuple(x for x in PASSES if x is not range_aggregates)))
rows = p.run(input_dir=src, memory_limit="none")["session"]
with open(out + "/session.csv", "w", newline="") as f:
    csv.writer(f).writerows([["header"]] + rows)
"""


def _files_bench():
    """benchmarks/files.py: its launcher measures a fresh process's wall time and peak RSS."""
    spec = importlib.util.spec_from_file_location("files_bench", os.path.join(HERE, "files.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("files_bench", mod)
    spec.loader.exec_module(sys.modules["files_bench"])
    return sys.modules["files_bench"]


def make_data(d: str, lines: int, users: int, seed: int) -> None:
    import numpy as np

    path = os.path.join(d, "event.csv")
    if os.path.exists(path):
        return
    rng = np.random.default_rng(seed)
    u = rng.integers(0, users, lines)
    burst = rng.integers(0, 20, lines)
    ts = burst * 7200 + rng.integers(0, 1500, lines)
    os.makedirs(d, exist_ok=True)
    with open(path, "w") as f:
        f.write("u,ts\n")
        np.savetxt(f, np.stack([u, ts], axis=1), fmt="%d", delimiter=",")


def read_rows(path: str) -> set[tuple[int, ...]]:
    with open(path, newline="") as f:
        return {tuple(int(x) for x in r) for r in list(csv.reader(f))[1:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--join", action="store_true",
                    help="also run the plan without the pass: quadratic (200k lines: 139 s, 20 GB)")
    ap.add_argument("--program", choices=sorted(PROGRAMS), default="sessions",
                    help="sessions: the issue's program (max t < ts); window: a count over the last hour")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args(argv)
    fb = _files_bench()
    scratch = tempfile.mkdtemp(prefix="dfl-sessions-")
    data = a.data_dir or os.path.join(scratch, "data")
    make_data(data, a.lines, a.users, a.seed)
    prog = os.path.join(scratch, "sessions.dfl")
    with open(prog, "w") as f:
        f.write(PROGRAMS[a.program])
    py = sys.executable
    systems = {"dfl": lambda out: [py, "-m", "dfl", "run", prog, "-I", data, "-O", out],
               "duckdb": lambda out: [py, "-c", DUCKDB[a.program], data, out]}
    if a.join:
        systems["dfl-join"] = lambda out: [py, "-c", JOIN_PLAN, prog, data, out]
    results: dict[str, set] = {}
    print(f"{a.program}: {a.lines:,} lines, {a.users} users; median of {a.repeat} whole runs after a warm-up")
    print("| system | rows out | s (median) | s (min-max) | peak MiB |\n|---|--:|--:|--:|--:|")
    for name, cmd in systems.items():
        out = os.path.join(scratch, name)
        times, rss = [], []
        for i in range(a.repeat + 1):
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            rc, wall, mib = fb.run_process(cmd(out), a.timeout, os.path.join(scratch, name + ".log"))
            if rc != 0:
                with open(os.path.join(scratch, name + ".log"), errors="replace") as f:
                    print(f"| {name} | failed (exit {rc}): {' / '.join(f.read().strip().splitlines()[-2:])[-200:]} | | | |")
                break
            if i:
                times.append(wall)
                rss.append(mib)
        else:
            results[name] = read_rows(os.path.join(out, "session.csv"))
            print(f"| {name} | {len(results[name]):,} | {statistics.median(times):.2f} | "
                  f"{min(times):.2f}-{max(times):.2f} | {max(rss):.0f} |")
    shutil.rmtree(scratch, ignore_errors=True)
    rows = list(results.values())
    if any(r != rows[0] for r in rows):
        print("MISMATCH: the systems' results differ")
        return 1
    print(f"agree: {len(rows)} systems, the same rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
