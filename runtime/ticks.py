"""Ticks (LANGUAGE.md §8): run one tick's plan again and again until quiescence.

Between ticks: a table's next state is (its rows at the end of the tick − rows deleted) ∪
rows inserted by `next` (insertion wins); a non-table relation's `next` rows become its
`deferred` source in the next tick; channel messages arrive at the tick their file gives.
The run stops after tick t when tick t+1 would see exactly the inputs tick t saw (no
message pending, the same rows deferred, no table changed), or at the tick limit.

`tick_step` is one tick (inputs and state in, outputs and the next state out) and `Ticker`
drives the steps over a state store (runtime/state.py), one at a time, so a long-running
service can run a tick when its messages come; `run_ticks` is the loop of a one-shot run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from dfl.backends.base import InputKey, Plan, TickResult
from dfl.ir.graph import Graph
from dfl.runtime.state import MemoryStore, StateStore

DEFAULT_MAX_TICKS = 10_000


@dataclass
class TickRun:
    outputs: dict[str, list[tuple]]  # the last tick's output relations
    ticks: int  # how many ticks ran
    quiescent: bool  # False when the tick limit stopped the run
    per_tick: list[dict[str, list[tuple]]] = field(default_factory=list)  # with each_tick
    stats: dict[str, int] = field(default_factory=dict)
    tables: dict[str, set[tuple]] = field(default_factory=dict)  # each table's rows after the last tick


@dataclass
class Step:
    """One tick's outcome: what the plan produced, the tables' next rows, the rows deferred."""
    result: TickResult
    tables: dict[str, set[tuple]]
    deferred: dict[str, list[tuple]]


def tick_step(plan: Plan, inputs: dict[InputKey, list[tuple]], tables: dict[str, set[tuple]]) -> Step:
    """One tick on `inputs` (sources of every kind, the tables' rows among them) given the
    tables' rows before it: the outputs, each table's next rows, the deferred rows."""
    result = plan.run(inputs)
    nxt = {}
    for rel, rows in tables.items():
        kept = set(result.persists.get(rel, rows)) - set(result.defers.get((rel, "delete"), ()))
        nxt[rel] = kept | set(result.defers.get((rel, "insert"), ()))
    deferred = {rel: rows for (rel, mode), rows in result.defers.items()
                if mode == "insert" and rel not in nxt and rows}
    return Step(result, nxt, deferred)


class Ticker:
    """A program's ticks one at a time: `inputs()` for the coming tick, `step(inputs)` runs
    it and commits its state to the store."""

    def __init__(self, graph: Graph, plan: Plan, inputs: dict[str, list[tuple]],
                 channels: dict[str, list[tuple]] | None = None, store: StateStore | None = None) -> None:
        """`inputs`: rows of input relations; `channels`: rows `(tick, *values)` of channel relations."""
        self.plan = plan
        self.decls = {r.name: r for r in graph.relations}
        self.store = MemoryStore.initial(graph) if store is None else store
        self.arrivals: dict[int, dict[str, list[tuple]]] = {}
        for rel, rows in (channels or {}).items():
            for row in rows:
                self.arrivals.setdefault(row[0], {}).setdefault(rel, []).append(tuple(row[1:]))
        self.base = {("input", rel): rows for rel, rows in inputs.items()}
        self.tick = 0  # the coming tick's number: ticks run so far

    @property
    def pending(self) -> bool:
        """Messages due at a later tick than any asked for yet."""
        return bool(self.arrivals)

    def inputs(self) -> dict[InputKey, list[tuple]]:
        """What the coming tick sees: the run's inputs, the tables, the deferred rows and the
        messages due at it (taken from those pending)."""
        ins = dict(self.base)
        for rel, rows in self.store.tables().items():
            ins[("state", rel)] = list(rows)
        msgs = self.arrivals.pop(self.tick, {})
        for rel, rows in self.store.deferred().items():
            if self.decls[rel].storage == "channel":
                msgs.setdefault(rel, []).extend(rows)
            else:
                ins[("deferred", rel)] = rows
        for rel, rows in msgs.items():
            ins[("channel", rel)] = rows
        return ins

    def step(self, inputs: dict[InputKey, list[tuple]]) -> Step:
        s = tick_step(self.plan, inputs, self.store.tables())
        self.store.commit(s.tables, s.deferred)
        self.tick += 1
        return s


def run_ticks(graph: Graph, plan: Plan, inputs: dict[str, list[tuple]],
              channels: dict[str, list[tuple]] | None = None, max_ticks: int | None = None,
              each_tick: bool = False) -> TickRun:
    """`inputs`: rows of input relations; `channels`: rows `(tick, *values)` of channel relations."""
    limit = DEFAULT_MAX_TICKS if max_ticks is None else max_ticks
    ticker = Ticker(graph, plan, inputs, channels)
    per_tick: list[dict[str, list[tuple]]] = []
    stats: dict[str, int] = {}
    current = ticker.inputs()
    while True:
        result = ticker.step(current).result
        for k, v in result.stats.items():
            stats[k] = stats.get(k, 0) + v
        if each_tick:
            per_tick.append(result.sinks)
        following = ticker.inputs()
        # quiescent: the next tick would see exactly what this one saw, and so would every
        # tick after it (no message is due later), so its outputs would be this tick's
        quiet = not ticker.pending and _same(following, current)
        if quiet or ticker.tick >= limit:
            return TickRun(result.sinks, ticker.tick, quiet, per_tick, stats, ticker.store.tables())
        current = following


def _same(a: dict[tuple[str, str], list[tuple]], b: dict[tuple[str, str], list[tuple]]) -> bool:
    keys = {k for k, v in a.items() if v} | {k for k, v in b.items() if v}
    # the same object both ticks (the run's inputs, or a file the workers read) is the same rows
    return all(a.get(k) is b.get(k) or set(a.get(k, ())) == set(b.get(k, ())) for k in keys)
