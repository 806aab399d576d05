#!/usr/bin/env python
"""Whole runs from files (issue 13): `dfl run PROG -I DIR -O OUT` against DuckDB and Polars,
each a fresh process reading the input files and writing the result files, side by side.

    python benchmarks/files.py [--quick] [--only tc,groupby,join,startup] [--repeat 3]
                               [--formats csv,parquet] [--systems dfl,duckdb,polars]
                               [--data-dir DIR] [--seed N] [--timeout 600] [--json FILE]

Workloads (sizes of the issue; --quick: small ones, for a test):
- tc: transitive closure of a random graph, 1.5k nodes / 4.5k distinct edges (~2.0M rows out)
  `path(a, b) :- edge(a, b). path(a, c) :- path(a, b), edge(b, c).`
- groupby: 2M rows / 100k keys, int values (sums are exact, so every system's result
  compares equal) `total(k, count(), sum(v)) :- sale(_, k, v).`
- join: 2M fact rows x 100k dim rows, half the dim rows with f = 1, 1,000 groups
  `bygrp(g, sum(v)) :- fact(i, k, v), dim(k, g, f), f = 1.`
- startup: the 3-row closure end to end against `python -c "import duckdb; duckdb.sql('select 1')"`.

Each format runs the program on `.csv` inputs writing CSV, and on `.parquet` inputs writing
Parquet (`--output-format parquet`). DuckDB runs `COPY (SELECT ... read_csv/read_parquet ...)
TO ...` in a fresh `python -c`; Polars `scan_csv/scan_parquet ... sink_csv/sink_parquet`
(the closure: a semi-naive loop of joins and anti-joins, as a Polars user would write it).
Every (workload, format, system) runs once as a warm-up (the OS file cache, numba's
kernel cache), then --repeat times; the table shows the median wall time of the whole
process and its peak RSS (ru_maxrss from os.wait4). The outputs of the systems are read
back and compared as row sets; a disagreement is printed and the exit status is 1.
DFL's result files are sorted (LANGUAGE.md §7); DuckDB's and Polars' are not asked to be.
Data is generated from --seed (numpy's PCG64) into --data-dir (default: a temp folder,
removed at the end), and reused when the same folder is given again.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ("tc", "groupby", "join", "startup")
SYSTEMS = ("dfl", "duckdb", "polars")
FORMATS = ("csv", "parquet")

PROGRAMS = {
    "tc": ("input  edge(a: int, b: int)\noutput path(a: int, b: int)\n"
           "path(a, b) :- edge(a, b).\npath(a, c) :- path(a, b), edge(b, c).\n"),
    "groupby": ("input  sale(id: int, k: int, v: int)\noutput total(k: int, n: int, s: int)\n"
                "total(k, count(), sum(v)) :- sale(_, k, v).\n"),
    "join": ("input  fact(i: int, k: int, v: int)\ninput  dim(k: int, g: int, f: int)\n"
             "output bygrp(g: int, s: int)\n"
             "bygrp(g, sum(v)) :- fact(i, k, v), dim(k, g, f), f = 1.\n"),
}
PROGRAMS["startup"] = PROGRAMS["tc"]
OUTPUT = {"tc": "path", "groupby": "total", "join": "bygrp", "startup": "path"}

# (the sizes, --quick's)
SIZES = {
    "tc": ({"nodes": 1500, "edges": 4500}, {"nodes": 60, "edges": 180}),
    "groupby": ({"rows": 2_000_000, "keys": 100_000}, {"rows": 20_000, "keys": 1_000}),
    "join": ({"fact": 2_000_000, "dim": 100_000, "groups": 1_000}, {"fact": 20_000, "dim": 1_000, "groups": 50}),
    "startup": ({}, {}),
}


def label(workload: str, size: dict) -> str:
    if workload == "tc":
        return f"transitive closure, {size['nodes']:,} nodes / {size['edges']:,} edges"
    if workload == "groupby":
        return f"group-by, {size['rows']:,} rows / {size['keys']:,} keys"
    if workload == "join":
        return f"join {size['fact']:,} x {size['dim']:,} + filter + group-by"
    return "3-row program end to end"


# ============================================================================ data
def relations(workload: str, size: dict, seed: int) -> dict[str, dict[str, "object"]]:
    """relation -> {column: int64 numpy array}, deterministic in `seed`."""
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(seed))
    if workload == "startup":
        return {"edge": {"a": np.array([1, 2, 3]), "b": np.array([2, 3, 4])}}
    if workload == "tc":
        n, m = size["nodes"], size["edges"]
        pairs = np.unique(rng.integers(0, n, size=(m * 2, 2), dtype=np.int64), axis=0)
        pairs = pairs[rng.permutation(len(pairs))[:m]]  # m distinct edges, in random order
        assert len(pairs) == m
        return {"edge": {"a": pairs[:, 0], "b": pairs[:, 1]}}
    if workload == "groupby":
        rows = size["rows"]
        return {"sale": {"id": np.arange(rows, dtype=np.int64),
                         "k": rng.integers(0, size["keys"], rows, dtype=np.int64),
                         "v": rng.integers(0, 1000, rows, dtype=np.int64)}}
    nf, nd = size["fact"], size["dim"]
    return {"fact": {"i": np.arange(nf, dtype=np.int64), "k": rng.integers(0, nd, nf, dtype=np.int64),
                     "v": rng.integers(0, 1000, nf, dtype=np.int64)},
            "dim": {"k": np.arange(nd, dtype=np.int64), "g": rng.integers(0, size["groups"], nd, dtype=np.int64),
                    "f": rng.integers(0, 2, nd, dtype=np.int64)}}


def ensure_data(root: str, workload: str, size: dict, seed: int, fmt: str) -> str:
    """The folder of the workload's input files in `fmt` (made once; DONE marks it complete)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    d = os.path.join(root, f"{workload}-{'-'.join(f'{k}{v}' for k, v in size.items()) or 'tiny'}-s{seed}", fmt)
    if os.path.exists(os.path.join(d, "DONE")):
        return d
    os.makedirs(d, exist_ok=True)
    for rel, cols in relations(workload, size, seed).items():
        table = pa.table(cols)
        if fmt == "csv":
            with open(os.path.join(d, f"{rel}.csv"), "wb") as f:  # an unquoted header, as people write
                f.write((",".join(cols) + "\n").encode())
                pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False))
        else:
            pq.write_table(table, os.path.join(d, f"{rel}.parquet"))
    with open(os.path.join(d, "DONE"), "w"):
        pass
    return d


# ============================================================================ the commands
def _src(d: str, rel: str, fmt: str) -> str:
    path = os.path.join(d, f"{rel}.{fmt}")
    return f"read_csv('{path}')" if fmt == "csv" else f"read_parquet('{path}')"


def duckdb_sql(workload: str, d: str, fmt: str, out: str) -> str:
    if workload in ("tc", "startup"):
        e = _src(d, "edge", fmt)
        q = (f"WITH RECURSIVE path(a, b) AS (SELECT a, b FROM {e} UNION "
             f"SELECT p.a, e.b FROM path p JOIN {e} e ON p.b = e.a) SELECT a, b FROM path")
    elif workload == "groupby":
        q = f"SELECT k, count(*) AS n, sum(v) AS s FROM {_src(d, 'sale', fmt)} GROUP BY k"
    else:
        q = (f"SELECT d.g, sum(f.v) AS s FROM {_src(d, 'fact', fmt)} f JOIN {_src(d, 'dim', fmt)} d "
             f"ON f.k = d.k WHERE d.f = 1 GROUP BY d.g")
    opts = "(HEADER)" if fmt == "csv" else "(FORMAT parquet)"
    return f"COPY ({q}) TO '{out}' {opts}"


def polars_code(workload: str, d: str, fmt: str, out: str) -> str:
    scan = "pl.scan_csv" if fmt == "csv" else "pl.scan_parquet"
    src = lambda rel: f"{scan}({os.path.join(d, f'{rel}.{fmt}')!r})"  # noqa: E731
    sink = f"sink_{fmt}({out!r})"
    if workload in ("tc", "startup"):
        write = "write_csv" if fmt == "csv" else "write_parquet"
        return ("import polars as pl\n"
                f"edge = {src('edge')}.collect().unique()\n"
                "path = edge\ndelta = edge\n"
                "while delta.height:\n"
                "    step = delta.join(edge, left_on='b', right_on='a').select(pl.col('a'), pl.col('b_right').alias('b'))\n"
                "    delta = step.unique().join(path, on=['a', 'b'], how='anti')\n"
                "    path = pl.concat([path, delta])\n"
                f"path.{write}({out!r})\n")
    if workload == "groupby":
        return ("import polars as pl\n"
                f"{src('sale')}.group_by('k').agg(pl.len().alias('n'), pl.col('v').sum().alias('s')).{sink}\n")
    return ("import polars as pl\n"
            f"d = {src('dim')}.filter(pl.col('f') == 1)\n"
            f"{src('fact')}.join(d, on='k').group_by('g').agg(pl.col('v').sum().alias('s')).{sink}\n")


def command(system: str, workload: str, d: str, fmt: str, out_dir: str, prog: str) -> list[str]:
    out = os.path.join(out_dir, f"{OUTPUT[workload]}.{fmt}")
    if system == "dfl":
        cmd = [sys.executable, "-m", "dfl", "run", prog, "-I", d, "-O", out_dir]
        return cmd + (["--output-format", "parquet"] if fmt == "parquet" else [])
    if system == "duckdb":
        if workload == "startup":
            return [sys.executable, "-c", "import duckdb; duckdb.sql('select 1')"]
        return [sys.executable, "-c", f"import duckdb; duckdb.sql({duckdb_sql(workload, d, fmt, out)!r})"]
    return [sys.executable, "-c", polars_code(workload, d, fmt, out)]


# ============================================================================ measuring
@dataclass
class Cell:
    workload: str
    fmt: str
    system: str
    status: str = "ok"  # ok | error | timeout | skipped
    times: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    note: str = ""
    output: str | None = None  # the result file of the last run

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def rss(self) -> float | None:
        return max(self.rss_mib) if self.rss_mib else None


# Started by `python -S` between this process and the one measured: a child's ru_maxrss
# starts from the RSS of the process that forked it (Linux carries the high-water mark of
# the forking image across exec), so forking straight from this one, which holds the
# results it compares, would count that too. The launcher is ~9 MiB, less than any
# process measured. It times the child itself: its own start-up is not counted.
LAUNCHER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {wall} {usage.ru_maxrss}")
"""


# Warm means compiled bytecode on disk, as an installed package has it (pip compiles it;
# DuckDB's and Polars' are): a PYTHONDONTWRITEBYTECODE set in the caller's shell would
# make every run of an editable DFL compile its ~200 modules again (~0.2 s).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_process(cmd: list[str], timeout: float, log: str) -> tuple[int, float, float]:
    """(exit status, wall seconds, peak RSS in MiB) of one fresh process; its output in `log`."""
    result = log + ".result"
    if os.path.exists(result):
        os.remove(result)
    with open(log, "wb") as out:
        try:
            subprocess.run([sys.executable, "-S", "-c", LAUNCHER, result, *cmd], stdout=out, env=CHILD_ENV,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:  # the launcher is killed; its child, orphaned, is not waited for
            return 124, timeout, 0.0
    with open(result) as f:
        rc, wall, maxrss_kib = f.read().split()
    return int(rc), float(wall), int(maxrss_kib) / 1024


def measure(cell: Cell, cmd: list[str], out_dir: str, repeat: int, timeout: float, scratch: str) -> None:
    log = os.path.join(scratch, f"{cell.workload}-{cell.fmt}-{cell.system}.log")
    for i in range(repeat + 1):  # the first is the warm-up, not counted
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        rc, wall, rss = run_process(cmd, timeout, log)
        if rc != 0:
            cell.status = "timeout" if rc == 124 else "error"
            with open(log, errors="replace") as f:
                tail = f.read().strip().splitlines()[-3:]
            cell.note = " / ".join(tail)[-300:] or f"exit {rc}"
            return
        if i:
            cell.times.append(wall)
            cell.rss_mib.append(rss)
    if cell.workload != "startup":
        cell.output = os.path.join(out_dir, f"{OUTPUT[cell.workload]}.{cell.fmt}")


def read_rows(path: str):
    """A result file as a sorted numpy array of rows (int columns), whatever wrote it."""
    import numpy as np
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    t = pacsv.read_csv(path) if path.endswith(".csv") else pq.read_table(path)
    if t.num_columns == 0:
        return np.zeros((t.num_rows, 0), dtype=np.int64)
    a = np.column_stack([t.column(i).to_numpy().astype(np.int64) for i in range(t.num_columns)])
    return a[np.lexsort(a.T[::-1])]


def agreement(cells: list[Cell]) -> tuple[str, int | None]:
    """'yes' when every system's output holds the same rows ('-' when fewer than two ran),
    else which differ; and the number of rows."""
    import numpy as np

    got = {c.system: read_rows(c.output) for c in cells if c.status == "ok" and c.output}
    if not got:
        return "-", None
    ref_sys, ref = next(iter(got.items()))
    bad = [s for s, a in got.items() if a.shape != ref.shape or not np.array_equal(a, ref)]
    if len(got) < 2:
        return "-", len(ref)
    if bad:
        return "NO: " + ", ".join(f"{s} ({len(got[s]):,} rows)" for s in bad) + f" differ from {ref_sys} ({len(ref):,})", None
    return "yes", len(ref)


# ============================================================================ report
def versions() -> dict:
    from importlib import metadata

    v = {}
    for p in ["dfl", "numpy", "numba", "pyarrow", "duckdb", "polars"]:
        try:
            v[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            v[p] = None
    return v


def git_rev() -> str | None:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=HERE,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "") if rev else None
    except Exception:  # noqa: BLE001 - a report without the revision is still a report
        return None


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def row_cells(workload: str, size: dict, fmt: str, by: dict[str, Cell], agree: str, nrows: int | None) -> list[str]:
    def t(s: str) -> str:
        c = by.get(s)
        if c is None:
            return "-"
        return fmt_s(c.median) if c.status == "ok" else c.status

    def m(s: str) -> str:
        c = by.get(s)
        return f"{c.rss:.0f}" if c is not None and c.rss is not None else "-"

    d, k = by.get("dfl"), by.get("duckdb")
    ratio = f"{d.median / k.median:.2f}x" if d and k and d.median and k.median else "-"
    return [label(workload, size), fmt, f"{nrows:,}" if nrows is not None else "-", t("dfl"), t("duckdb"),
            t("polars"), ratio, m("dfl"), m("duckdb"), m("polars"), agree]


COLUMNS = ["workload", "format", "rows out", "DFL s", "DuckDB s", "Polars s", "DFL/DuckDB",
           "DFL MiB", "DuckDB MiB", "Polars MiB", "agree"]


def markdown(rows: list[list[str]]) -> str:
    right = {c for c in COLUMNS if c not in ("workload", "format", "agree")}
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "|".join("--:" if c in right else "---" for c in COLUMNS) + "|\n"
    return head + "".join("| " + " | ".join(r) + " |\n" for r in rows)


# ============================================================================ main
def run_options(ap: argparse.ArgumentParser) -> None:
    """The options every whole-run benchmark takes (this script's and recursion.py's)."""
    ap.add_argument("--repeat", type=int, default=3, help="timed runs after the warm-up; the median is shown")
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds in all): for a test")
    ap.add_argument("--data-dir", help="where the inputs are generated (kept; reused when given again)")
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--timeout", type=float, default=600, help="seconds per process before it is killed")
    ap.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(WORKLOADS), help=f"workloads, of {','.join(WORKLOADS)}")
    ap.add_argument("--formats", default=",".join(FORMATS), help="csv,parquet (default both)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="dfl,duckdb,polars (default all)")
    run_options(ap)
    args = ap.parse_args(argv)
    def pick(text: str, known: tuple[str, ...], what: str) -> list[str]:
        chosen = [x for x in text.split(",") if x]
        if not chosen or any(x not in known for x in chosen):
            ap.error(f"--{what}: choose from {','.join(known)}")
        return chosen

    workloads = pick(args.only, WORKLOADS, "only")
    formats = pick(args.formats, FORMATS, "formats")
    systems = pick(args.systems, SYSTEMS, "systems")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 180))  # the table is wide; a log file is not a terminal
    info = {"versions": versions(), "git": git_rev(), "python": platform.python_version(),
            "machine": f"{os.cpu_count()} cores, {platform.platform()}", "quick": args.quick, "seed": args.seed,
            "repeat": args.repeat, "when": time.strftime("%Y-%m-%d %H:%M %Z")}
    console.print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
                  + f"; Python {info['python']}; {info['machine']}; DFL at {info['git']}")
    missing = [s for s in systems if s != "dfl" and info["versions"].get(s) is None]
    systems = [s for s in systems if s not in missing]
    if missing:
        console.print(f"[dim]not installed, skipped: {', '.join(missing)}[/]")

    root = args.data_dir or tempfile.mkdtemp(prefix="dfl-files-")
    scratch = tempfile.mkdtemp(prefix="dfl-files-out-")
    rows, records, disagree = [], [], False
    try:
        for w in workloads:
            size = SIZES[w][1 if args.quick else 0]
            prog = os.path.join(scratch, f"{w}.dfl")
            with open(prog, "w") as f:
                f.write(PROGRAMS[w])
            for fmt in (formats if w != "startup" else ["csv"]):
                d = ensure_data(root, w, size, args.seed, fmt)
                by: dict[str, Cell] = {}
                for s in systems:
                    cell = by[s] = Cell(w, fmt, s)
                    out_dir = os.path.join(scratch, f"out-{w}-{fmt}-{s}")
                    measure(cell, command(s, w, d, fmt, out_dir, prog), out_dir, args.repeat, args.timeout, scratch)
                    console.print(f"[dim]{w} {fmt} {s}: {cell.status} {fmt_s(cell.median)} s"
                                  f"{' ' + cell.note if cell.note else ''}[/]")
                agree, nrows = agreement(list(by.values())) if w != "startup" else ("-", None)
                disagree |= agree.startswith("NO")
                rows.append(row_cells(w, size, fmt, by, agree, nrows))
                records += [{"workload": w, "format": fmt, "size": size, "system": c.system, "status": c.status,
                             "times_s": c.times, "median_s": c.median, "rss_mib": c.rss, "note": c.note,
                             "agree": agree, "rows": nrows} for c in by.values()]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.data_dir:
            shutil.rmtree(root, ignore_errors=True)

    t = Table(title=f"Whole runs from files: fresh processes, median of {args.repeat} after a warm-up; "
                    f"peak RSS (MiB)")
    for c in COLUMNS:
        t.add_column(c, justify="left" if c in ("workload", "format", "agree") else "right")
    for r in rows:
        t.add_row(*[f"[bold red]{x}[/]" if x.startswith("NO") else x for x in r])
    console.print(t)
    for r in rows:
        if r[-1].startswith("NO"):
            console.print(f"[bold red]MISMATCH[/] {r[0]} ({r[1]}): {r[-1]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "cells": records}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(rows))
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
