#!/usr/bin/env python
"""Whole runs of the general recursive workloads (issue 14), as users run them:
`dfl run PROG -I DIR -O OUT` against DuckDB, each a fresh process reading CSV files and
writing CSV files, side by side.

    python benchmarks/recursion.py [--quick] [--only andersen,cc,sg,cspa,sessions] [--repeat 3]
                                   [--systems dfl,duckdb] [--data-dir DIR] [--seed N]
                                   [--timeout 600] [--json FILE] [--markdown FILE]

The programs, sizes and data are those of run.py's workloads of the same names
(benchmarks/workloads/{andersen,cc,sg,cspa,sessions}.py; --quick: their small sizes).
DuckDB runs in a fresh `python -c`: the workload's SQL over `read_csv(...)`, every output
relation of the program written with COPY (for a program of several outputs, the
recursive CTE is kept in a temporary table and each output copied out of it, as DFL
writes them all). Measuring is files.py's: one warm-up, then --repeat runs, the median
wall time of the whole process and its peak RSS (ru_maxrss from os.wait4, through a small
launcher). The compared output relation (the workload's OUT) is read back from both and
compared as a row set; a disagreement is printed and the exit status is 1.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import files  # noqa: E402  (the measuring of whole runs: launcher, peak RSS, row-set agreement)
from workloads import RECURSIVE  # noqa: E402

SYSTEMS = ("dfl", "duckdb")


def write_csv(d: str, rels: dict) -> None:
    """Each relation as `name.csv` with an unquoted header, as people write them."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    for rel, cols in rels.items():
        with open(os.path.join(d, f"{rel}.csv"), "wb") as f:
            f.write((",".join(cols) + "\n").encode())
            pacsv.write_csv(pa.table(cols), f, pacsv.WriteOptions(include_header=False))


def ensure_data(root: str, name: str, cfg: dict, seed: int) -> str:
    d = os.path.join(root, f"{name}-{'-'.join(f'{k}{v}' for k, v in cfg.items() if k != 'label')}-s{seed}")
    if not os.path.exists(os.path.join(d, "DONE")):
        os.makedirs(d, exist_ok=True)
        write_csv(d, RECURSIVE[name].relations(cfg, seed))
        with open(os.path.join(d, "DONE"), "w"):
            pass
    return d


def duckdb_code(mod, d: str, out_dir: str) -> str:
    src = {r: f"read_csv('{os.path.join(d, r + '.csv')}')" for r in mod.SCHEMA}
    if hasattr(mod, "duckdb_script"):
        stmts = mod.duckdb_script(src, out_dir)
    else:
        stmts = [f"COPY ({mod.sql(src)}) TO '{os.path.join(out_dir, mod.OUT + '.csv')}' (HEADER)"]
    return "import duckdb\ncon = duckdb.connect()\n" + "".join(f"con.execute({s!r})\n" for s in stmts)


def command(system: str, mod, d: str, out_dir: str, prog: str) -> list[str]:
    if system == "dfl":
        return [sys.executable, "-m", "dfl", "run", prog, "-I", d, "-O", out_dir]
    return [sys.executable, "-c", duckdb_code(mod, d, out_dir)]


def measure(cell: files.Cell, cmd: list[str], out_dir: str, out_file: str, repeat: int, timeout: float,
            scratch: str) -> None:
    log = os.path.join(scratch, f"{cell.workload}-{cell.system}.log")
    for i in range(repeat + 1):  # the first is the warm-up (the OS file cache, numba's kernel cache)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        rc, wall, rss = files.run_process(cmd, timeout, log)
        if rc != 0:
            cell.status = "timeout" if rc == 124 else "error"
            with open(log, errors="replace") as f:
                cell.note = " / ".join(f.read().strip().splitlines()[-3:])[-300:] or f"exit {rc}"
            return
        if i:
            cell.times.append(wall)
            cell.rss_mib.append(rss)
    cell.output = os.path.join(out_dir, out_file)


COLUMNS = ["workload", "size", "output", "rows", "DFL s", "DuckDB s", "DFL/DuckDB", "DFL MiB", "DuckDB MiB",
           "agree"]


def row(name: str, cfg: dict, mod, by: dict, agree: str, nrows: int | None) -> list[str]:
    def t(s):
        c = by.get(s)
        return "-" if c is None else (files.fmt_s(c.median) if c.status == "ok" else c.status)

    def m(s):
        c = by.get(s)
        return f"{c.rss:.0f}" if c is not None and c.rss is not None else "-"

    d, k = by.get("dfl"), by.get("duckdb")
    ratio = f"{d.median / k.median:.2f}x" if d and k and d.median and k.median else "-"
    return [name, cfg["label"], mod.OUT, f"{nrows:,}" if nrows is not None else "-", t("dfl"), t("duckdb"), ratio,
            m("dfl"), m("duckdb"), agree]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(RECURSIVE), help=f"workloads, of {','.join(RECURSIVE)}")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="dfl,duckdb (default both)")
    files.run_options(ap)
    args = ap.parse_args(argv)
    names = [x for x in args.only.split(",") if x]
    systems = [x for x in args.systems.split(",") if x]
    if not names or any(n not in RECURSIVE for n in names):
        ap.error(f"--only: choose from {','.join(RECURSIVE)}")
    if not systems or any(s not in SYSTEMS for s in systems):
        ap.error(f"--systems: choose from {','.join(SYSTEMS)}")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 160))
    info = {"versions": files.versions(), "git": files.git_rev(), "python": platform.python_version(),
            "machine": f"{os.cpu_count()} cores, {platform.platform()}", "quick": args.quick, "seed": args.seed,
            "repeat": args.repeat, "when": time.strftime("%Y-%m-%d %H:%M %Z")}
    console.print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
                  + f"; Python {info['python']}; {info['machine']}; DFL at {info['git']}")
    root = args.data_dir or tempfile.mkdtemp(prefix="dfl-rec-")
    scratch = tempfile.mkdtemp(prefix="dfl-rec-out-")
    rows, records, disagree = [], [], False
    try:
        for name in names:
            mod = RECURSIVE[name]
            cfg = mod.configs(args.quick)[0]
            d = ensure_data(root, name, cfg, args.seed)
            prog = os.path.join(scratch, f"{name}.dfl")
            with open(prog, "w") as f:
                f.write(mod.DFL_SRC)
            by: dict[str, files.Cell] = {}
            for s in systems:
                cell = by[s] = files.Cell(name, "csv", s)
                out_dir = os.path.join(scratch, f"out-{name}-{s}")
                measure(cell, command(s, mod, d, out_dir, prog), out_dir, f"{mod.OUT}.csv", args.repeat,
                        args.timeout, scratch)
                console.print(f"[dim]{name} {s}: {cell.status} {files.fmt_s(cell.median)} s"
                              f"{' ' + cell.note if cell.note else ''}[/]")
            agree, nrows = files.agreement(list(by.values()))
            disagree |= agree.startswith("NO")
            rows.append(row(name, cfg, mod, by, agree, nrows))
            records += [{"workload": name, "size": cfg, "system": c.system, "status": c.status, "times_s": c.times,
                         "median_s": c.median, "rss_mib": c.rss, "note": c.note, "agree": agree, "rows": nrows}
                        for c in by.values()]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.data_dir:
            shutil.rmtree(root, ignore_errors=True)

    t = Table(title=f"General recursion, whole runs from CSV: fresh processes, median of {args.repeat} after a "
                    f"warm-up; peak RSS (MiB)")
    for c in COLUMNS:
        t.add_column(c, justify="left" if c in ("workload", "size", "output", "agree") else "right")
    for r in rows:
        t.add_row(*[f"[bold red]{x}[/]" if x.startswith("NO") else x for x in r])
    console.print(t)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "cells": records}, f, indent=1)
    if args.markdown:
        right = {c for c in COLUMNS if c not in ("workload", "size", "output", "agree")}
        with open(args.markdown, "w") as f:
            f.write("| " + " | ".join(COLUMNS) + " |\n|"
                    + "|".join("--:" if c in right else "---" for c in COLUMNS) + "|\n"
                    + "".join("| " + " | ".join(r) + " |\n" for r in rows))
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
