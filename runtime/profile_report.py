"""A run's profile (runtime/profile.Profile) as the `--stats-json` document (its schema:
runtime/profile.schema.json, documented in docs/profiling.md) and as the `--stats` tables.

Rules are the nodes sharing a source span; the busiest come first. A rule's `derived` rows
are those its last nodes output (the rows it hands to its relation's union, before dedup),
`new` the rows it was first to add to a recursive relation. Seconds are exclusive for rules
and nodes except a fixpoint's own, which covers its body (its `overhead_s` is the rest: the
merges into the relations, the loop; `profiler_s` is the profiler's own share)."""
from __future__ import annotations

from typing import Any

from dfl.errors import Span
from dfl.ir.graph import Graph
from dfl.runtime.profile import STRATEGIES, NodeStat, Profile

VERSION = 1
JOINS = ("join", "anti_join")


def span_text(span: Span | None, source: str | None) -> str:
    """The rule's source text on one line (whitespace runs collapsed)."""
    if span is None or source is None:
        return ""
    lines = source.splitlines()
    if span.line > len(lines):
        return ""
    if span.end_line == span.line:
        text = lines[span.line - 1][span.col - 1:span.end_col - 1]
    else:
        text = "\n".join([lines[span.line - 1][span.col - 1:], *lines[span.line:span.end_line - 1],
                          lines[span.end_line - 1][:span.end_col - 1] if span.end_line <= len(lines) else ""])
    return " ".join(text.split())


def _tops(g: Graph | None) -> set[str]:
    """Nodes that end their rule: none of their consumers carries the same span."""
    if g is None:
        return set()
    same: set[str] = set()
    for n in g.nodes:
        for i in n.inputs:
            if n.span is not None and g.node(i).span == n.span:
                same.add(i)
    return {n.id for n in g.nodes if n.span is not None and n.id not in same}


def _strategy(st: NodeStat | None, default: str = "") -> str:
    if st is None:
        return default
    for key in ("closures", "shortest_paths", "iterations"):
        if st.events.get(key):
            return STRATEGIES[key]
    return default


def _ops_of(p: Profile, st: NodeStat) -> list[str]:
    g = p.graphs.get(st.scope)
    if g is None:
        return [st.op]
    return [g.node(i).op for i in st.fused] if st.fused else [st.op]


def _node_json(p: Profile, st: NodeStat) -> dict[str, Any]:
    return {"node": st.node, "scope": st.scope or None, "op": st.op, "line": st.span.line if st.span else None,
            "calls": st.calls, "seconds": round(st.seconds, 6), "rows_in": st.rows_in, "rows_out": st.rows_out,
            "fused": list(st.fused), "events": dict(st.events)}


def profile_json(p: Profile, source: str | None, mode: str = "process") -> dict[str, Any]:
    """The document `--stats-json` writes for a run in one process (`mode` "process"), or
    the partitions' summed profiles inside the pool's ("partitions")."""
    tops = {scope: _tops(g) for scope, g in p.graphs.items()}
    news: dict[Span, int] = {}
    for fx in p.fixpoints.values():
        for span, c in fx.rule_new.items():
            news[span] = news.get(span, 0) + c
    rules: dict[Span, dict[str, Any]] = {}
    for st in p.nodes.values():
        if st.span is None or st.op == "fixpoint":
            continue
        r = rules.get(st.span)
        if r is None:
            r = rules[st.span] = {"line": st.span.line, "end_line": st.span.end_line,
                                  "text": span_text(st.span, source), "scope": st.scope or None, "seconds": 0.0,
                                  "calls": 0, "derived": 0, "new": news.get(st.span) if st.scope else None,
                                  "nodes": [], "joins": []}
        if st.scope:
            r["scope"] = st.scope  # a recursive rule's loop-invariant part may sit outside its loop
        r["seconds"] += st.seconds
        r["calls"] += st.calls
        r["nodes"].append(st.node)
        if st.node in tops.get(st.scope, ()):
            r["derived"] += st.rows_out
        ops = _ops_of(p, st)
        if any(op in JOINS for op in ops):
            r["joins"].append({"node": st.node, "op": st.op if st.op in JOINS else "+".join(ops),
                               "calls": st.calls, "rows_in": st.rows_in, "rows_out": st.rows_out,
                               "seconds": round(st.seconds, 6)})
    for r in rules.values():
        r["seconds"] = round(r["seconds"], 6)
    fixpoints = []
    for fx in p.fixpoints.values():
        st = p.nodes.get(("", fx.node))
        body = sum(b.seconds for b in p.nodes.values() if b.scope == fx.node)
        total = st.seconds if st else 0.0
        fixpoints.append({
            "node": fx.node, "line": fx.span.line if fx.span else None, "rels": list(fx.rels),
            "strategy": _strategy(st), "seconds": round(total, 6), "profiler_s": round(fx.profiler_s, 6),
            "overhead_s": round(max(total - body - fx.profiler_s, 0.0), 6),
            "runs": fx.runs, "seed": fx.seed,
            "iterations": [{"run": it.run, "iteration": it.number, "seconds": round(it.seconds, 6),
                            "derived": it.derived, "delta": it.delta} for it in fx.iterations]})
    strategies: dict[str, int] = {}
    for st in p.nodes.values():
        if not st.scope:  # a fixpoint's events already count its body's
            for k, v in st.events.items():
                strategies[k] = strategies.get(k, 0) + v
    return {
        "version": VERSION, "mode": mode, "target": p.target, "wall_s": round(p.wall_s, 6),
        "nodes_s": round(sum(st.seconds for st in p.nodes.values() if not st.scope), 6),
        "rules": sorted(rules.values(), key=lambda r: -r["seconds"]),
        "fixpoints": fixpoints,
        "indexes": [{"scope": scope or None, "kind": kind, "builds": ix.builds, "rows": ix.rows,
                     "seconds": round(ix.seconds, 6)} for (scope, kind), ix in p.indexes.items()],
        "strategies": {k: {"count": v, "name": STRATEGIES.get(k, k)} for k, v in strategies.items()},
        "operators": [_node_json(p, st) for st in p.nodes.values()],
    }
