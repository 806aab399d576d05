#!/usr/bin/env python
"""The worker pool (issue 4): speedup of 2 workers over 1, bytes exchanged by the placed
plan against the naive plan, and the autoscaler's reaction to a step load.

    python benchmarks/pool.py [--quick] [--json FILE] [--seed 0]

1. Speedup, on group-by (count + sum per key) and transitive closure: the one-process
   `prog.run()`, then `prog.run(workers=1, pool=pool1)` and `prog.run(workers=2,
   pool=pool2)` on pools created once and warmed up by one run; best of 3 each. The rows
   are Python tuples built from seeded numpy data before timing (`Program.run` takes
   rows). Where the time goes: the driver's phases are timed by wrapping the functions
   that do them (validating the Python rows, placement, encoding + splitting the inputs,
   shipping them, the stages on the workers, collecting + decoding the outputs, the
   quiescence check, sorting the outputs), and the workers' cpu seconds are summed from
   the run's statistics (`res.dist.plan.stats.workers`: operator time inside the workers).
2. Bytes exchanged on the join workload at 2 partitions, placed plan (the cost model's
   choice) against the naive plan (every join input hashed on its key): the placement's
   estimate (`moved_bytes`) and what the run measured (`plan.stats.exchanged_bytes`);
   both plans' rows are checked against the one-process `prog.run()`.
3. The autoscaler: a LocalPool with Policy(min 0, max 2, idle 0.5 s, zero after 1.0 s,
   cooldown 0.1 s) starts at 0 workers; at the step, K threads each run the group-by
   program (small input) on it in a loop for a few seconds. Measured: step -> first
   scale-up decision, -> 2 workers alive, -> first run finished; load end -> scale to 0.
   The fork server is already up (parts 1-2 started it), as in a long-lived driver.
"""
from __future__ import annotations

import argparse
import datetime
import functools
import gc
import json
import os
import platform
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import dfl  # noqa: E402

TARGET_SPEEDUP = 1.6


# ============================================================================ phase timing
class Phases:
    """Wraps the driver's functions so one run's time splits into phases (seconds, summed
    over calls; a wrapped call inside another counts for itself only, so the phases add
    up). Single-threaded runs only; a call costs two perf_counter reads."""

    def __init__(self) -> None:
        import dfl.api as api
        import dfl.runtime.session as session
        import dfl.runtime.ticks as ticks
        from dfl.backends.cpu.plan import CpuPlan
        from dfl.runtime.dist.partitioned import PartitionedPlan
        from dfl.runtime.pools.pool import LocalPool

        self.times: dict[str, float] = {}
        self._stack: list[list] = []  # [label, time spent in wrapped calls inside it]
        self._targets = [
            (api, "validate_rows", "validate Python rows"),
            (session, "placement", "placement"),
            (PartitionedPlan, "_split_sources", "encode + split inputs"),
            (PartitionedPlan, "_prepare", "ship inputs to workers"),
            (LocalPool, "answers", "stages on workers (incl. IPC)"),
            (PartitionedPlan, "_merged", "collect outputs (map, concatenate)"),
            (PartitionedPlan, "_result", "decode outputs to rows"),
            (CpuPlan, "run", "execute tick (one process)"),
            (ticks, "_same", "quiescence check"),
            (api, "sort_rows", "sort outputs"),
        ]
        self._saved: list[tuple[object, str, object]] = []

    def _wrap(self, fn, label):
        times, stack = self.times, self._stack

        @functools.wraps(fn)
        def timed(*a, **k):
            t = time.perf_counter()
            stack.append([label, 0.0])
            try:
                return fn(*a, **k)
            finally:
                spent = time.perf_counter() - t
                _, inner = stack.pop()
                times[label] = times.get(label, 0.0) + spent - inner
                if stack:
                    stack[-1][1] += spent
        return timed

    def __enter__(self) -> "Phases":
        for owner, name, label in self._targets:
            fn = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
            self._saved.append((owner, name, fn))
            setattr(owner, name, self._wrap(fn, label))
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, fn in reversed(self._saved):
            setattr(owner, name, fn)
        self._saved.clear()


def timed_run(fn, repeat: int, keep):
    """One warm-up call, then the best of `repeat` (gc.collect() before each, and results
    dropped at once, so no run pays for collecting an earlier run's rows): (best s, all
    times, phases of the best, keep(result of the best))."""
    r = fn()
    del r
    best = None
    times = []
    for _ in range(repeat):
        gc.collect()
        with Phases() as ph:
            t = time.perf_counter()
            r = fn()
            el = time.perf_counter() - t
        times.append(el)
        if best is None or el < best[0]:
            best = (el, dict(ph.times), keep(r))
        del r
    return best[0], times, best[1], best[2]


def digest(rows: list[tuple]) -> tuple[int, int]:
    return len(rows), hash(tuple(rows))


def worker_cpu(res) -> float:
    return sum(cpu for _calls, cpu in res.dist.plan.stats.workers.values())


# ============================================================================ data
def groupby_rows(rows: int, keys: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    i = rng.permutation(rows).astype(np.int64)
    k = rng.integers(0, keys, rows, dtype=np.int64)
    v = rng.integers(0, 1000, rows, dtype=np.int64)
    return list(zip(i.tolist(), k.tolist(), v.tolist()))


def tc_rows(nodes: int, edges: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, nodes, edges, dtype=np.int64)
    b = rng.integers(0, nodes, edges, dtype=np.int64)
    return list(zip(a.tolist(), b.tolist()))


def join_rows(nf: int, nd: int, seed: int) -> tuple[list[tuple], list[tuple]]:
    rng = np.random.default_rng(seed)
    keys = rng.choice(10 * nd, nd, replace=False).astype(np.int64)
    c = rng.integers(0, 1000, nd, dtype=np.int64)
    w = rng.integers(0, 100, nd, dtype=np.int64)
    fd = keys[rng.integers(0, nd, nf)]
    fv = rng.integers(0, 1000, nf, dtype=np.int64)
    fact = list(zip(range(nf), fd.tolist(), fv.tolist()))
    dim = list(zip(keys.tolist(), c.tolist(), w.tolist()))
    return fact, dim


def jw_columns(nf: int, nd: int, rng) -> dict[str, list]:
    """The join workload's inputs as columns (join_rows' distribution)."""
    keys = rng.choice(10 * nd, nd, replace=False).astype(np.int64)
    return {"fact": [np.arange(nf), keys[rng.integers(0, nd, nf)], rng.integers(0, 1000, nf)],
            "dim": [keys, rng.integers(0, 1000, nd), rng.integers(0, 100, nd)]}


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# ============================================================================ 4. schedules
SKEWED_SRC = """
input a(x: int, y: int)
input b(y: int, z: int)
input c(x: int, y: int)
input e(y: int, z: int)
input f(z: int, w: int)
output ra(x: int, z: int)
output rb(x: int, w: int)
ra(x, z) :- a(x, y), b(y, z), x % 1000 = z % 1000.
rb(x, w) :- c(x, y), e(y, z), f(z, w), x % 1000 = w % 1000.
"""


def skewed_columns(n: int, seed: int) -> dict[str, list]:
    """Two independent rules, each with its heavy join on another partition (of 2) and at
    another stage: `ra`'s join runs where the first partition's `y` values hash, before
    any exchange; `rb`'s second join where the second partition's `z` values hash, after
    one. In stages the two add up; pipelined, the second starts when its rows exist."""
    from dfl.backends.columnar.table import Table
    from dfl.ir.types import Type
    from dfl.runtime.dist.batches import partition_of

    def owned_by(k: int, part: int) -> np.ndarray:
        v = np.arange(k * 4, dtype=np.int64)
        return v[partition_of(Table([v], len(v)), (0,), [Type.INT], None, 2) == part][:k]

    rng = np.random.default_rng(seed)
    y0, y1, z1 = owned_by(2000, 0), owned_by(2000, 1), owned_by(2000, 1)
    return {"a": [np.arange(n), rng.choice(y0, n)], "b": [rng.choice(y0, n // 2), np.arange(n // 2)],
            "c": [np.arange(n), rng.choice(y1, n)], "e": [rng.choice(y1, n // 20), rng.choice(z1, n // 20)],
            "f": [rng.choice(z1, n // 20), np.arange(n // 20)]}


def schedules(cases: list[tuple[str, str, str, dict]], repeat: int, log) -> list[dict]:
    """Each workload on 2 workers (one kernel thread each, run_columns), with the
    bulk-synchronous schedule (a barrier at every exchange) and the pipelined one."""
    from dfl.runtime.pools.pool import LocalPool

    out = []
    for name, label, src, columns in cases:
        prog = dfl.compile(src)

        def rows_of(r) -> dict:
            return {rel: len(next(iter(v.values()))) if v else 0 for rel, v in r.items()}

        ref = prog.run_columns(**columns)
        res: dict = {"workload": name, "config": label}
        with LocalPool(2, threads_per_worker=1) as pool:
            for sched in ("stages", "pipelined"):
                log(f"[4] {name} [{label}]: 2 workers, schedule {sched} ...")
                prog.run_columns(workers=2, pool=pool, schedule=sched, **columns)  # warm
                best, _, _, k = timed_run(lambda: prog.run_columns(workers=2, pool=pool, schedule=sched, **columns),
                                          repeat, rows_of)
                assert k == rows_of(ref), f"{name}: schedule {sched} gave other row counts"
                res[f"{sched}_s"] = best
        res["pipelined_over_stages"] = res["stages_s"] / res["pipelined_s"]
        out.append(res)
    return out


# ============================================================================ 1. speedup
def speedup(name: str, label: str, src: str, rows: dict[str, list[tuple]], repeat: int, log) -> dict:
    from dfl.runtime.pools.pool import LocalPool

    prog = dfl.compile(src)
    out_rel = next(iter(prog.outputs))
    load_before = loadavg()
    log(f"[1] {name} [{label}]: one process ...")
    one_s, one_times, one_ph, ref = timed_run(lambda: prog.run(**rows), repeat,
                                              lambda r: digest(r[out_rel]))
    res: dict = {"workload": name, "config": label, "output_rows": ref[0],
                 "one_process": {"best_s": one_s, "times_s": one_times, "phases_s": one_ph}}
    for w in (1, 2):
        log(f"[1] {name} [{label}]: {w} worker(s) ...")
        with LocalPool(w) as pool:
            def keep(r):
                st = r.dist.plan.stats
                return {"digest": digest(r[out_rel]), "dist_wall_s": r.dist.wall_s, "plan_wall_s": st.wall_s,
                        "worker_cpu_s": worker_cpu(r), "workers_seen": r.dist.workers_seen,
                        "exchanged_bytes": st.exchanged_bytes, "input_bytes": st.input_bytes,
                        "output_bytes": st.output_bytes, "ticks": st.ticks}
            best, times, ph, k = timed_run(lambda: prog.run(workers=w, pool=pool, **rows), repeat, keep)
            assert k.pop("digest") == ref, f"{name}: {w} workers gave other rows than one process"
            res[f"workers_{w}"] = {"best_s": best, "times_s": times, "phases_s": ph, **k}
    w1, w2 = res["workers_1"], res["workers_2"]
    res["speedup_2_over_1"] = w1["best_s"] / w2["best_s"]
    res["speedup_2_over_one_process"] = one_s / w2["best_s"]
    # the part that the second worker can split: the stages on the workers
    s1 = w1["phases_s"].get("stages on workers (incl. IPC)", 0.0)
    s2 = w2["phases_s"].get("stages on workers (incl. IPC)", 0.0)
    res["stages_speedup_2_over_1"] = s1 / s2 if s2 else None
    res["stages_share_of_wall_1"] = s1 / w1["best_s"]
    res["loadavg_before"], res["loadavg_after"] = load_before, loadavg()
    return res


def speedup_columns(name: str, label: str, src: str, columns: dict[str, list], repeat: int, log) -> dict:
    """The same comparison on columns (`run_columns`: no Python rows on the driver, batches
    through shared memory), with one kernel thread per worker: the scaling of the pool
    itself, a worker being the unit of compute (one core) as a FaaS instance is."""
    from dfl.runtime.pools.pool import LocalPool

    prog = dfl.compile(src)
    out_rel = next(iter(prog.outputs))

    def rows_of(r) -> int:
        return len(next(iter(r[out_rel].values())))

    prog.run_columns(**columns)
    res: dict = {"workload": name, "config": label}
    one, _, _, n = timed_run(lambda: prog.run_columns(**columns), repeat, rows_of)
    res["one_process_s"], res["output_rows"] = one, n
    for w in (1, 2):
        log(f"[1b] {name} [{label}]: run_columns on {w} worker(s), 1 thread each ...")
        with LocalPool(w, threads_per_worker=1) as pool:
            prog.run_columns(workers=w, pool=pool, **columns)  # warm: workers load the kernels
            best, _, _, k = timed_run(lambda: prog.run_columns(workers=w, pool=pool, **columns), repeat, rows_of)
            assert k == n, f"{name}: {w} workers gave {k} rows, one process {n}"
            res[f"workers_{w}_s"] = best
    res["speedup_2_over_1"] = res["workers_1_s"] / res["workers_2_s"]
    return res


def speedup_files(name: str, label: str, src: str, files: dict[str, str], repeat: int, log) -> dict:
    """`prog.run(input_dir=...)`: on the pool each worker reads and parses its part of the
    input file (runtime/io/file_inputs.py), so nothing goes through the driver; one kernel
    thread per worker, as in 1b."""
    import tempfile

    from dfl.runtime.pools.pool import LocalPool

    prog = dfl.compile(src)
    out_rel = next(iter(prog.outputs))
    with tempfile.TemporaryDirectory(prefix="dfl-pool-bench-") as d:
        for rel, text in files.items():
            with open(os.path.join(d, f"{rel}.csv"), "w", encoding="utf-8") as f:
                f.write(text)
        res: dict = {"workload": name, "config": label}
        one, _, _, ref = timed_run(lambda: prog.run(input_dir=d), repeat, lambda r: digest(r[out_rel]))
        res["one_process_s"] = one
        for w in (1, 2):
            log(f"[1c] {name} [{label}]: input files read by {w} worker(s) ...")
            with LocalPool(w, threads_per_worker=1) as pool:
                best, _, _, k = timed_run(lambda: prog.run(input_dir=d, workers=w, pool=pool), repeat,
                                          lambda r: digest(r[out_rel]))
                assert k == ref, f"{name}: {w} workers gave other rows than one process"
                res[f"workers_{w}_s"] = best
    res["speedup_2_over_1"] = res["workers_1_s"] / res["workers_2_s"]
    return res


def _csv(header: str, cols: list) -> str:
    return header + "\n" + "\n".join(",".join(map(str, r)) for r in zip(*[c.tolist() for c in cols])) + "\n"


# ============================================================================ 2. bytes exchanged
def exchanged(label: str, fact: list[tuple], dim: list[tuple], log) -> dict:
    from workloads import join as join_wl

    from dfl.compiler.cost import CostModel
    from dfl.compiler.placement import placement
    from dfl.runtime.dist.partitioned import PartitionedPlan
    from dfl.runtime.pools.pool import LocalPool
    from dfl.runtime.ticks import run_ticks

    prog = dfl.compile(join_wl.DFL_SRC)
    log(f"[2] join [{label}]: one process, placed and naive plans on 2 workers ...")
    ref = prog.run(fact=fact, dim=dim)["agg"]
    parts = 2
    cost = CostModel(rows={"fact": len(fact), "dim": len(dim)})
    out: dict = {"workload": "join", "config": label, "partitions": parts, "output_rows": len(ref)}
    with LocalPool(parts) as pool:
        via_api = prog.run(workers=parts, pool=pool, fact=fact, dim=dim)
        out["api_same_rows"] = via_api["agg"] == ref
        for kind, naive in (("placed", False), ("naive", True)):
            placed = placement(prog.graph, parts, cost, naive=naive)
            exchanges = [n for n in placed.graph.nodes if n.op == "exchange"]
            walls = []
            for _ in range(2):  # the first also warms the workers up for this graph
                plan = PartitionedPlan(placed.graph, pool, parts)
                t = time.perf_counter()
                run = run_ticks(prog.graph, plan, {"fact": fact, "dim": dim})
                walls.append(time.perf_counter() - t)
            rows = sorted(run.outputs.get("agg", []))
            out[kind] = {
                "estimated_bytes": placed.moved_bytes, "measured_bytes": plan.stats.exchanged_bytes,
                "exchanges": [f"{n.attr('mode')}{list(n.attr('keys') or [])}" for n in exchanges],
                "same_rows": rows == sorted(ref), "wall_s": min(walls),
                "notes": [x.text for x in placed.notes if x.moved_bytes]}
        out["api_estimated_bytes"] = via_api.dist.placed.moved_bytes
        out["api_measured_bytes"] = via_api.dist.plan.stats.exchanged_bytes
    p, n = out["placed"], out["naive"]
    for what in ("measured", "estimated"):
        a, b = n[f"{what}_bytes"], p[f"{what}_bytes"]
        out[f"{what}_ratio_naive_over_placed"] = a / b if b else None
    return out


# ============================================================================ 3. autoscaler
def autoscaler(threads: int, load_s: float, rows: list[tuple], log) -> dict:
    from workloads import groupby as gb

    from dfl.runtime.pools.autoscale import Policy
    from dfl.runtime.pools.pool import LocalPool

    prog = dfl.compile(gb.DFL_SRC)
    prog.run(fact=rows)  # kernels loaded in this process; the fork server is up from parts 1-2
    policy = Policy(min_workers=0, max_workers=2, idle_s=0.5, zero_after_s=1.0, cooldown_s=0.1)
    log(f"[3] autoscaler: {threads} threads x {load_s:.1f} s of group-by runs ({len(rows):,} rows) ...")
    pool = LocalPool(policy=policy)
    timeline: list[tuple[float, int, int]] = []  # (t, size, waiting)
    stop_watch = threading.Event()

    def watch() -> None:
        while not stop_watch.is_set():
            timeline.append((time.monotonic(), pool.size(), pool.waiting))
            time.sleep(0.005)

    finished: list[tuple[float, float]] = []  # (end time, latency)
    errors: list[BaseException] = []
    flock = threading.Lock()

    def load(deadline: float) -> None:
        while time.monotonic() < deadline:
            t = time.monotonic()
            try:
                prog.run(workers=2, pool=pool, fact=rows)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
                return
            with flock:
                finished.append((time.monotonic(), time.monotonic() - t))

    try:
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        time.sleep(0.3)  # a quiet start: the pool stays at 0
        size_before = pool.size()
        step = time.monotonic()
        ts = [threading.Thread(target=load, args=(step + load_s,), daemon=True) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        end = time.monotonic()  # the last run finished: no work from here on
        deadline = end + 6.0
        while pool.size() > 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)
        stop_watch.set()
        watcher.join()
    finally:
        pool.close()
    if errors:
        raise errors[0]
    decisions = [d for d in pool.stats.decisions]
    ups = [d for d in decisions if d.after > d.before and d.at >= step]
    first_up = ups[0].at - step if ups else None
    at_two = next((t - step for t, n, _ in timeline if t >= step and n >= 2), None)
    first_done = min(e for e, _ in finished) - step if finished else None
    zero_dec = next((d.at - end for d in decisions if d.at >= end and d.after == 0), None)
    at_zero = next((t - end for t, n, _ in timeline if t >= end and n == 0), None)
    lat = sorted(x for _, x in finished)
    return {
        "policy": {"min_workers": 0, "max_workers": 2, "idle_s": 0.5, "zero_after_s": 1.0, "cooldown_s": 0.1},
        "threads": threads, "load_s": load_s, "rows_per_run": len(rows), "size_before_step": size_before,
        "step_to_first_scale_up_s": first_up, "step_to_2_workers_s": at_two,
        "step_to_first_run_done_s": first_done, "load_end_to_scale_to_0_decision_s": zero_dec,
        "load_end_to_0_workers_s": at_zero, "load_duration_s": end - step, "runs_done": len(finished),
        "run_latency_median_s": lat[len(lat) // 2] if lat else None,
        "run_latency_max_s": lat[-1] if lat else None,
        "pool": {"started": pool.stats.started, "stopped": pool.stats.stopped,
                 "held_worker_s": pool.stats.held_s, "busy_worker_s": pool.stats.busy_s},
        "decisions": [{"t_from_step_s": d.at - step, "t_from_load_end_s": d.at - end, "before": d.before,
                       "after": d.after, "reason": d.reason} for d in decisions],
        "loadavg_after": loadavg(),
    }


# ============================================================================ report
def fmt(x, spec=".3f", none="–"):
    return none if x is None else format(x, spec)


def report(out: dict, con) -> None:
    from rich.table import Table

    t = Table(title=f"1. Speedup of 2 workers over 1 (best of {out['repeat']}, wall s of prog.run; "
                    f"{os.cpu_count()} cores)")
    for col, j in (("workload", "left"), ("one process", "right"), ("1 worker", "right"), ("2 workers", "right"),
                   ("2 vs 1", "right"), ("2 vs 1-proc", "right"), ("stages 1w", "right"), ("stages 2w", "right"),
                   ("worker cpu 1w", "right"), ("worker cpu 2w", "right"), ("bytes exchanged 2w", "right")):
        t.add_column(col, justify=j)
    for r in out["speedup"]:
        w1, w2 = r["workers_1"], r["workers_2"]
        st = "stages on workers (incl. IPC)"
        t.add_row(f"{r['workload']} [{r['config']}]", fmt(r["one_process"]["best_s"]), fmt(w1["best_s"]),
                  fmt(w2["best_s"]), f"{r['speedup_2_over_1']:.2f}x", f"{r['speedup_2_over_one_process']:.2f}x",
                  fmt(w1["phases_s"].get(st)), fmt(w2["phases_s"].get(st)), fmt(w1["worker_cpu_s"]),
                  fmt(w2["worker_cpu_s"]), f"{w2['exchanged_bytes']:,}")
    con.print(t)
    for r in out["speedup"]:
        p = Table(title=f"where the time goes: {r['workload']} [{r['config']}] (s, best run)")
        p.add_column("phase")
        for col in ("one process", "1 worker", "2 workers"):
            p.add_column(col, justify="right")
        cols = [r["one_process"], r["workers_1"], r["workers_2"]]
        labels = []
        for c in cols:
            labels += [k for k in c["phases_s"] if k not in labels]
        for k in labels:
            p.add_row(k, *[fmt(c["phases_s"].get(k)) for c in cols])
        p.add_row("other (pool lease, tick loop, Python)",
                  *[fmt(c["best_s"] - sum(c["phases_s"].values())) for c in cols])
        p.add_row("total", *[fmt(c["best_s"]) for c in cols])
        con.print(p)

    for key, title, first in (
            ("speedup_columns", "1b. Speedup on columns (run_columns, shared memory)", "one process (all cores)"),
            ("speedup_files", "1c. Speedup with the input file read by the workers (prog.run(input_dir=...))",
             "one process")):
        t = Table(title=f"{title}, one kernel thread per worker (best of {out['repeat']}, s)")
        for col in ("workload", first, "1 worker", "2 workers", "2 vs 1"):
            t.add_column(col, justify="left" if col == "workload" else "right")
        for r in out.get(key, []):
            t.add_row(f"{r['workload']} [{r['config']}]", fmt(r["one_process_s"]), fmt(r["workers_1_s"]),
                      fmt(r["workers_2_s"]), f"{r['speedup_2_over_1']:.2f}x")
        con.print(t)

    j = out["exchanged"]
    b = Table(title=f"2. Bytes exchanged, join [{j['config']}], {j['partitions']} partitions")
    for col, jj in (("plan", "left"), ("exchanges", "left"), ("estimated bytes", "right"),
                    ("measured bytes", "right"), ("same rows as prog.run()", "left"), ("wall s", "right")):
        b.add_column(col, justify=jj)
    for kind in ("placed", "naive"):
        x = j[kind]
        b.add_row(kind, ", ".join(x["exchanges"]), f"{x['estimated_bytes']:,}", f"{x['measured_bytes']:,}",
                  str(x["same_rows"]), fmt(x["wall_s"]))
    b.add_row("naive / placed", "", fmt(j["estimated_ratio_naive_over_placed"], ".1f") + "x",
              fmt(j["measured_ratio_naive_over_placed"], ".1f") + "x", "", "")
    con.print(b)

    t = Table(title=f"4. Pipelined against bulk-synchronous stages: 2 workers, one kernel thread each, "
                    f"run_columns (best of {out['repeat']}, s)")
    for col in ("workload", "stages", "pipelined", "stages / pipelined"):
        t.add_column(col, justify="left" if col == "workload" else "right")
    for r in out.get("schedules", []):
        t.add_row(f"{r['workload']} [{r['config']}]", fmt(r["stages_s"]), fmt(r["pipelined_s"]),
                  f"{r['pipelined_over_stages']:.2f}x")
    con.print(t)

    a = out["autoscaler"]
    s = Table(title=f"3. Autoscaler step load: {a['threads']} threads x {a['load_s']} s, "
                    f"{a['rows_per_run']:,} rows per run, Policy(0..2, idle 0.5 s, zero after 1.0 s, cooldown 0.1 s)")
    s.add_column("measure")
    s.add_column("s", justify="right")
    for k, lab in (("step_to_first_scale_up_s", "step -> first scale-up decision"),
                   ("step_to_2_workers_s", "step -> 2 worker processes alive"),
                   ("step_to_first_run_done_s", "step -> first run finished"),
                   ("load_end_to_scale_to_0_decision_s", "load end -> scale-to-0 decision"),
                   ("load_end_to_0_workers_s", "load end -> 0 workers"),
                   ("run_latency_median_s", "run latency, median"),
                   ("run_latency_max_s", "run latency, max")):
        s.add_row(lab, fmt(a[k]))
    s.add_row("runs finished during the load", str(a["runs_done"]))
    con.print(s)
    d = Table(title="autoscaler decisions")
    for col, jj in (("t from step s", "right"), ("t from load end s", "right"), ("size", "left"),
                    ("reason", "left")):
        d.add_column(col, justify=jj)
    for x in a["decisions"]:
        d.add_row(fmt(x["t_from_step_s"]), fmt(x["t_from_load_end_s"]), f"{x['before']} -> {x['after']}",
                  x["reason"])
    con.print(d)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (well under a minute)")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from rich.console import Console

    con = Console(width=160)

    def log(msg: str) -> None:
        con.print(f"[dim]{msg}[/dim]")

    t0 = time.perf_counter()
    q = args.quick
    repeat = 3
    gb_cfg = (200_000, 2_000) if q else (1_000_000, 10_000)
    tc_cfg = (1_000, 3_000) if q else (2_000, 6_000)
    join_cfg = (50_000, 2_500) if q else (200_000, 10_000)
    out: dict = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "quick": q, "seed": args.seed,
                 "repeat": repeat, "cpus": os.cpu_count(), "python": platform.python_version(),
                 "loadavg_start": loadavg()}

    from workloads import groupby as gb
    from workloads import tc

    gb_rows = groupby_rows(*gb_cfg, args.seed)
    tc_edges = tc_rows(*tc_cfg, args.seed)
    out["speedup"] = [
        speedup("groupby", f"{gb_cfg[0]:,} rows / {gb_cfg[1]:,} keys", gb.DFL_SRC, {"fact": gb_rows}, repeat, log),
        speedup("tc", f"{tc_cfg[0]:,} nodes / {tc_cfg[1]:,} edges", tc.DFL_SRC, {"edge": tc_edges}, repeat, log),
    ]
    del gb_rows, tc_edges
    rng = np.random.default_rng(args.seed)
    cols_cfg = [("groupby", (1_000_000, 10_000) if q else (10_000_000, 100_000)),
                ("tc", (1_000, 3_000) if q else (5_000, 10_000))]
    out["speedup_columns"] = []
    for name, (a, b) in cols_cfg:
        if name == "groupby":
            cols = {"fact": [rng.permutation(a).astype(np.int64), rng.integers(0, b, a), rng.integers(0, 1000, a)]}
            src, label = gb.DFL_SRC, f"{a:,} rows / {b:,} keys"
        else:
            cols = {"edge": [rng.integers(0, a, b), rng.integers(0, a, b)]}
            src, label = tc.DFL_SRC, f"{a:,} nodes / {b:,} edges"
        out["speedup_columns"].append(speedup_columns(name, label, src, cols, repeat, log))
        del cols
    n, keys = (200_000, 2_000) if q else (1_000_000, 10_000)
    gb_text = _csv("id,k,v", [rng.permutation(n), rng.integers(0, keys, n), rng.integers(0, 1000, n)])
    out["speedup_files"] = [speedup_files("groupby", f"{n:,} rows / {keys:,} keys, CSV", gb.DFL_SRC,
                                          {"fact": gb_text}, repeat, log)]
    del gb_text
    fact, dim = join_rows(*join_cfg, args.seed)
    out["exchanged"] = exchanged(f"{join_cfg[0]:,} fact / {join_cfg[1]:,} dim", fact, dim, log)
    del fact, dim
    from workloads import join as jw

    nf, nd = join_cfg
    skew_n = 100_000 if q else 400_000
    tc_n = (1_000, 3_000) if q else (5_000, 10_000)
    out["schedules"] = schedules([
        ("skewed branches", f"{skew_n:,} rows, heavy joins on different partitions and stages", SKEWED_SRC,
         skewed_columns(skew_n, args.seed)),
        ("join", f"{nf:,} fact / {nd:,} dim", jw.DFL_SRC, jw_columns(nf, nd, rng)),
        ("tc", f"{tc_n[0]:,} nodes / {tc_n[1]:,} edges", tc.DFL_SRC,
         {"edge": [rng.integers(0, tc_n[0], tc_n[1]), rng.integers(0, tc_n[0], tc_n[1])]}),
    ], repeat, log)
    small = groupby_rows(2_000, 200, args.seed)
    out["autoscaler"] = autoscaler(threads=4, load_s=2.0 if q else 3.0, rows=small, log=log)
    out["total_s"] = time.perf_counter() - t0
    out["loadavg_end"] = loadavg()

    report(out, con)
    con.print(f"load average start {out['loadavg_start']}, end {out['loadavg_end']}; "
              f"total {out['total_s']:.1f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
