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
run done ("run MiB": what the computation needs at its peak beyond what the process
already holds; the peak mark is reset through /proc/self/clear_refs), and the process's
ru_maxrss minus the RSS once the data was loaded ("peak MiB": includes the warm-up run,
the JIT compiler, and buffers a system keeps between queries). Results are compared across systems by row count and an
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


def git_rev() -> str | None:
    try:
        root = os.path.dirname(HERE)
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "") if rev else None
    except Exception:  # noqa: BLE001
        return None


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


ENGINES = ("duckdb", "polars", "souffle")


def summarize(group: list[dict]) -> dict:
    by = {r["system"]: r for r in group if r.get("status") == "ok"}
    d = by.get("dfl")
    peers = [r for s, r in by.items() if s not in ("dfl", "numba")]
    best = min(peers, key=lambda r: r["best_s"]) if peers else None
    engines = [r for s, r in by.items() if s in ENGINES]
    eng = min(engines, key=lambda r: r["best_s"]) if engines else None
    hand = by.get("numba")
    s = {"dfl_s": d["best_s"] if d else None, "best_peer": best["system"] if best else None,
         "best_peer_s": best["best_s"] if best else None, "hand_s": hand["best_s"] if hand else None,
         "engine": eng["system"] if eng else None, "engine_s": eng["best_s"] if eng else None,
         "dfl_status": (d or next((r for r in group if r["system"] == "dfl"), {})).get("status", "absent"),
         "vs_peer": d["best_s"] / best["best_s"] if d and best else None,
         "vs_engine": d["best_s"] / eng["best_s"] if d and eng else None,
         "vs_hand": d["best_s"] / hand["best_s"] if d and hand else None}
    for key, name in (("mem_mib", "run"), ("mem_compile_mib", "peak")):
        dv = d.get(key) if d else None
        pv = best.get(key) if best else None
        s[f"dfl_{name}"], s[f"peer_{name}"] = dv, pv
        s[f"{name}_ok"] = None if dv is None or pv is None else dv <= max(pv, 1.0)
    return s


DETAIL_COLS = ["workload", "size", "system", "run s", "runs", "compile s", "run MiB", "peak MiB", "rows",
               "agrees"]
SUMMARY_COLS = ["workload", "size", "DFL s", "best peer", "peer s", "DFL/peer", "best engine", "engine s",
                "DFL/engine", "hand s", "DFL/hand", "DFL MiB run / peak", "peer MiB run / peak"]


def detail_rows(all_results: list[dict]):
    """(cells, style) per row: style is None, 'bad' (mismatch), or a status."""
    for (w, label), group in group_results(all_results).items():
        _, bad = agreement(group)
        badset = {id(r) for r in bad}
        for i, r in enumerate(sorted(group, key=lambda r: PEER_ORDER.index(r["system"]))):
            head = [w, label] if i == 0 else ["", ""]
            if r["status"] == "ok":
                comp = r["compile_s"] if (r.get("jit_s") is not None or r.get("frontend_s")) else None
                yield head + [r["system"], fmt_s(r["best_s"]), str(len(r["times_s"])), fmt_s(comp),
                              fmt_mib(r.get("mem_mib")), fmt_mib(r.get("mem_compile_mib")), f"{r['rows']:,}",
                              "MISMATCH" if id(r) in badset else "yes"], ("bad" if id(r) in badset else None)
            else:
                yield head + [r["system"], r["status"], "", "", "", "", "", r.get("reason", "")], r["status"]
        yield None, "section"


def summary_rows(all_results: list[dict]):
    """(cells, flags): flags maps a column to True (target met) / False (missed)."""
    for (w, label), group in group_results(all_results).items():
        m = summarize(group)
        dfl_s = fmt_s(m["dfl_s"]) if m["dfl_s"] is not None else m["dfl_status"]
        flags = {"DFL/peer": None if m["vs_peer"] is None else m["vs_peer"] <= 0.5,
                 "DFL/hand": None if m["vs_hand"] is None else m["vs_hand"] <= 2.0,
                 "DFL MiB run / peak": None if m["run_ok"] is None else bool(m["run_ok"] and m["peak_ok"])}
        yield [w, label, dfl_s, m["best_peer"] or "–", fmt_s(m["best_peer_s"]), fmt_ratio(m["vs_peer"]),
               m["engine"] or "–", fmt_s(m["engine_s"]), fmt_ratio(m["vs_engine"]), fmt_s(m["hand_s"]),
               fmt_ratio(m["vs_hand"]), f"{fmt_mib(m['dfl_run'])} / {fmt_mib(m['dfl_peak'])}",
               f"{fmt_mib(m['peer_run'])} / {fmt_mib(m['peer_peak'])}"], flags


def render(all_results: list[dict], console) -> None:
    from rich.table import Table

    left = {"workload", "size", "system", "agrees", "best peer", "best engine"}
    t = Table(title="DFL (cpu) and peers: best warm run, each in its own process")
    for c in DETAIL_COLS:
        t.add_column(c, justify="left" if c in left else "right")
    for cells, style in detail_rows(all_results):
        if cells is None:
            t.add_section()
            continue
        st = {"bad": "bold red", "skipped": "dim", "timeout": "yellow", "error": "red"}.get(style)
        t.add_row(*[f"[{st}]{c}[/]" if st and c else c for c in cells])
    console.print(t)
    s = Table(title="DFL against the targets: DFL/peer ≤ 0.5, DFL/hand ≤ 2, memory ≤ the best peer's")
    for c in SUMMARY_COLS:
        s.add_column(c, justify="left" if c in left else "right")
    for cells, flags in summary_rows(all_results):
        out = []
        for c, v in zip(SUMMARY_COLS, cells):
            f = flags.get(c)
            out.append(v if f is None else f"[{'green' if f else 'red'}]{v}[/]")
        s.add_row(*out)
    console.print(s)


def group_results(all_results):
    groups: dict = {}
    for r in all_results:
        groups.setdefault((r["workload"], r["config"]), []).append(r)
    return groups


def markdown(all_results: list[dict]) -> str:
    def table(cols, rows):
        out = ["| " + " | ".join(cols) + " |",
               "|" + "|".join("---" if c in ("workload", "size", "system", "agrees", "best peer", "best engine")
                              else "--:" for c in cols) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)

    det = []
    for cells, style in detail_rows(all_results):
        if cells is None:
            continue
        if cells[2] == "dfl":
            cells[2] = "**dfl**"
        if style == "bad":
            cells[-1] = "**MISMATCH**"
        det.append(cells)
    summ = []
    for cells, flags in summary_rows(all_results):
        for i, c in enumerate(SUMMARY_COLS):
            if flags.get(c) is False:
                cells[i] = f"{cells[i]} ✗"
            elif flags.get(c):
                cells[i] = f"{cells[i]} ✓"
        summ.append(cells)
    return table(SUMMARY_COLS, summ) + "\n\n" + table(DETAIL_COLS, det) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds per workload), for CI")
    ap.add_argument("--only", help="comma-separated workloads: tc,groupby,join,sssp,wordcount, "
                                   "andersen,cc,sg,cspa,sessions")
    ap.add_argument("--systems", help="comma-separated systems (default: all): " + ",".join(PEER_ORDER))
    ap.add_argument("--timeout", type=float, default=300.0, help="per-cell timeout in seconds (default 300)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs after the warm-up (default 3)")
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--data-dir", help="where generated data is kept and reused (default: a temp dir)")
    ap.add_argument("--json", help="write all results as JSON to this file")
    ap.add_argument("--markdown", help="write the tables as Markdown to this file")
    ap.add_argument("--from-json", help="print (and --markdown) the tables of an earlier --json file; run nothing")
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
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        render(saved["results"], console)
        if args.markdown:
            write_markdown(args.markdown, saved["info"], saved["results"])
        return 0
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
            "versions": versions(), "git": git_rev(), "quick": args.quick, "seed": args.seed, "timeout_s": args.timeout}
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
        write_markdown(args.markdown, info, results)
    return 1 if mismatches else 0


def write_markdown(path, info, results):
    with open(path, "w") as f:
        f.write(f"Measured {info['date']}, {info['cores']} cores, {info['machine']}, Python {info['python']}; "
                + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
                + (f"; DFL at {info['git']}" if info.get("git") else "") + "\n\n")
        f.write(markdown(results))


if __name__ == "__main__":
    sys.exit(main())
