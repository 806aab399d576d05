"""`dfl run --stats` / `--stats-json FILE`: what a run on the worker pool did, per operator
and per worker, and what a FaaS user would be billed for it; a fixpoint the partitions
iterate together (runtime/dist/partitioned.py) shows each round. A run in one process is
profiled instead (runtime/profile.py)."""
from __future__ import annotations

from typing import Any

from dfl.runtime.session import DistRun


def stats_json(d: DistRun, source: str | None = None) -> dict[str, Any]:
    """The pool's report; with a profile (--stats), the partitions' profiles summed under
    "profile" (`source`: the program's text, for the rules' lines)."""
    st, ps = d.plan.stats, d.pool_stats
    g = d.placed.graph
    ops = []
    for n in g.nodes:
        rin, rout, cpu = st.nodes.get(n.id, [0, 0, 0.0])
        send = st.nodes.get(n.id + ":send")
        ops.append({"node": n.id, "op": n.op, "dist": n.attr("dist"), "device": n.attr("device"),
                    "line": n.span.line if n.span else None, "rows_in": int(rin), "rows_out": int(rout),
                    "cpu_s": round(cpu + (send[2] if send else 0.0), 6)})
    workers = [{"pid": pid, "stage_calls": int(calls), "cpu_s": round(cpu, 6)}
               for pid, (calls, cpu) in sorted(st.workers.items())]
    fixpoints = []
    for nid, log in st.rounds.items():
        n = g.node(nid)
        fixpoints.append({"node": nid, "line": n.span.line if n.span else None, "rels": list(n.attr("rels")),
                          "strategy": "distributed semi-naive", "iterations": [
                              {"iteration": i + 1, "seconds": round(sec, 6), "delta": delta}
                              for i, (sec, delta) in enumerate(log)]})
    extra = {}
    if st.profile is not None:
        from dfl.runtime.profile_report import profile_json

        extra["profile"] = profile_json(st.profile, source, mode="partitions")
    return {
        **extra,
        "version": 1, "mode": "pool", "fixpoints": fixpoints,
        "partitions": d.placed.parts, "ticks": st.ticks, "wall_s": round(d.wall_s, 6),
        "bytes": {"exchanged": st.exchanged_bytes, "inputs_sent": st.input_bytes,
                  "outputs_collected": st.output_bytes, "estimated_by_placement": d.placed.moved_bytes},
        "workers": workers, "operators": ops, "retries": st.retries,
        "schedule": {"kind": st.schedule, "steps": st.steps, "waves": st.waves, "seals": st.seals,
                     "early_rows": st.early_rows},
        "pool": {"started": ps.started, "stopped": ps.stopped, "replaced": ps.replaced, "hung": ps.hung,
                 "held_worker_s": round(ps.held_s, 6), "busy_worker_s": round(ps.busy_s, 6),
                 "billed_worker_s": round(ps.billed_s, 3)},
        "autoscale": [{"at_s": round(x.at - ps.created, 3), "before": x.before, "after": x.after,
                       "reason": x.reason} for x in ps.decisions],
    }


def write_stats_json(d: DistRun, path: str, source: str | None = None) -> None:
    from dfl.runtime.profile_print import write_json

    write_json(stats_json(d, source), path)


def print_stats(d: DistRun, file=None, source: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    data = stats_json(d, source)
    con = Console(file=file, stderr=file is None, width=120)
    t = Table(title=f"operators ({data['partitions']} partitions, {data['ticks']} tick(s))")
    for col, just in (("node", "left"), ("op", "left"), ("line", "right"), ("placement", "left"),
                      ("rows in", "right"), ("rows out", "right"), ("cpu s", "right")):
        t.add_column(col, justify=just)
    for o in data["operators"]:
        t.add_row(o["node"], o["op"], str(o["line"] or ""), f"{o['dist']} {o['device']}", f"{o['rows_in']:,}",
                  f"{o['rows_out']:,}", f"{o['cpu_s']:.4f}")
    con.print(t)
    w = Table(title="workers")
    for col in ("pid", "stage calls", "cpu s"):
        w.add_column(col, justify="right")
    for x in data["workers"]:
        w.add_row(str(x["pid"]), str(x["stage_calls"]), f"{x['cpu_s']:.4f}")
    con.print(w)
    b, p = data["bytes"], data["pool"]
    con.print(f"bytes exchanged {b['exchanged']:,} (placement estimated {b['estimated_by_placement']:,}); "
              f"inputs sent {b['inputs_sent']:,}; outputs collected {b['outputs_collected']:,}")
    con.print(f"workers started {p['started']}, replaced {p['replaced']} ({p['hung']} hung), "
              f"retries {data['retries']}; "
              f"held {p['held_worker_s']:.3f} worker-s, busy {p['busy_worker_s']:.3f}, "
              f"billed {p['billed_worker_s']:.3f} worker-s (per call, rounded up to 1 ms); wall {data['wall_s']:.3f} s")
    sc = data["schedule"]
    if sc["kind"] == "pipelined":
        con.print(f"pipelined: {sc['steps']:,} steps in {sc['waves']:,} waves; {sc['early_rows']:,} rows emitted "
                  f"before their operator's inputs were complete; {sc['seals']:,} exchanges sealed (the waits)")
    else:
        con.print(f"stages: {sc['waves']:,} stages, a barrier after each ({sc['steps']:,} stage calls)")
    for x in data["autoscale"]:
        con.print(f"autoscale at {x['at_s']:.3f} s: {x['reason']}")
    from dfl.runtime.profile_print import print_fixpoints, print_profile

    print_fixpoints(con, data["fixpoints"])
    if "profile" in data:
        con.print("partitions' profiles, summed (seconds are CPU seconds over the workers):")
        print_profile(data["profile"], console=con)
