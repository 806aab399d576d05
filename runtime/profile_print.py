"""`dfl run --stats` in one process: the profile (runtime/profile_report.profile_json's
document) as rich tables on stderr, busiest rules first, as Soufflé's profiler shows them."""
from __future__ import annotations

import json
from typing import Any

from dfl.errors import DflError

TOP_RULES = 25  # rows of the rule table; the JSON has them all
TOP_JOINS = 15
EDGE_ITERATIONS = 8  # a long fixpoint shows its first and last iterations


def write_json(data: dict[str, Any], path: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
    except OSError as e:  # checked before the run, but the disk may fill or the folder go
        raise DflError(f"cannot write --stats-json {path}: {e.strerror or e}", kind="output") from None


def _s(x: float) -> str:
    return f"{x:.4f}"


def _rows(x: int | None) -> str:
    return "" if x is None else f"{x:,}"


def print_profile(data: dict[str, Any], file=None, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    con = console or Console(file=file, stderr=file is None, width=140)
    wall = data["wall_s"] or 1e-9
    if data["mode"] == "partitions":  # summed over the workers' profiled calls: their busy time
        where = f"{data['target']}; the workers' profiled steps {data['wall_s']:.3f} s in all"
    else:
        where = f"{data['target']}; wall {data['wall_s']:.3f} s, operators {data['nodes_s']:.3f} s"
    t = Table(title=f"rules, busiest first ({where})")
    for col, just in (("s", "right"), ("%", "right"), ("line", "right"), ("derived", "right"), ("new", "right"),
                      ("in", "left"), ("rule", "left")):
        t.add_column(col, justify=just, overflow="fold" if col == "rule" else "ellipsis")
    for r in data["rules"][:TOP_RULES]:
        t.add_row(_s(r["seconds"]), f"{100 * r['seconds'] / wall:.1f}", str(r["line"]), _rows(r["derived"]),
                  _rows(r["new"]), f"fixpoint {r['scope']}" if r["scope"] else "", r["text"])
    con.print(t)
    joins = sorted(((r, j) for r in data["rules"] for j in r["joins"]), key=lambda x: -x[1]["seconds"])
    if joins:
        jt = Table(title="joins, busiest first (rows summed over calls)")
        for col in ("s", "line", "node", "op", "calls", "rows in", "rows out"):
            jt.add_column(col, justify="left" if col in ("node", "op") else "right")
        for r, j in joins[:TOP_JOINS]:
            jt.add_row(_s(j["seconds"]), str(r["line"]), j["node"], j["op"], str(j["calls"]),
                       " x ".join(f"{x:,}" for x in j["rows_in"]), f"{j['rows_out']:,}")
        con.print(jt)
    print_fixpoints(con, data["fixpoints"])
    if data["indexes"]:
        it = Table(title="index builds")
        for col in ("in", "kind", "builds", "rows", "s"):
            it.add_column(col, justify="left" if col in ("in", "kind") else "right")
        for x in data["indexes"]:
            it.add_row(f"fixpoint {x['scope']}" if x["scope"] else "top level", x["kind"], f"{x['builds']:,}",
                       f"{x['rows']:,}", _s(x["seconds"]))
        con.print(it)
    if data["strategies"]:
        con.print("strategies: " + "; ".join(f"{v['name']} x{v['count']}" for v in data["strategies"].values()))


def print_fixpoints(con, fixpoints: list[dict[str, Any]]) -> None:
    """Each fixpoint's strategy and its iterations: time and the new rows per relation."""
    from rich.table import Table

    for fx in fixpoints:
        its = fx["iterations"]
        head = f"fixpoint {fx['node']} (line {fx['line']}: {', '.join(fx['rels'])}): {fx['strategy']}"
        if "seconds" in fx:
            head += f", {fx['seconds']:.4f} s"
        if not its:
            con.print(head + " (no iterations: one kernel computed it)")
            continue
        ticks = any(it.get("run", 1) != 1 for it in its)  # one run per tick that reached it
        t = Table(title=f"{head}, {len(its)} iteration(s)" + (f" in {its[-1]['run']} runs" if ticks else ""))
        t.add_column("run.iteration" if ticks else "iteration", justify="right")
        t.add_column("s", justify="right")
        for rel in fx["rels"]:
            t.add_column(f"{rel} new", justify="right")
            if "derived" in its[0]:
                t.add_column(f"{rel} derived", justify="right")
        shown = its if len(its) <= 2 * EDGE_ITERATIONS else its[:EDGE_ITERATIONS] + [None] + its[-EDGE_ITERATIONS:]
        for it in shown:
            if it is None:
                t.add_row("...", f"({len(its) - 2 * EDGE_ITERATIONS} more)")
                continue
            cells = []
            for rel in fx["rels"]:
                cells.append(_rows(it["delta"].get(rel, 0)))
                if "derived" in it:
                    cells.append(_rows(it["derived"].get(rel, 0)))
            label = f"{it['run']}.{it['iteration']}" if ticks else str(it["iteration"])
            t.add_row(label, _s(it["seconds"]), *cells)
        con.print(t)
