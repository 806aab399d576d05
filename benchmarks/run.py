#!/usr/bin/env python
"""DFL's cpu target against the systems users would pick instead, side by side in one run.

    python benchmarks/run.py [--quick] [--only tc,sssp] [--systems dfl,duckdb,numba]
                             [--timeout 300] [--data-dir DIR] [--json FILE] [--markdown FILE]

Each (workload, size, system) cell runs in its own process (this script, with --cell):
data generated once from a fixed seed (not timed) and loaded before timing, one warm-up
run, then the best of 3 (1 where a run takes over 10 s). Compile time is given apart:
for DFL, dfl.compile + plan("cpu") plus the first run minus the best warm run (numba's
JIT); for numba kernels, the first run minus the best. Memory is the peak RSS over the
timed runs minus the RSS just before them, after the data was loaded and the warm-up
run done ("mem": what the computation itself needs at its peak; the peak mark is reset
through /proc/self/clear_refs), and the process's ru_maxrss minus the RSS once the data
was loaded ("mem+compile": includes the warm-up run, the JIT compiler and what stays
cached after it). Results are compared across systems by row count and an
order-independent hash of the rows.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

PEER_ORDER = ["dfl", "duckdb", "polars", "souffle", "networkx", "scipy", "numpy", "python", "numba"]
SLOW_RUN_S = 10.0
RESULT_TAG = "@@RESULT "


# ============================================================================ one cell (child)
def run_cell(workload: str, idx: int, system: str, data: str, quick: bool, repeat: int) -> dict:
    from workloads import WORKLOADS
    from workloads.common import SkipCell, checksum, hwm_kib, maxrss_kib, reset_hwm, rss_kib

    mod = WORKLOADS[workload]
    cfg = mod.configs(quick)[idx]
    out: dict = {"workload": workload, "config": cfg["label"], "system": system}
    t0 = time.perf_counter()
    try:
        cell = mod.SYSTEMS[system](cfg, data)
    except SkipCell as e:
        return {**out, "status": "skipped", "reason": str(e)}
    except ImportError as e:
        return {**out, "status": "skipped", "reason": f"not installed ({e.name or e})"}
    out["load_s"] = time.perf_counter() - t0 - cell.compile_s
    gc.collect()
    base = rss_kib()
    out["rss_loaded_mib"] = base / 1024

    t = time.perf_counter()
    r = cell.run()
    first = time.perf_counter() - t
    del r
    gc.collect()
    warm = rss_kib()
    can_reset = reset_hwm()
    times = []
    for i in range(repeat):
        t = time.perf_counter()
        r = cell.run()
        times.append(time.perf_counter() - t)
        if i < repeat - 1 and times[-1] < SLOW_RUN_S:
            del r
            gc.collect()
        else:
            break
    hwm = hwm_kib() if can_reset else None
    total_peak = maxrss_kib()
    best = min(times)
    rows, digest = checksum(cell.columns(r))
    out.update(status="ok", best_s=best, times_s=times, first_s=first, rows=rows, checksum=digest,
               compile_s=cell.compile_s + (max(0.0, first - best) if cell.has_jit else 0.0),
               frontend_s=cell.compile_s, jit_s=max(0.0, first - best) if cell.has_jit else None,
               notes=cell.notes)
    if cell.external:  # the work ran in child processes: their peak RSS, absolute
        out["mem_mib"] = out["mem_compile_mib"] = maxrss_kib(children=True) / 1024
        out["mem_note"] = "child process peak RSS"
    else:
        out["mem_mib"] = (hwm - warm) / 1024 if hwm is not None else None
        out["rss_warm_mib"] = warm / 1024
        out["mem_compile_mib"] = (total_peak - base) / 1024
    return out


# ============================================================================ the driver (parent)
def versions() -> dict:
    from importlib import metadata

    v = {}
    for p in ["dfl", "numpy", "numba", "duckdb", "polars", "scipy", "networkx"]:
        try:
            v[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            v[p] = None
    import shutil

    exe = shutil.which("souffle")
    if exe:
        try:
            v["souffle"] = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                          timeout=30).stdout.strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            v["souffle"] = "installed"
    else:
        v["souffle"] = None
    return v


def ensure_data(mod, idx: int, cfg: dict, root: str, quick: bool, seed: int) -> str:
    d = os.path.join(root, f"{mod.NAME}-{'quick' if quick else 'full'}-{idx}-seed{seed}")
    marker = os.path.join(d, "DONE")
    if os.path.exists(marker):
        with open(marker) as f:
            if json.load(f) == cfg:
                return d
    os.makedirs(d, exist_ok=True)
    t = time.perf_counter()
    mod.generate(cfg, d, seed)
    with open(marker, "w") as f:
        json.dump(cfg, f)
    print(f"  generated {mod.NAME} [{cfg['label']}] in {time.perf_counter() - t:.1f} s -> {d}", flush=True)
    return d


def spawn(workload, idx, system, data, quick, repeat, timeout) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--cell", workload, str(idx), system, data,
           "--repeat", str(repeat)] + (["--quick"] if quick else [])
    base = {"workload": workload, "system": system}
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    t = time.perf_counter()
    try:
        so, se = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # the cell's own process group (it may have children)
        p.communicate()
        return {**base, "status": "timeout", "reason": f"> {timeout:g} s"}
    wall = time.perf_counter() - t
    for line in so.splitlines()[::-1]:
        if line.startswith(RESULT_TAG):
            res = json.loads(line[len(RESULT_TAG):])
            res["cell_wall_s"] = wall
            return res
    if p.returncode in (-9, 137):
        reason = "killed (out of memory?)"
    else:
        tail = [ln for ln in se.strip().splitlines() if ln.strip()]
        reason = (tail[-1] if tail else f"exit {p.returncode}")[:200]
    return {**base, "status": "error", "reason": reason, "stderr": se[-4000:]}


def fmt_s(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    if x >= 0.01:
        return f"{x:.3f}"
    return f"{x:.4f}"


def fmt_mib(x):
    if x is None:
        return "–"
    return f"{x:.0f}"


def fmt_ratio(x):
    return "–" if x is None else (f"{x:.2f}×" if x < 10 else f"{x:.0f}×")


def agreement(results: list[dict]) -> tuple[str | None, list[dict]]:
    """The checksum most systems agree on (DFL excluded from the vote where peers exist),
    and the results that differ from it."""
    ok = [r for r in results if r.get("status") == "ok"]
    voters = [r for r in ok if r["system"] != "dfl"] or ok
    if not voters:
        return None, []
    ref = Counter((r["rows"], r["checksum"]) for r in voters).most_common(1)[0][0]
    return ref, [r for r in ok if (r["rows"], r["checksum"]) != ref]


def summarize(group: list[dict]) -> dict:
    by = {r["system"]: r for r in group if r.get("status") == "ok"}
    d = by.get("dfl")
    peers = [r for s, r in by.items() if s not in ("dfl", "numba")]
    best = min(peers, key=lambda r: r["best_s"]) if peers else None
    hand = by.get("numba")
    s = {"dfl_s": d["best_s"] if d else None, "best_peer": best["system"] if best else None,
         "best_peer_s": best["best_s"] if best else None, "hand_s": hand["best_s"] if hand else None,
         "dfl_status": (d or next((r for r in group if r["system"] == "dfl"), {})).get("status", "absent")}
    s["vs_peer"] = d["best_s"] / best["best_s"] if d and best else None
    s["vs_hand"] = d["best_s"] / hand["best_s"] if d and hand else None
    if d and best and d.get("mem_mib") is not None and best.get("mem_mib") is not None:
        s["dfl_mem"], s["peer_mem"] = d["mem_mib"], best["mem_mib"]
        s["mem_ok"] = d["mem_mib"] <= max(best["mem_mib"], 1.0)
    return s


def render(all_results: list[dict], console) -> None:
    from rich.table import Table

    t = Table(title="DFL (cpu) vs peers: best warm run", show_lines=False)
    for c in ["workload", "size", "system", "run s", "runs", "compile s", "mem MiB", "mem+compile MiB",
              "rows", "agrees"]:
        t.add_column(c, justify="right" if c not in ("workload", "size", "system", "agrees") else "left")
    groups = group_results(all_results)
    for (w, label), group in groups.items():
        ref, bad = agreement(group)
        badset = {id(r) for r in bad}
        for i, r in enumerate(sorted(group, key=lambda r: PEER_ORDER.index(r["system"]))):
            first = i == 0
            if r["status"] == "ok":
                agree = "[bold red]MISMATCH[/]" if id(r) in badset else "[green]yes[/]"
                comp = r["compile_s"] if (r.get("jit_s") is not None or r.get("frontend_s")) else None
                t.add_row(w if first else "", label if first else "", r["system"], fmt_s(r["best_s"]),
                          str(len(r["times_s"])), fmt_s(comp), fmt_mib(r.get("mem_mib")),
                          fmt_mib(r.get("mem_compile_mib")), f"{r['rows']:,}", agree)
            else:
                style = {"skipped": "dim", "timeout": "yellow", "error": "red"}.get(r["status"], "")
                t.add_row(w if first else "", label if first else "", r["system"],
                          f"[{style}]{r['status']}[/]", "", "", "", "", "", f"[{style}]{r.get('reason', '')}[/]")
        t.add_section()
    console.print(t)

    s = Table(title="DFL against targets (≤ 0.5× best peer, ≤ 2× hand kernel, memory ≤ best peer's)")
    for c in ["workload", "size", "DFL s", "best peer", "peer s", "DFL/peer", "hand s", "DFL/hand",
              "DFL mem", "peer mem"]:
        s.add_column(c, justify="left" if c in ("workload", "size", "best peer") else "right")
    for (w, label), group in groups.items():
        m = summarize(group)

        def mark(v, lim):
            if v is None:
                return "–"
            return f"[{'green' if v <= lim else 'red'}]{fmt_ratio(v)}[/]"

        dfl_s = fmt_s(m["dfl_s"]) if m["dfl_s"] is not None else m["dfl_status"]
        mem_style = "green" if m.get("mem_ok") else "red"
        s.add_row(w, label, dfl_s, m["best_peer"] or "–", fmt_s(m["best_peer_s"]), mark(m["vs_peer"], 0.5),
                  fmt_s(m["hand_s"]), mark(m["vs_hand"], 2.0),
                  f"[{mem_style}]{fmt_mib(m.get('dfl_mem'))}[/]" if "dfl_mem" in m else "–",
                  fmt_mib(m.get("peer_mem")))
    console.print(s)


def group_results(all_results):
    groups: dict = {}
    for r in all_results:
        groups.setdefault((r["workload"], r["config"]), []).append(r)
    return groups


def markdown(all_results: list[dict]) -> str:
    groups = group_results(all_results)
    lines = ["| workload | size | system | run s | compile s | mem MiB | mem+compile MiB | rows | agrees |",
             "|---|---|---|--:|--:|--:|--:|--:|---|"]
    for (w, label), group in groups.items():
        _, bad = agreement(group)
        badset = {id(r) for r in bad}
        for r in sorted(group, key=lambda r: PEER_ORDER.index(r["system"])):
            name = f"**{r['system']}**" if r["system"] == "dfl" else r["system"]
            if r["status"] == "ok":
                comp = r["compile_s"] if (r.get("jit_s") is not None or r.get("frontend_s")) else None
                lines.append(f"| {w} | {label} | {name} | {fmt_s(r['best_s'])} | {fmt_s(comp)} | "
                             f"{fmt_mib(r.get('mem_mib'))} | {fmt_mib(r.get('mem_compile_mib'))} | "
                             f"{r['rows']:,} | {'**MISMATCH**' if id(r) in badset else 'yes'} |")
            else:
                lines.append(f"| {w} | {label} | {name} | {r['status']} | | | | | {r.get('reason', '')} |")
    lines += ["", "| workload | size | DFL s | best peer | peer s | DFL/peer (≤ 0.5) | hand s | DFL/hand (≤ 2) "
                  "| DFL mem MiB | peer mem MiB |", "|---|---|--:|---|--:|--:|--:|--:|--:|--:|"]
    for (w, label), group in groups.items():
        m = summarize(group)
        dfl_s = fmt_s(m["dfl_s"]) if m["dfl_s"] is not None else m["dfl_status"]
        lines.append(f"| {w} | {label} | {dfl_s} | {m['best_peer'] or '–'} | {fmt_s(m['best_peer_s'])} | "
                     f"{fmt_ratio(m['vs_peer'])} | {fmt_s(m['hand_s'])} | {fmt_ratio(m['vs_hand'])} | "
                     f"{fmt_mib(m.get('dfl_mem'))} | {fmt_mib(m.get('peer_mem'))} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds per workload), for CI")
    ap.add_argument("--only", help="comma-separated workloads: tc,groupby,join,sssp,wordcount")
    ap.add_argument("--systems", help="comma-separated systems (default: all): " + ",".join(PEER_ORDER))
    ap.add_argument("--timeout", type=float, default=300.0, help="per-cell timeout in seconds (default 300)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs after the warm-up (default 3)")
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--data-dir", help="where generated data is kept and reused (default: a temp dir)")
    ap.add_argument("--json", help="write all results as JSON to this file")
    ap.add_argument("--markdown", help="write the tables as Markdown to this file")
    ap.add_argument("--cell", nargs=4, metavar=("WORKLOAD", "IDX", "SYSTEM", "DATA"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.cell:
        w, idx, system, data = args.cell
        res = run_cell(w, int(idx), system, data, args.quick, args.repeat)
        print(RESULT_TAG + json.dumps(res), flush=True)
        return 0

    from rich.console import Console

    from workloads import WORKLOADS

    console = Console(width=None if sys.stdout.isatty() else 200)
    names = args.only.split(",") if args.only else list(WORKLOADS)
    for n in names:
        if n not in WORKLOADS:
            ap.error(f"unknown workload {n!r}; choose from {', '.join(WORKLOADS)}")
    systems = args.systems.split(",") if args.systems else None
    if systems:
        for s in systems:
            if s not in PEER_ORDER:
                ap.error(f"unknown system {s!r}; choose from {', '.join(PEER_ORDER)}")
    root = args.data_dir or tempfile.mkdtemp(prefix="dfl-bench-")
    os.makedirs(root, exist_ok=True)
    info = {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(), "machine": platform.platform(),
            "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
            "versions": versions(), "quick": args.quick, "seed": args.seed, "timeout_s": args.timeout}
    console.print(f"[bold]DFL benchmarks[/] {'(quick sizes)' if args.quick else '(full sizes)'} — "
                  f"{info['cores']} cores, seed {args.seed}, per-cell timeout {args.timeout:g} s, data in {root}")
    console.print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v))
    results = []
    t_all = time.perf_counter()
    for n in names:
        mod = WORKLOADS[n]
        for idx, cfg in enumerate(mod.configs(args.quick)):
            data = ensure_data(mod, idx, cfg, root, args.quick, args.seed)
            group = []
            for system in mod.SYSTEMS:
                if systems and system not in systems:
                    continue
                r = spawn(n, idx, system, data, args.quick, args.repeat, args.timeout)
                r["config"] = cfg["label"]
                group.append(r)
                results.append(r)
                if r["status"] == "ok":
                    console.print(f"  {n:9s} {cfg['label']:32s} {system:9s} {fmt_s(r['best_s']):>7s} s  "
                                  f"rows {r['rows']:,}  (cell {r['cell_wall_s']:.1f} s)")
                else:
                    console.print(f"  {n:9s} {cfg['label']:32s} {system:9s} {r['status']}: {r.get('reason', '')}")
            _, bad = agreement(group)
            for b in bad:
                console.print(f"[bold red]  !! RESULT MISMATCH: {b['system']} on {n} [{cfg['label']}] gives "
                              f"{b['rows']:,} rows / {b['checksum']}, the others agree on something else[/]")
    console.print(f"total {time.perf_counter() - t_all:.0f} s\n")
    render(results, console)
    mismatches = [(w, lab, b["system"]) for (w, lab), g in group_results(results).items() for b in agreement(g)[1]]
    if mismatches:
        console.print(f"[bold red]RESULT MISMATCHES: {mismatches}[/]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"Measured {info['date']}, {info['cores']} cores, {info['machine']}, Python {info['python']}; "
                    + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v) + "\n\n")
            f.write(markdown(results))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
