"""CALM analysis (Consistency As Logical Monotonicity): which parts of a program need coordination.

By the CALM theorem a program has a consistent, coordination-free distributed execution
exactly when it is monotone: a new input row can only add output rows, never retract
one. In the IR three things break monotonicity, and each is a *coordination point*:
a barrier where, in a partitioned run, every partition must have finished producing
some relation before the operator may emit anything:

- negation (`anti_join`, from `!r(..)`): the negated relation must be complete;
- aggregation (`aggregate`: count/sum/min/max/mean): each group's rows must be complete;
- deletion (`defer` with mode "delete", from `delete r(..)`): the rows to delete must be known.

Everything downstream of a coordination point, across ticks too (a table's state feeds
the next tick), is computed by monotone operators but is not monotone in the program's
inputs; `NodeCalm` reports both. Lattice merges (`min<int>` columns) are monotone in the
lattice order, so they need no coordination.

Example:
    report = analyze(dfl.compile(src).graph)
    report.outputs            # {"added": True, "total": False}
    print(report.render(src, "cart.dfl"))
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from dfl.errors import DflError, Span
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import blocks, op_monotone


@dataclass(frozen=True)
class NodeCalm:
    """One node's verdict.

    `op_monotone`: the operator itself is monotone. `output_monotone`: its output is a
    monotone function of the program's inputs (its op and everything upstream is monotone).
    `reason`: why not (or a note, e.g. "monotone in the lattice order"); "" when nothing to say.
    `points`: node ids of the coordination points upstream of it (its own included).
    """

    op: str
    op_monotone: bool
    output_monotone: bool
    reason: str = ""
    points: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoordinationPoint:
    """A non-monotone operator: a barrier on `waits_for` in a partitioned run.

    `node` is the operator's id; `copies` the ids of the same operator duplicated by the
    semi-naive rewrite (one variant per delta), reported once.
    """

    node: str
    kind: str  # "negation" | "aggregation" | "deletion"
    span: Span | None
    waits_for: tuple[str, ...]
    reason: str
    copies: tuple[str, ...] = ()

    def at(self) -> str:
        return f"{self.span.line}:{self.span.col}" if self.span else self.node

    def to_json(self) -> dict[str, Any]:
        span = None if self.span is None else {
            "file": self.span.file, "line": self.span.line, "col": self.span.col,
            "end_line": self.span.end_line, "end_col": self.span.end_col}
        return {"node": self.node, "kind": self.kind, "span": span, "waits_for": list(self.waits_for),
                "reason": self.reason, "copies": list(self.copies)}


@dataclass
class CalmReport:
    """What `analyze` found. `outputs` / `tables`: relation -> monotone; `needs`: relation ->
    the coordination points (node ids) that make that output or table state non-monotone."""

    nodes: dict[str, NodeCalm]
    outputs: dict[str, bool]
    points: list[CoordinationPoint]
    tables: dict[str, bool] = field(default_factory=dict)
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lattice: set[str] = field(default_factory=set)  # outputs/tables that go through a lattice merge

    def points_of(self, rel: str) -> list[CoordinationPoint]:
        ids = set(self.needs.get(rel, ()))
        return [p for p in self.points if p.node in ids]

    def render(self, source: str | None = None, file: str | None = None) -> str:
        """A report for people: one line per output and table, each point as an error-style block."""
        # an agent's sends are outputs named __send_<channel> (lang/sends.py): shown as sends
        lines = [self._verdict("send" if r.startswith("__send_") else "output", r, ok) for r, ok in self.outputs.items()]
        lines += [self._verdict("table", r, ok) for r, ok in self.tables.items()]
        for p in self.points:
            span = replace(p.span, file=file) if (p.span and file) else p.span
            waits = ", ".join(p.waits_for) or "its input"
            block = DflError(p.reason, span, kind="warning", source=source,
                             hint=f"barrier: every partition must finish {waits} before this operator emits")
            # DflError labels any kind it does not know "error"; this is a finding, not an error
            head = f"{span}: error:" if span else "error:"
            text = block.render_one()
            lines += ["", f"{head[:-6]}coordination point ({p.kind}):{text[len(head):]}"]
        mono = sum(self.outputs.values())
        lines += ["", f"{_plural(len(self.points), 'coordination point')}; {mono} of {len(self.outputs)} "
                      f"output{'' if len(self.outputs) == 1 else 's'} monotone (coordination-free)"]
        return "\n".join(lines)

    def _verdict(self, what: str, rel: str, ok: bool) -> str:
        name = rel.removeprefix("__send_") if what == "send" else rel
        if ok:
            note = "; merged in the lattice order" if rel in self.lattice else ""
            return f"{what} {name}: monotone (coordination-free{note})"
        why = ", ".join(f"{p.kind} at {p.at()}" for p in self.points_of(rel))
        return f"{what} {name}: NOT monotone: needs coordination ({why})"

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": {i: {"op": n.op, "op_monotone": n.op_monotone, "output_monotone": n.output_monotone,
                          "reason": n.reason, "points": list(n.points)} for i, n in self.nodes.items()},
            "outputs": dict(self.outputs),
            "tables": dict(self.tables),
            "needs": {r: list(ps) for r, ps in self.needs.items()},
            "points": [p.to_json() for p in self.points],
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# ---------------------------------------------------------------- the analysis


def analyze(graph: Graph) -> CalmReport:
    """Classifies every node, output and table of `graph` (an optimized IR graph) by monotonicity."""
    flat = _Flat(graph)
    points, alias = _points(flat)
    own: dict[str, set[str]] = {i: set() for i in flat.nodes}
    for p in points:
        for i in (p.node, *p.copies):
            own[i].add(p.node)
    # upstream closure over a graph with cycles (fixpoints, table state across ticks): iterate
    taint = _closure(flat, own)
    lattice = _closure(flat, {i: {i} if n.op == "lattice_merge" else set() for i, n in flat.nodes.items()})

    by_node: dict[str, list[CoordinationPoint]] = {}
    for p in points:
        by_node.setdefault(p.node, []).append(p)
    nodes: dict[str, NodeCalm] = {}
    for i, n in flat.nodes.items():
        op_mono = op_monotone(n)
        ups = _ordered(taint[i], by_node)
        if own[i]:
            reason = "; ".join(p.reason for p in by_node[alias.get(i, i)])
        elif not op_mono and n.op == "anti_join":  # the 0 of empty count/sum groups
            reason = f"gives the empty groups of aggregate {n.inputs[1]} their 0: behind that aggregate's barrier"
        elif not op_mono:
            reason = f"{n.op} is not monotone"
        elif ups:
            reason = "downstream of " + ", ".join(f"{p.kind} at {p.at()}" for u in ups for p in by_node[u])
        else:
            reason = ""
        if n.op == "lattice_merge":
            reason = "monotone in the lattice order" + (f"; {reason}" if reason else "")
        nodes[i] = NodeCalm(n.op, op_mono, op_mono and not ups, reason, tuple(ups))

    outputs: dict[str, bool] = {}
    tables: dict[str, bool] = {}
    needs: dict[str, tuple[str, ...]] = {}
    lat: set[str] = set()
    for decl in graph.relations:
        rel = decl.name
        sinks = [n.id for n in graph.nodes if n.op == "sink" and n.attr("rel") == rel]
        # a table's state: what it keeps, what `next` adds and what `delete` removes
        state = [n.id for n in graph.nodes if n.op in ("persist", "defer") and n.attr("rel") == rel]
        if sinks:
            outputs[rel] = not any(taint[s] for s in sinks)
        if decl.storage == "table":
            tables[rel] = not any(taint[s] for s in state)
        ids = set().union(*(taint[s] for s in sinks + state)) if sinks or state else set()
        if ids:
            needs[rel] = tuple(_ordered(ids, by_node))
        if any(lattice[s] for s in sinks + state):
            lat.add(rel)
    return CalmReport(nodes, outputs, points, tables, needs, lat)


def _barrier_inputs(n: Node) -> list[str]:
    """The inputs that must be complete before n emits (the op table's barrier)."""
    return [i for k, i in enumerate(n.inputs) if blocks(n.op, k)]


def _ordered(ids: set[str], by_node: dict[str, list[CoordinationPoint]]) -> list[str]:
    """Point node ids in source order, so a chain reads top to bottom like the program."""
    return sorted(ids, key=lambda i: min(_span_key(p) for p in by_node[i]))


def _span_key(p: CoordinationPoint) -> tuple:
    return (0, p.span.line, p.span.col, p.node) if p.span else (1, 0, 0, p.node)


def _closure(flat: "_Flat", seed: dict[str, set[str]]) -> dict[str, set[str]]:
    """For each node, the union of `seed` over it and everything upstream of it."""
    out = {i: set(s) for i, s in seed.items()}
    changed = True
    while changed:
        changed = False
        for i, deps in flat.deps.items():
            before = len(out[i])
            for d in deps:
                out[i] |= out[d]
            changed |= len(out[i]) != before
    return out


@dataclass
class _Flat:
    """Every node (fixpoint bodies included) with what it depends on, across ticks too."""

    graph: Graph
    nodes: dict[str, Node] = field(default_factory=dict)
    deps: dict[str, list[str]] = field(default_factory=dict)
    scope: dict[str, Graph] = field(default_factory=dict)  # node id -> the graph it lives in

    def __post_init__(self) -> None:
        g = self.graph
        for n in g.nodes:
            deps = list(n.inputs)
            if n.op == "fixpoint":  # its value is every relation it computes
                self._body(n)
                deps += [y.id for y in n.attr("body").by_op("yield")]
            elif n.op == "result":  # one relation out of it: its initial rows and its rules
                deps = self._rel_deps(g.node(n.inputs[0]), n.attr("rel"))
            elif n.op == "source" and n.attr("kind") in ("state", "deferred"):
                # a table's rows this tick are what the last tick kept, added (`next`) and deleted
                deps = [m.id for m in g.nodes if m.attr("rel") == n.attr("rel") and (
                    (m.op == "persist" and n.attr("kind") == "state") or
                    (m.op == "defer" and (m.attr("mode") == "insert" or n.attr("kind") == "state")))]
            self._add(n, deps, g)

    def _add(self, n: Node, deps: list[str], scope: Graph) -> None:
        assert n.id not in self.nodes, f"node id {n.id} used twice"
        self.nodes[n.id] = n
        self.deps[n.id] = deps
        self.scope[n.id] = scope

    def _body(self, fix: Node) -> None:
        body: Graph = fix.attr("body")
        rels, exts = list(fix.attr("rels")), list(fix.attr("exts"))
        for n in body.nodes:
            deps = list(n.inputs)
            if n.op == "param":  # full:R / delta:R read the fixpoint's own R; ext:S an input of it
                which, rel = n.attr("name").split(":", 1)
                deps = [fix.inputs[len(rels) + exts.index(rel)]] if which == "ext" else self._rel_deps(fix, rel)
            self._add(n, deps, body)

    def _rel_deps(self, fix: Node, rel: str) -> list[str]:
        rels = list(fix.attr("rels"))
        body: Graph = fix.attr("body")
        return [fix.inputs[rels.index(rel)]] + [y.id for y in body.by_op("yield") if y.attr("rel") == rel]


# ---------------------------------------------------------------- coordination points


def _points(flat: _Flat) -> tuple[list[CoordinationPoint], dict[str, str]]:
    """The coordination points, semi-naive copies merged; and copy id -> the point's node id."""
    found: list[CoordinationPoint] = []
    for i, n in flat.nodes.items():
        g = flat.scope[i]
        if n.op == "anti_join":
            if g.node(n.inputs[1]).op in ("aggregate", "range_aggregate"):
                continue  # the 0 for empty groups of a count/sum: part of that aggregation
            rels = _relations(g, flat.graph, _barrier_inputs(n))  # the negated side
            neg = ", ".join(f"!{r}" for r in rels) or "a negated relation"
            found.append(CoordinationPoint(i, "negation", n.span, rels,
                                           f"negation {neg}: a row may be emitted only once {_names(rels)} "
                                           f"is complete (a later row would retract it)"))
        elif n.op in ("aggregate", "range_aggregate"):  # the latter: a correlated body aggregate, sorted
            rels = _relations(g, flat.graph, _barrier_inputs(n))
            funcs = ", ".join(sorted({f for f, _ in n.attr("aggs")}))
            found.append(CoordinationPoint(i, "aggregation", n.span, rels,
                                           f"{funcs} over each group: a later row of the group changes an answer "
                                           f"already given, so the rows from {_names(rels)} must be complete"))
        elif n.op == "defer" and n.attr("mode") == "delete":
            src = g.node(n.inputs[0])
            # several delete rules for one table meet in a union: one point per rule
            branches = list(src.inputs) if (src.op == "union" and src.span is None) else [src.id]
            for b in branches:
                rels = _relations(g, flat.graph, [b])
                found.append(CoordinationPoint(i, "deletion", g.node(b).span or n.span, rels,
                                               f"deletion from table {n.attr('rel')}: the rows to delete "
                                               f"(from {_names(rels)}) must be known before its next state is"))
        elif not op_monotone(n):
            found.append(CoordinationPoint(i, n.op, n.span, (), f"{n.op} is not monotone"))
    merged: dict[tuple, CoordinationPoint] = {}
    alias: dict[str, str] = {}
    for p in found:
        key = (p.kind, p.span, p.waits_for, p.node.split(".")[0])
        if key in merged and merged[key].node != p.node:
            first = merged[key]
            merged[key] = replace(first, copies=first.copies + (p.node,))
            alias[p.node] = first.node
        elif key not in merged:
            merged[key] = p
    return sorted(merged.values(), key=_span_key), alias


def _names(rels: tuple[str, ...]) -> str:
    return ", ".join(rels) if rels else "its input"


def _relations(g: Graph, top: Graph, start: list[str]) -> tuple[str, ...]:
    """The relations whose rows reach `start`: walk upstream, stopping at each relation's value."""
    names = _value_names(top)
    seen: set[str] = set()
    out: list[str] = []
    todo = list(start)
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        n = g.node(i)
        rel = None
        if n.op in ("source", "result"):
            rel = n.attr("rel")
        elif n.op == "param":
            rel = n.attr("name").split(":", 1)[1]
        elif g is top:
            rel = names.get(i)
        if rel is not None:
            if rel not in out:
                out.append(rel)
            continue
        todo.extend(reversed(n.inputs))
    return tuple(sorted(out))


def _value_names(g: Graph) -> dict[str, str]:
    """Node id -> relation, for the distinct / lattice_merge nodes that hold a relation's rows.

    The IR keeps no relation name on them, so this is best effort: a relation's value node
    carries its declaration's span (the same as its source, sink and persist nodes) and its
    schema; an internal relation with no such node is recognised by its schema alone, when
    no other relation has the same one.
    """
    decl_span: dict[Span, str] = {}
    for n in g.nodes:
        if n.op in ("source", "sink", "persist") and n.span is not None:
            decl_span[n.span] = n.attr("rel")
    spanned = set(decl_span.values())
    out: dict[str, str] = {}
    for n in g.nodes:
        if n.op not in ("distinct", "lattice_merge"):
            continue
        if n.span in decl_span:
            out[n.id] = decl_span[n.span]
            continue
        same = [r.name for r in g.relations if r.schema == n.schema and r.name not in spanned]
        if len(same) == 1:
            out[n.id] = same[0]
    return out
