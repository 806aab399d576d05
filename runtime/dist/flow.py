"""Pipelined evaluation of one partition's share of a placed graph: monotone operators
run on rows as they arrive, non-monotone ones wait behind a barrier for their inputs.

This is the runtime's side of the CALM analysis (compiler/calm.py). In a partitioned run
the rows of an exchange reach a partition in pieces, one per sender and per step of that
sender. A monotone operator needs no more than the rows seen so far to emit its output,
so it is evaluated on each piece as a delta:

- `map`, `filter`, `flat_map`, `union` and `exchange` are linear: f(A u dA) = f(A) u f(dA);
- `distinct` keeps the rows it has seen and emits the new ones;
- `join` keeps both sides: d(L x R) = dL x R_old  u  L_new x dR (exact for bags too);
- `anti_join` is monotone in its left side only: left rows stream once the right side is
  complete (its barrier), and wait for it until then.

Every other operator (aggregate, lattice merge, fixpoint and its results, and the
collected sink / persist / defer) is evaluated once, on all its rows, when each of its
inputs is *complete*. A node is complete when its inputs are; an exchange when the driver
says every sender has finished it (a seal); a source at once. So the only waits are the
coordination points, as the CALM analysis reports them (a lattice merge and a recursion
are monotone but evaluated whole here: a barrier they do not strictly need).

Each step's outputs are the same rows a whole-stage evaluation gives (as bags: a row
appears as often), so results match the bulk-synchronous runtime and one process.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from dfl.backends.base import ExecContext, Executor, RelationStore
from dfl.backends.columnar.table import Table, concat
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import OPS, blocks
from dfl.ir.ops import streamed as ops_streamed

# the op table's facts (ir/ops.py): linear ops run on each piece; roots have no inputs
LINEAR = frozenset(op for op, s in OPS.items() if s.linear)
ROOTS = frozenset(op for op, s in OPS.items() if s.inputs == 0)


def iterative(n: Node) -> bool:
    """A fixpoint run by distributed semi-naive iteration (runtime/dist/dist_fixpoint.py)."""
    return n.op == "fixpoint" and n.attr("iterate") is not None


def streamed(n: Node) -> bool:
    """Whether the operator emits from partial inputs (else: a barrier for all of them)."""
    return ops_streamed(n.op)


@dataclass
class Step:
    """What one step of a partition produced."""
    delta: dict[str, Table] = field(default_factory=dict)  # node -> its new rows
    completed: list[str] = field(default_factory=list)  # nodes complete since the last step
    stats: dict[str, list[float]] = field(default_factory=dict)  # node -> [rows in, rows out, cpu s]
    early_rows: int = 0  # rows emitted by nodes whose inputs were not all complete yet: pipelined


class Flow:
    """One partition's state across the steps of one tick."""

    def __init__(self, graph: Graph, ctx: ExecContext, ex: Executor) -> None:
        self.g = graph
        self.ctx = ctx
        self.ex = ex  # the backend's operators
        self.nodes = list(graph.nodes)
        self.schema = {n.id: n.schema for n in graph.nodes}
        # the nodes whose rows so far are read whole: the inputs of joins and barriers
        self.kept: set[str] = set()
        for n in self.nodes:
            if n.op not in LINEAR and n.op != "distinct":
                self.kept.update(n.inputs)
        self.pieces: dict[str, list[Table]] = {i: [] for i in self.kept}
        self.rows: dict[str, int] = {i: 0 for i in self.kept}
        # a dedup's rows so far: its first output as it is (one bulk dedup when all rows come
        # at once, the usual case), in a row set once a second piece comes
        self.seen: dict[str, RelationStore | Table] = {}
        self.complete: set[str] = set()
        self.sealed: set[str] = set()  # exchanges every sender has finished
        self.fixed: set[str] = set()  # iterative fixpoints whose rounds have ended
        self.primed: set[str] = set()  # anti-joins whose right side was complete at a step
        self.final: dict[str, Table] = {}  # what each barrier emitted (the collected nodes' rows)
        self.announced: set[str] = set()  # distributed fixpoints reported ready to the driver

    @property
    def finished(self) -> bool:
        return len(self.complete) == len(self.nodes)

    def full(self, nid: str, upto: int | None = None) -> Table:
        """Every row of a kept node so far (or its first `upto`)."""
        ps = self.pieces[nid]
        if len(ps) > 1:  # concatenated once, then reused
            ps[:] = [concat(ps, self.schema[nid])]
        t = ps[0] if ps else Table.empty(self.schema[nid])
        if upto is not None and upto < t.n:
            return Table([c[:upto] for c in t.cols], upto)
        return t

    def newly_ready(self) -> list[str]:
        """The distributed fixpoints whose inputs are all complete here since the last ask:
        their rounds may start once every partition says so."""
        out = [n.id for n in self.nodes if iterative(n) and n.id not in self.announced
               and all(i in self.complete for i in n.inputs)]
        self.announced.update(out)
        return out

    def step(self, pushed: dict[str, Table], sealed: list[str], fixed: list[str]) -> Step:
        """Takes the rows pushed to this partition's exchanges, the exchanges sealed and the
        distributed fixpoints finished since the last step; runs every node on what is new."""
        self.sealed.update(sealed)
        self.fixed.update(fixed)
        out = Step()
        delta = out.delta
        delta.update(pushed)
        for n in self.nodes:
            if n.id in self.complete:
                continue
            t0 = time.process_time()
            ins_done = all(i in self.complete for i in n.inputs)
            d = self._delta(n, delta, ins_done)
            if n.op == "exchange":
                done = n.id in self.sealed
            elif iterative(n):
                done = n.id in self.fixed
            else:
                done = ins_done
            if d is not None and d.n:
                delta[n.id] = d
                out.stats[n.id] = [sum(delta[i].n for i in n.inputs if i in delta), d.n,
                                   time.process_time() - t0]
                if n.id in self.kept:
                    self.pieces[n.id].append(d)
                    self.rows[n.id] += d.n
                if not done:
                    out.early_rows += d.n
            if done:
                self.complete.add(n.id)
                out.completed.append(n.id)
        return out

    def _delta(self, n: Node, delta: dict[str, Table], ins_done: bool) -> Table | None:
        """n's new rows at this step, or None."""
        op, ctx = n.op, self.ctx
        if op in ROOTS:
            return self.ex.apply(n, [], ctx)
        if op == "exchange":
            return delta.get(n.id)  # the rows pushed to it (taken by the caller)
        if iterative(n):
            return None  # its results are read by `result` nodes once its rounds end
        ds = [delta.get(i) for i in n.inputs]
        if op in LINEAR:
            if not any(d is not None for d in ds):
                return None
            ins = [d if d is not None else Table.empty(self.schema[i]) for d, i in zip(ds, n.inputs)]
            return self.ex.apply(n, ins, ctx)
        if op == "distinct":
            if ds[0] is None:
                return None
            seen = self.seen.get(n.id)
            if seen is None:  # the first rows: the bulk dedup (kept for later pieces, if any)
                new = self.ex.distinct(ds[0])
                if not ins_done:
                    self.seen[n.id] = new
                return new
            if isinstance(seen, Table):
                self.seen[n.id] = rel = self.ex.row_set(n.schema)
                rel.add(seen)
                seen = rel
            new = seen.add(ds[0])
            return Table(new.cols, new.n, distinct=True)
        if op == "join":
            (l, r), (dl, dr) = n.inputs, ds
            parts = []
            old_r = self.rows[r] - (dr.n if dr is not None else 0)
            if dl is not None and old_r:  # new left rows against the right rows seen before this step
                parts.append(self.ex.apply(n, [dl, self.full(r, old_r)], ctx))
            if dr is not None:  # every left row so far against the new right rows
                # (one kernel call when one side is new: its output keeps the distinct flag)
                parts.append(self.ex.apply(n, [self.full(l), dr], ctx))
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else concat(parts, n.schema)
        if op == "anti_join":
            l, r = n.inputs
            if any(blocks(op, k) and i not in self.complete for k, i in enumerate(n.inputs)):
                return None  # the negated side may still grow: left rows wait (kept)
            if n.id not in self.primed:
                self.primed.add(n.id)
                return self.ex.apply(n, [self.full(l), self.full(r)], ctx)
            return None if ds[0] is None else self.ex.apply(n, [ds[0], self.full(r)], ctx)
        if not ins_done:
            return None  # a barrier: all of its inputs first
        t = self.ex.apply(n, [self.full(i) for i in n.inputs], ctx)
        self.final[n.id] = t
        return t


def pushed_tables(events: list[tuple], decode) -> tuple[dict[str, Table], list[str], list[str]]:
    """A step's events: ("push", exchange, batch), ("seal", exchange), ("fixed", node), in
    the order the driver delivered them; the pushed batches merged per exchange."""
    pushed: dict[str, list] = {}
    sealed: list[str] = []
    fixed: list[str] = []
    for ev in events:
        if ev[0] == "push":
            pushed.setdefault(ev[1], []).append(ev[2])
        elif ev[0] == "seal":
            sealed.append(ev[1])
        elif ev[0] == "fixed":
            fixed.append(ev[1])
        else:
            raise ValueError(f"unknown flow event {ev[0]!r}")
    return {ex: decode(ex, bs) for ex, bs in pushed.items()}, sealed, fixed


