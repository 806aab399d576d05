"""A partition worker: runs the operators of a placed graph on the partitions it hosts.

The placed graph is cut into stages at its `exchange` nodes: stage 0 is what runs on
the rows a partition was given; an exchange's rows are ready one stage after its input.
For each stage, the driver hands every partition the batches sent to it, the worker runs
that stage's operators with the cpu backend's kernels (the same lowering table as one
process), and returns what each exchange sends where, plus, after the last stage, the
rows of the sinks, table states and deferred rows, for the driver to collect.

A worker is a plain object, so the local process pool (runtime/pools/pool.py) and Ray
(runtime/pools/ray_engine.py) host the same code; it keeps each partition's values for one
tick only, which is what lets the driver re-run a partition elsewhere when a worker dies.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

import numpy as np

from dfl.backends import registry
from dfl.backends.base import ExecContext, Executor
from dfl.backends.columnar.codec import encode_rows
from dfl.backends.columnar.table import Table
from dfl.compiler.placement import dist_of
from dfl.errors import DflError
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import TICK_EFFECTS
from dfl.runtime.io.file_inputs import FileChunk
from dfl.runtime import limits
from dfl.runtime.dist.flow import Flow, iterative, pushed_tables
from dfl.runtime.dist.batches import Batch, Spill, from_batch, merge, partition_of, split, to_batch

COLLECTED = TICK_EFFECTS  # sink, persist, defer


def stages_of(g: Graph) -> dict[str, int]:
    """Stage of each top-level node: one more than its input's for an exchange, or than
    its latest input's for an iterative fixpoint (its own rounds run between stages), else
    the latest of its inputs' (0 for sources)."""
    stage: dict[str, int] = {}
    for n in g.nodes:
        if n.op == "exchange":
            stage[n.id] = stage[n.inputs[0]] + 1
        elif iterative(n):
            stage[n.id] = max((stage[i] for i in n.inputs), default=0) + 1
        else:
            stage[n.id] = max((stage[i] for i in n.inputs), default=0)
    return stage


@dataclass(frozen=True)
class Held:
    """An output a worker holds until the driver says where to write it (write_out)."""
    n: int
    distinct: bool = False

    @property
    def nbytes(self) -> int:
        return 0


@dataclass
class StageOut:
    """What one partition produced in one stage."""
    sends: dict[str, dict[int, Batch]] = field(default_factory=dict)  # exchange -> destination -> rows
    broadcasts: dict[str, Batch] = field(default_factory=dict)  # exchange -> rows for every partition
    collected: dict[str, Batch] = field(default_factory=dict)  # sink/persist/defer node -> rows
    stats: dict[str, list[float]] = field(default_factory=dict)  # node -> [rows in, rows out, cpu s]
    sent_bytes: int = 0
    pid: int = 0
    # pipelined steps (runtime/dist/flow.py) only:
    sealed: list[str] = field(default_factory=list)  # exchanges this partition has finished sending
    ready: list[str] = field(default_factory=list)  # distributed fixpoints whose inputs are complete here
    finished: bool = False  # every node complete: `collected` holds the outputs
    early_rows: int = 0  # rows emitted before the emitting node's inputs were complete
    profile: object = None  # with --stats, at the partition's end: its runtime/profile.Profile (shipped)


class PartitionWorker:
    def __init__(self) -> None:
        self.graph: Graph | None = None
        self.plan: Executor | None = None  # the backend's operators (backends/base.Executor)
        self.parts = 1
        self.stage: dict[str, int] = {}
        self.last_stage = 0
        self.ctx: dict[int, ExecContext] = {}
        self.values: dict[int, dict[str, Table]] = {}
        self.spill: Spill | None = None
        self.fix: dict = {}  # (partition, fixpoint node) -> DistFixpoint, during its rounds
        self.held: dict[int, dict[str, Table]] = {}  # outputs waiting for write_out
        self.flows: dict[int, Flow] = {}  # partition -> its pipelined state, during a tick
        self.exchanges_from: dict[str, list[Node]] = {}  # node -> the exchanges reading it
        self.profiling = False  # --stats: each partition's context holds a profiler (runtime/profile.py)

    def devices(self) -> dict:
        """What this worker's machine offers the placement: whether it has a usable GPU
        (runtime/devices.py), its name, and why not when not."""
        from dfl.runtime.devices import gpu

        g = gpu()
        return {"gpu": g.available, "name": g.name, "why": g.why, "simulator": g.simulator}

    def load(self, graph: Graph, parts: int, spill: Spill | None = None, threads: int | None = None,
             memory_limit: int | None = None, target: str = "cpu", profiling: bool = False) -> int:
        """The placed graph to run; where large batches go (shared memory); how many
        threads each kernel may use (a pool of N workers on C cores gives each C // N, so
        workers do not fight over the cores); this worker's share of the memory limit; the
        backend whose operators run it."""
        limits.set_limit(memory_limit)
        if threads:
            import numba

            numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        self.spill = spill
        self.graph = graph
        self.plan = registry.executor(target, graph)
        self.profiling = profiling
        self.parts = parts
        self.stage = stages_of(graph)
        self.last_stage = max(self.stage.values(), default=0)
        self.exchanges_from = {}
        for n in graph.by_op("exchange"):
            self.exchanges_from.setdefault(n.inputs[0], []).append(n)
        return os.getpid()

    def begin(self, part: int, inputs: dict[tuple[str, str], Batch]) -> None:
        """A new tick for partition `part`, with its share of the tick's source rows."""
        plan = self.plan
        enc = {key: encode_rows(b.rows(), b.schema, plan.pool) if isinstance(b, FileChunk) else from_batch(b, plan.pool)
               for key, b in inputs.items()}
        self.ctx[part] = ctx = plan.context(enc)
        if self.profiling and hasattr(ctx, "profile"):  # a backend that profiles node by node
            from dfl.runtime.profile import Profile

            ctx.profile = Profile()
        self.values[part] = {}
        self.flows.pop(part, None)

    def run_stage(self, part: int, s: int, inbox: dict[str, list[Batch]]) -> StageOut:
        with np.errstate(all="ignore"), self._profiled(part):  # int wraps and IEEE specials are the language's
            return self._run_stage(part, s, inbox)

    def _profiled(self, part: int, scope: str | None = None):
        """The partition's profiler active in the block (inside fixpoint `scope`), if any."""
        prof = getattr(self.ctx.get(part), "profile", None)
        if prof is None:
            return contextlib.nullcontext()
        return prof if scope is None else prof.inside(scope)

    def _run_stage(self, part: int, s: int, inbox: dict[str, list[Batch]]) -> StageOut:
        g, plan, ctx, values = self.graph, self.plan, self.ctx[part], self.values[part]
        out = StageOut(pid=os.getpid())
        for n in g.nodes:
            if self.stage[n.id] != s:
                continue
            if iterative(n):
                continue  # computed by the fix_* rounds the driver ran before this stage
            t0 = time.process_time()
            if n.op == "exchange":
                values[n.id] = merge(inbox.get(n.id, []), plan.pool, n.schema.types)
                rows_in = values[n.id].n
            else:
                values[n.id] = plan.eval_node(n, values, ctx)
                rows_in = sum(values[i].n for i in n.inputs)
            out.stats[n.id] = [rows_in, values[n.id].n, time.process_time() - t0]
        for n in g.nodes:  # what this stage's rows send on to the next
            if n.op == "exchange" and self.stage[n.id] == s + 1:
                self._send(n, part, values[n.inputs[0]], out)
        if s == self.last_stage:
            self._collect(part, values, out)
        return out

    def _collect(self, part: int, values: dict[str, Table], out: StageOut) -> None:
        """The end of partition `part`'s tick: its sinks, table states and deferred rows
        (large numeric ones held for write_out); its values are dropped."""
        held = {}
        for n in self.graph.nodes:
            if n.op in COLLECTED and (part == 0 or dist_of(n).kind not in ("replicated", "single")):
                t = values[n.id]
                if self._direct(t, n):
                    held[n.id] = t  # written straight into the driver's file (write_out)
                    out.collected[n.id] = Held(t.n, t.distinct)
                else:
                    out.collected[n.id] = to_batch(t, n.schema.types, self.plan.pool, self.spill)
        if held:
            self.held[part] = held
        prof = getattr(self.ctx[part], "profile", None)
        if prof is not None:
            out.profile = prof.shipped()
        del self.values[part], self.ctx[part]
        self.flows.pop(part, None)

    # ------------------------------------------------ pipelined steps (runtime/dist/flow.py)
    def flow(self, part: int, events: list[tuple]) -> StageOut:
        """One pipelined step of partition `part`: takes the driver's events (rows pushed
        to its exchanges, seals, ended fixpoints), runs every node on what is new, and
        returns what its exchanges send now, which exchanges it has finished, and, once
        every node is complete, its outputs."""
        with np.errstate(all="ignore"), self._profiled(part):  # int wraps and IEEE specials are the language's
            return self._flow(part, events)

    def _flow(self, part: int, events: list[tuple]) -> StageOut:
        g, pool = self.graph, self.plan.pool
        f = self.flows.get(part)
        if f is None:
            f = self.flows[part] = Flow(g, self.ctx[part], self.plan)
        pushed, sealed, fixed = pushed_tables(events, lambda ex, bs: merge(bs, pool, g.node(ex).schema.types))
        step = f.step(pushed, sealed, fixed)
        out = StageOut(pid=os.getpid(), stats=step.stats, early_rows=step.early_rows)
        for nid, d in step.delta.items():
            for ex in self.exchanges_from.get(nid, ()):
                self._send(ex, part, d, out)
        for nid in step.completed:
            out.sealed.extend(ex.id for ex in self.exchanges_from.get(nid, ()))
        out.ready = f.newly_ready()
        if f.finished:
            out.finished = True
            self._collect(part, {n.id: f.final[n.id] for n in g.nodes if n.op in COLLECTED}, out)
        return out

    def _direct(self, t: Table, n: Node) -> bool:
        """Large numeric outputs skip a batch: the driver makes one file per column for all
        partitions and each worker writes its rows at its offset (no copy to concatenate)."""
        return (self.spill is not None and t.n * 8 >= self.spill.min_bytes
                and all(not ty.text for ty in n.schema.types) and bool(n.schema.types))

    def write_out(self, part: int, targets: dict[str, tuple[list[str], int]]) -> None:
        """Writes the held outputs of partition `part` into the driver's column files at
        row offset `offset` (targets: node -> (one path per column, offset))."""
        held = self.held.pop(part, {})
        for node_id, (paths, offset) in targets.items():
            self.spill.write_at(paths, held[node_id], offset)

    # ------------------------------------------------ distributed semi-naive rounds
    def fix_begin(self, part: int, node_id: str) -> dict[str, Batch]:
        from dfl.runtime.dist.dist_fixpoint import DistFixpoint

        n = self.graph.node(node_id)
        flow = self.flows.get(part)
        ins = [flow.full(i) if flow is not None else self.values[part][i] for i in n.inputs]
        with self._profiled(part, node_id):
            self.fix[(part, node_id)] = f = DistFixpoint(n, part, self.parts, ins, self.ctx[part], self.plan)
        return self._batches(f.deltas(), f.schemas)

    def fix_step(self, part: int, node_id: str, others: dict[str, list[Batch]]) -> dict[str, dict[int, Batch]]:
        f = self.fix[(part, node_id)]
        pool = self.plan.pool
        with self._profiled(part, node_id):
            sent = f.step({r: [from_batch(b, pool) for b in bs] for r, bs in others.items()})
        return {r: {p: to_batch(t, f.schemas[r].types, pool, self.spill) for p, t in enumerate(pieces) if t.n}
                for r, pieces in sent.items()}

    def fix_merge(self, part: int, node_id: str, received: dict[str, list[Batch]]) -> dict[str, Batch]:
        f = self.fix[(part, node_id)]
        pool = self.plan.pool
        return self._batches(f.merge({r: [from_batch(b, pool) for b in bs] for r, bs in received.items()}),
                             f.schemas)

    def fix_end(self, part: int, node_id: str) -> int:
        f = self.fix.pop((part, node_id))
        ctx = self.ctx[part]
        for r, t in f.results().items():
            ctx.fixpoint_results[(node_id, r)] = t
        ctx.stats["iterations"] = ctx.stats.get("iterations", 0) + f.iterations
        self.values[part][node_id] = Table([], 0)
        return f.iterations

    def _batches(self, tables: dict[str, Table], schemas) -> dict[str, Batch]:
        return {r: to_batch(t, schemas[r].types, self.plan.pool, self.spill) for r, t in tables.items()}

    def _send(self, ex: Node, part: int, t: Table, out: StageOut) -> None:
        src_dist = dist_of(self.graph.node(ex.inputs[0]))
        if src_dist.kind in ("replicated", "single") and part != 0:
            return  # every partition holds the same rows (or none): partition 0 speaks for all
        mode = ex.attr("mode")
        types = ex.schema.types
        t0 = time.process_time()
        if mode == "broadcast":
            b = to_batch(t, types, self.plan.pool, self.spill)
            out.broadcasts[ex.id] = b
            out.sent_bytes += b.nbytes * (self.parts - 1)
        elif mode == "gather":
            b = to_batch(t, types, self.plan.pool, self.spill)
            out.sends[ex.id] = {0: b}
            out.sent_bytes += b.nbytes if part != 0 else 0
        else:
            pieces = split(t, partition_of(t, ex.attr("keys"), types, self.plan.pool, self.parts), self.parts)
            dests = {}
            for p, piece in enumerate(pieces):
                if piece.n:
                    dests[p] = b = to_batch(piece, types, self.plan.pool, self.spill)
                    out.sent_bytes += b.nbytes if p != part else 0
            out.sends[ex.id] = dests
        st = out.stats.setdefault(ex.id + ":send", [t.n, t.n, 0.0])
        st[2] += time.process_time() - t0


def error_payload(e: BaseException) -> tuple:
    """A worker's error as plain values (exceptions with fields do not always pickle)."""
    if isinstance(e, DflError):
        return ("dfl", e.message, e.span, e.hint, e.kind)
    if isinstance(e, MemoryError):  # the user's run is too large, not a bug: exit 3
        return ("dfl", f"a worker ran out of memory (pid {os.getpid()})", None,
                "set a lower --memory-limit to be told which operator grows too large", "runtime")
    return ("internal", f"{type(e).__name__}: {e}", None, None, "runtime")


def raise_payload(p: tuple) -> None:
    tag, message, span, hint, kind = p
    if tag == "dfl":
        source = None
        if kind == "input" and span is not None:  # a worker's bad input line: show the line
            try:
                with open(span.file, encoding="utf-8", errors="replace") as f:
                    source = f.read()
            except OSError:
                pass
        raise DflError(message, span, hint=hint, kind=kind, source=source)
    raise RuntimeError(f"a worker failed: {message}")
