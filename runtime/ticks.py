"""Ticks (LANGUAGE.md §8): run one tick's plan again and again until quiescence.

Between ticks: a table's next state is (its rows at the end of the tick − rows deleted) ∪
rows inserted by `next` (insertion wins); a non-table relation's `next` rows become its
`deferred` source in the next tick; channel messages arrive at the tick their file gives.
The run stops after tick t when tick t+1 would see exactly the inputs tick t saw (no
message pending, the same rows deferred, no table changed), or at the tick limit.
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

    def tick_inputs(t: int) -> dict[tuple[str, str], list[tuple]]:
        ins = dict(base)
        for rel, rows in state.items():
            ins[("state", rel)] = list(rows)
        msgs = arrivals.pop(t, {})
        for rel, rows in deferred.items():
            if decls[rel].storage == "channel":
                msgs.setdefault(rel, []).extend(rows)
            else:
                ins[("deferred", rel)] = rows
        for rel, rows in msgs.items():
            ins[("channel", rel)] = rows
        return ins

    t = 0
    current = tick_inputs(0)
    while True:
        result = plan.run(current)
        for k, v in result.stats.items():
            stats[k] = stats.get(k, 0) + v
        if each_tick:
            per_tick.append(result.sinks)
        new_state = {}
        for rel, rows in state.items():
            kept = set(result.persists.get(rel, rows)) - set(result.defers.get((rel, "delete"), ()))
            new_state[rel] = kept | set(result.defers.get((rel, "insert"), ()))
        state = new_state
        deferred = {rel: rows for (rel, mode), rows in result.defers.items()
                    if mode == "insert" and rel not in state and rows}
        t += 1
        following = tick_inputs(t)
        # quiescent: the next tick would see exactly what this one saw, and so would every
        # tick after it (no message is due later), so its outputs would be this tick's
        quiet = not arrivals and _same(following, current)
        if quiet or t >= limit:
            return TickRun(result.sinks, t, quiet, per_tick, stats)
        current = following


def _same(a: dict[tuple[str, str], list[tuple]], b: dict[tuple[str, str], list[tuple]]) -> bool:
    keys = {k for k, v in a.items() if v} | {k for k, v in b.items() if v}
    # the same object both ticks (the run's inputs, or a file the workers read) is the same rows
    return all(a.get(k) is b.get(k) or set(a.get(k, ())) == set(b.get(k, ())) for k in keys)
