"""The profiler behind `dfl run --stats` in one process: what each node, rule, fixpoint
iteration and index build of a run cost, collected while it runs.

A `Profile` is made only when statistics are asked for; the backends' node evaluators
hold it as `ctx.profile` and do one `if ctx.profile is not None` per node: with none,
nothing is timed or counted. When present it wraps every evaluation (`measure`), the
shared semi-naive driver hands it each iteration (`iterate`), and index builds deep in
the kernels report through `ACTIVE` (the profile of the run in progress, set by
`with profile:`), since no context reaches them.

Nodes are keyed by (scope, node id): scope "" is the top-level graph, else the id of the
fixpoint whose body holds the node (body ids repeat top-level ones). A rule is the nodes
carrying its source span; runtime/profile_report.py groups them and renders the report.

Example::

    p = Profile()
    with p:
        plan.profile = p
        plan.run(inputs)
    report = profile_json(p, source)          # runtime/profile_report.py
"""
from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from dfl.errors import Span
from dfl.ir.graph import Graph, Node

ACTIVE: "Profile | None" = None  # the run being profiled, for the index builds' hook

# ctx.stats keys the backends count, as the strategy a reader knows them by
STRATEGIES = {
    "closures": "closure (parallel BFS)",
    "shortest_paths": "shortest paths (Dijkstra)",
    "min_labels": "least labels (Dijkstra with weights 0)",
    "iterations": "semi-naive",
    "pipelines": "fused join pipeline (native)",
    "fused": "fused filter/map chain (native)",
    "fused_joins": "fused join (cuda)",
    "claimed_joins": "join emitting only rows its relation lacks (claim_join)",
}


@dataclass
class NodeStat:
    scope: str  # "" or the enclosing fixpoint's id
    node: str
    op: str
    span: Span | None
    calls: int = 0
    seconds: float = 0.0  # inclusive: a fixpoint's covers its body
    rows_in: list[int] = field(default_factory=list)  # per input, summed over calls
    rows_out: int = 0
    events: dict[str, int] = field(default_factory=dict)  # ctx.stats counted during it: the strategies
    fused: tuple[str, ...] = ()  # nodes computed with it in one native loop (cpu)


@dataclass
class Iteration:
    run: int  # the fixpoint's n-th evaluation (one per tick that reaches it)
    number: int  # 1-based within the run
    seconds: float
    derived: dict[str, int]  # rows the body produced per relation, before dedup
    delta: dict[str, int]  # rows new (or improved) per relation: the next iteration's delta


@dataclass
class FixpointStat:
    node: str
    span: Span | None
    rels: tuple[str, ...]
    runs: int = 0
    seed: dict[str, int] = field(default_factory=dict)  # rows of the first delta, summed over runs
    iterations: list[Iteration] = field(default_factory=list)
    rule_new: dict[Span, int] = field(default_factory=dict)  # rows each rule added to its relation
    profiler_s: float = 0.0  # the profiler's own work in it (crediting rows to rules)


@dataclass
class IndexStat:
    builds: int = 0  # times an index was built or grown
    rows: int = 0  # rows indexed
    seconds: float = 0.0


def _add(acc: dict, more: dict) -> None:
    for k, v in more.items():
        acc[k] = acc.get(k, 0) + v


def _size(v: Any) -> int | None:
    """Rows in a node's value (a cpu Table, an interpreter Rel); None: computed elsewhere."""
    if v is None:
        return None
    n = getattr(v, "n", None)
    return n if isinstance(n, int) else len(v)


class Profile:
    def __init__(self) -> None:
        self.nodes: dict[tuple[str, str], NodeStat] = {}
        self.fixpoints: dict[str, FixpointStat] = {}
        self.indexes: dict[tuple[str, str], IndexStat] = {}  # (scope, kind)
        self.fused: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # last id -> (members, inputs)
        self.graphs: dict[str, Graph] = {}  # scope -> its graph (the caller gives the top-level one, "")
        self.scope = ""
        self.wall_s = 0.0
        self.target = ""
        self._t0 = 0.0
        self._prev: Profile | None = None

    def __enter__(self) -> "Profile":
        global ACTIVE
        self._prev, ACTIVE = ACTIVE, self
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        global ACTIVE
        ACTIVE = self._prev
        self.wall_s += time.perf_counter() - self._t0

    @contextlib.contextmanager
    def inside(self, scope: str):
        """Nodes evaluated in the block belong to fixpoint `scope` (the worker pool's rounds of
        a distributed fixpoint evaluate its body without passing through the fixpoint node)."""
        outer, self.scope = self.scope, scope
        try:
            with self:
                yield self
        finally:
            self.scope = outer

    # ---------------------------------------------------------------- the worker pool
    def shipped(self) -> "Profile":
        """What a worker sends the driver: the counts, not the graphs (the driver has them)."""
        p = Profile()
        p.nodes, p.fixpoints, p.indexes, p.wall_s = self.nodes, self.fixpoints, self.indexes, self.wall_s
        return p

    def absorb(self, other: "Profile", run: int) -> None:
        """Adds a partition's profile of tick `run` to this one: counts and seconds are summed
        over partitions (seconds of different workers overlap in time: CPU seconds), and a
        fixpoint's iterations are summed by number."""
        self.wall_s += other.wall_s
        for key, st in other.nodes.items():
            mine = self.nodes.get(key)
            if mine is None:
                self.nodes[key] = mine = NodeStat(st.scope, st.node, st.op, st.span, fused=st.fused,
                                                  rows_in=[0] * len(st.rows_in))
            mine.calls += st.calls
            mine.seconds += st.seconds
            mine.rows_in = [a + b for a, b in zip(mine.rows_in, st.rows_in)]
            mine.rows_out += st.rows_out
            _add(mine.events, st.events)
        for fid, fx in other.fixpoints.items():
            mine = self.fixpoints.get(fid)
            if mine is None:
                mine = self.fixpoints[fid] = FixpointStat(fx.node, fx.span, fx.rels)
            mine.runs = max(mine.runs, run)
            _add(mine.seed, fx.seed)
            _add(mine.rule_new, fx.rule_new)
            mine.profiler_s += fx.profiler_s
            have = {(it.run, it.number): it for it in mine.iterations}
            for it in fx.iterations:
                acc = have.get((run, it.number))
                if acc is None:
                    acc = have[(run, it.number)] = Iteration(run, it.number, 0.0, {}, {})
                    mine.iterations.append(acc)
                acc.seconds += it.seconds
                _add(acc.derived, it.derived)
                _add(acc.delta, it.delta)
            mine.iterations.sort(key=lambda it: (it.run, it.number))
        for key, ix in other.indexes.items():
            mine = self.indexes.setdefault(key, IndexStat())
            mine.builds += ix.builds
            mine.rows += ix.rows
            mine.seconds += ix.seconds

    # ---------------------------------------------------------------- nodes
    def measure(self, node: Node, values: dict | list, ctx, evaluate: Callable) -> Any:
        """`evaluate(node, values, ctx)`, timed, its rows counted, and the ctx.stats it bumped
        (the physical strategies that ran) kept with it. `values`: every node's value by id,
        or the node's inputs themselves (the worker pool's pipelined steps)."""
        before = dict(ctx.stats)
        outer = self.scope
        if node.op == "fixpoint":
            self.scope = node.id
            self.graphs[node.id] = node.attr("body")
            if node.id not in self.fixpoints:
                self.fixpoints[node.id] = FixpointStat(node.id, node.span, tuple(node.attr("rels")))
        t0 = time.perf_counter()
        try:
            out = evaluate(node, values, ctx)
        finally:
            dt = time.perf_counter() - t0
            self.scope = outer
        if out is None:  # an inner node of a fused chain or pipeline: counted with its last node
            return out
        members, ins = self.fused.get(node.id, ((), node.inputs))
        sizes = [_size(v) for v in values] if isinstance(values, list) else [_size(values.get(i)) for i in ins]
        key = (outer, node.id)
        st = self.nodes.get(key)
        if st is None:
            st = self.nodes[key] = NodeStat(outer, node.id, node.op, node.span, fused=members,
                                            rows_in=[0] * len(sizes))
        st.calls += 1
        st.seconds += dt
        for j, n in enumerate(sizes[:len(st.rows_in)]):
            st.rows_in[j] += n or 0
        st.rows_out += _size(out) or 0
        for k, v in ctx.stats.items():
            if v != before.get(k, 0):
                st.events[k] = st.events.get(k, 0) + v - before.get(k, 0)
        return out

    # ---------------------------------------------------------------- fixpoints
    def iterate(self, loop, delta: dict) -> dict:
        """One iteration of the shared semi-naive driver (backends/seminaive.SemiNaive),
        timed, with its derived and new rows per relation and per rule."""
        fx = self._fixpoint(loop)
        if not fx.iterations or fx.iterations[-1].run != fx.runs:
            number = 1
        else:
            number = fx.iterations[-1].number + 1
        t0 = time.perf_counter()
        derived = loop.derive(delta)
        values = loop.values
        new = loop.merge(derived)
        dt = time.perf_counter() - t0
        fx.iterations.append(Iteration(fx.runs, number, dt, {r: _size(v) or 0 for r, v in derived.items()},
                                       {r: _size(v) or 0 for r, v in new.items()}))
        t1 = time.perf_counter()
        self._rule_news(fx, loop.body, values, new)
        fx.profiler_s += time.perf_counter() - t1
        loop.values = None  # the iteration's intermediate rows: not kept past it
        return new

    def seeded(self, loop, delta: dict) -> None:
        """A fixpoint run starts with these first deltas."""
        fx = self._fixpoint(loop)
        fx.runs += 1
        for r, v in delta.items():
            fx.seed[r] = fx.seed.get(r, 0) + (_size(v) or 0)

    def _fixpoint(self, loop) -> FixpointStat:
        fx = self.fixpoints.get(self.scope)
        if fx is None:
            fx = self.fixpoints[self.scope] = FixpointStat(self.scope, None, tuple(loop.rels))
        return fx

    def _rule_news(self, fx: FixpointStat, body: Graph, values: dict, new: dict) -> None:
        """Which rule's rows entered the relation: each new row is credited to the first
        rule (in the union's order) that derived it, as Soufflé counts per rule."""
        from dfl.runtime.profile_rows import claim

        for y in body.by_op("yield"):
            rel = y.attr("rel")
            d = new.get(rel)
            if not _size(d):
                continue
            src = body.node(y.inputs[0])
            feeders = [body.node(i) for i in src.inputs] if src.op == "union" else [src]
            rules: dict[Span | None, list] = {}  # a rule's delta variants feed the union apart
            for f in feeders:
                rules.setdefault(f.span, []).append(values.get(f.id))
            if len(rules) == 1:  # one rule derived every new row: nothing to match
                counts = [_size(d) or 0]
            else:
                counts = claim(d, list(rules.values()))
            for span, c in zip(rules, counts):
                if span is not None:
                    fx.rule_new[span] = fx.rule_new.get(span, 0) + c

    # ---------------------------------------------------------------- indexes
    def index_built(self, kind: str, rows: int, seconds: float) -> None:
        st = self.indexes.get((self.scope, kind))
        if st is None:
            st = self.indexes[(self.scope, kind)] = IndexStat()
        st.builds += 1
        st.rows += rows
        st.seconds += seconds


def timed_index(kind: str, rows: Callable[..., int]):
    """Decorates an index build: with a run being profiled, its time and the rows it
    indexed (`rows(*args)`, read before the call) are recorded under `kind`; without one,
    one global read and the call."""
    def wrap(f):
        @functools.wraps(f)
        def build(*args, **kw):
            p = ACTIVE
            if p is None:
                return f(*args, **kw)
            n = rows(*args)
            t0 = time.perf_counter()
            out = f(*args, **kw)
            if n > 0:
                p.index_built(kind, n, time.perf_counter() - t0)
            return out
        return build
    return wrap
