"""Ticks (LANGUAGE.md §8): run one tick's plan again and again until quiescence.

Between ticks: a table's next state is (its rows at the end of the tick − rows deleted) ∪
rows inserted by `next` (insertion wins); a non-table relation's `next` rows become its
`deferred` source in the next tick; channel messages arrive at the tick their file gives.
The run stops after tick t when no message is pending, nothing is deferred and no table
changed, or when the tick limit is reached.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from dfl.backends.base import Plan
from dfl.ir.graph import Graph

DEFAULT_MAX_TICKS = 10_000


@dataclass
class TickRun:
    outputs: dict[str, list[tuple]]  # the last tick's output relations
    ticks: int  # how many ticks ran
    quiescent: bool  # False when the tick limit stopped the run
    per_tick: list[dict[str, list[tuple]]] = field(default_factory=list)  # with each_tick
    stats: dict[str, int] = field(default_factory=dict)


def run_ticks(graph: Graph, plan: Plan, inputs: dict[str, list[tuple]],
              channels: dict[str, list[tuple]] | None = None, max_ticks: int | None = None,
              each_tick: bool = False) -> TickRun:
    """`inputs`: rows of input relations; `channels`: rows `(tick, *values)` of channel relations."""
    limit = DEFAULT_MAX_TICKS if max_ticks is None else max_ticks
    decls = {r.name: r for r in graph.relations}
    state: dict[str, set[tuple]] = {r.name: set(r.init) for r in graph.relations if r.storage == "table"}
    arrivals: dict[int, dict[str, list[tuple]]] = {}
    for rel, rows in (channels or {}).items():
        for row in rows:
            arrivals.setdefault(row[0], {}).setdefault(rel, []).append(tuple(row[1:]))
    deferred: dict[str, list[tuple]] = {}
    base = {("input", rel): rows for rel, rows in inputs.items()}
    per_tick: list[dict[str, list[tuple]]] = []
    stats: dict[str, int] = {}
    t = 0
    while True:
        tick_inputs = dict(base)
        for rel, rows in state.items():
            tick_inputs[("state", rel)] = list(rows)
        msgs = arrivals.pop(t, {})
        for rel, rows in deferred.items():
            if decls[rel].storage == "channel":
                msgs.setdefault(rel, []).extend(rows)
            else:
                tick_inputs[("deferred", rel)] = rows
        for rel, rows in msgs.items():
            tick_inputs[("channel", rel)] = rows
        result = plan.run(tick_inputs)
        for k, v in result.stats.items():
            stats[k] = stats.get(k, 0) + v
        if each_tick:
            per_tick.append(result.sinks)
        new_state = {}
        for rel, rows in state.items():
            kept = set(result.persists.get(rel, rows)) - set(result.defers.get((rel, "delete"), ()))
            new_state[rel] = kept | set(result.defers.get((rel, "insert"), ()))
        deferred = {rel: rows for (rel, mode), rows in result.defers.items()
                    if mode == "insert" and rel not in state and rows}
        changed = new_state != state
        state = new_state
        t += 1
        quiet = not arrivals and not deferred and not changed
        if quiet or t >= limit:
            return TickRun(result.sinks, t, quiet, per_tick, stats)
