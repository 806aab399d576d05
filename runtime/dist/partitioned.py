"""The driver of a partitioned run: a Plan (backends/base.py) that runs each tick of a
placed graph over N partitions on a worker pool, so the tick loop (runtime/ticks.py) is
the same as in one process.

Per tick: the source rows are encoded to columns and split by their distribution; each
partition is given to a leased worker; then stage by stage every worker runs its
partitions' operators and the driver routes what the exchanges send (hash: to one
partition, broadcast: to all, gather: to partition 0). After the last stage the driver
collects the outputs, table states and deferred rows.

Faults: the driver keeps, for the current tick, every partition's inputs and every batch
sent to it. When a worker dies, its process is replaced and its partitions re-run from
those inputs (their earlier sends, already delivered, are dropped), so results are the
same and no row is lost. A worker that dies more than `max_retries` times in one tick
fails the run with a message naming the partitions.
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from dfl.backends.base import TickResult
from dfl.backends import registry
from dfl.backends.columnar.codec import decode_rows, encode_rows
from dfl.backends.columnar.frame import Frame
from dfl.compiler.placement import dist_of
from dfl.errors import DflError
from dfl.ir.graph import Graph
from dfl.backends.columnar.table import DTYPES, Table
from dfl.runtime.dist.batches import (Batch, from_batch, mapped_file, merge, partition_of, spill_for_run, split,
                                 to_batch)
from dfl.runtime.io.native import read_input
from dfl.runtime.io.file_inputs import FileInput, chunks
from dfl.runtime import limits
from dfl.runtime.pools.pool import WorkerLost
from dfl.runtime.dist.worker import COLLECTED, Held, StageOut, iterative, raise_payload, stages_of


class _LostInRound(Exception):
    def __init__(self, lost: list[WorkerLost]) -> None:
        super().__init__(f"{len(lost)} worker(s) lost")
        self.lost = lost


@dataclass
class RunStats:
    """What a partitioned run did, summed over its ticks."""
    nodes: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0.0]))
    workers: dict[int, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0]))  # pid: calls, cpu s
    exchanged_bytes: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    retries: int = 0
    ticks: int = 0
    wall_s: float = 0.0
    schedule: str = "stages"
    steps: int = 0  # pipelined: steps run by the partitions (stages: stage calls)
    waves: int = 0  # pipelined: times the driver sent work out (stages: stages)
    seals: int = 0  # pipelined: exchanges sealed, the only waits between partitions
    early_rows: int = 0  # pipelined: rows emitted before the emitting operator's inputs were complete
    # distributed fixpoints: node -> one (wall seconds, {relation: new rows over all partitions}) per round
    rounds: dict[str, list[tuple[float, dict[str, int]]]] = field(default_factory=dict)
    profile: Any = None  # with --stats: the partitions' profiles summed (runtime/profile.py)


class PartitionedPlan:
    schedule = "stages"

    def __init__(self, graph: Graph, pool, parts: int, max_retries: int = 3,
                 on_stage: Callable[[int, int, object], None] | None = None, threads: int | None = None,
                 target: str = "cpu") -> None:
        self.graph = graph
        self.pool = pool
        self.parts = parts
        self.max_retries = max_retries
        self.on_stage = on_stage  # a hook (tick, stage, (pool, home)) before each stage attempt: fault tests
        self.stage = stages_of(graph)
        self.last = max(self.stage.values(), default=0)
        self.iterative: dict[int, list] = defaultdict(list)  # stage -> distributed fixpoints run before it
        for n in graph.nodes:
            if iterative(n):
                self.iterative[self.stage[n.id]].append(n)
        self.target = target  # the backend whose executor runs the partitions
        self.local = registry.executor(target, graph)  # the driver's string pool and output order
        self.schemas = {r.name: r.schema for r in graph.relations}
        self.stats = RunStats(schedule=self.schedule)
        self.key = object()  # identifies this graph to the workers that loaded it
        self.spill = spill_for_run()  # large batches through shared memory, cleaned each tick
        self.threads = threads
        self.tick = 0

    # ---------------------------------------------------------------- inputs
    def _split_sources(self, tables: dict[tuple[str, str], object]) -> list[dict[tuple[str, str], object]]:
        """Each source's rows (encoded with the driver's pool) split by its distribution;
        a file left to the workers is cut into one part per partition."""
        per_part: list[dict[tuple[str, str], object]] = [{} for _ in range(self.parts)]
        pool = self.local.pool
        for n in self.graph.by_op("source"):
            key = (n.attr("kind"), n.attr("rel"))
            t = tables.get(key)
            if t is None:
                continue
            d = dist_of(n)
            if isinstance(t, FileInput):
                if d.kind == "any":
                    for p, chunk in enumerate(chunks(t, self.parts)):
                        per_part[p][key] = chunk
                    continue
                t = encode_rows(read_input(t.path, t.schema, t.relation), n.schema, pool)
            if d.kind == "hash":
                pieces = split(t, partition_of(t, d.keys, n.schema.types, pool, self.parts), self.parts)
            elif d.kind == "any":
                bounds = [t.n * p // self.parts for p in range(self.parts + 1)]
                pieces = [Table([c[bounds[p]:bounds[p + 1]] for c in t.cols], bounds[p + 1] - bounds[p])
                          for p in range(self.parts)]
            else:
                pieces = [t] + [t.take(np.empty(0, np.int64))] * (self.parts - 1)
            for p, piece in enumerate(pieces):
                b = to_batch(piece, n.schema.types, pool, self.spill)
                per_part[p][key] = b
                self.stats.input_bytes += b.nbytes
        return per_part

    # ---------------------------------------------------------------- one tick
    def run(self, inputs: dict[tuple[str, str], list[tuple]]) -> TickResult:
        """One tick on rows (the tick loop's interface)."""
        schemas = {(n.attr("kind"), n.attr("rel")): n.schema for n in self.graph.by_op("source")}
        tables = {key: rows if isinstance(rows, FileInput) else encode_rows(rows, schemas[key], self.local.pool)
                  for key, rows in inputs.items() if key in schemas}
        return self._result(self._tick(tables))

    def run_columns(self, tables: dict[tuple[str, str], Table]) -> dict[str, Table]:
        """One tick on columns encoded with `self.local.pool`; the sinks as tables, unsorted
        (as a one-process plan's run_columns): no per-row Python on the driver."""
        merged = self._tick(tables)
        return {n.attr("rel"): merged[n.id] for n in self.graph.by_op("sink")}

    def _tick(self, tables: dict[tuple[str, str], Table]) -> dict[str, Table]:
        """One tick; the rows of every collected node (sink, persist, defer), merged."""
        t0 = time.monotonic()
        begins = self._split_sources(tables)
        slots = self.pool.acquire(self.parts)
        retries = [0]
        try:
            home = {p: slots[p % len(slots)] for p in range(self.parts)}
            while True:
                try:
                    merged = self._stages(home, begins, slots, retries)
                    break
                except _LostInRound as e:
                    # a worker died during the rounds of a distributed fixpoint: those
                    # rounds hold state in every partition, so the tick starts over
                    self._count_losses(e.lost, home, retries)
                    for w in e.lost:
                        self.pool.replace(w.slot)
        finally:
            self.pool.release(slots)
            if self.spill is not None:
                # the workers have mapped what they keep; the files can go (a mapping
                # outlives its file's name)
                self.spill.cleanup(background=True)
        self.tick += 1
        self.stats.ticks += 1
        self.stats.wall_s += time.monotonic() - t0
        return merged

    def _count_losses(self, lost: list[WorkerLost], home: dict[int, int], retries: list[int]) -> None:
        retries[0] += len(lost)
        self.stats.retries += len(lost)
        if retries[0] > self.max_retries:
            parts = sorted(p for p, sl in home.items() if sl in {w.slot for w in lost})
            codes = ", ".join(str(w.exitcode) if w.hung_s is None else
                              f"{w.exitcode}: killed after {w.hung_s:.1f} s without a sign of life" for w in lost)
            raise DflError(f"a worker process died {retries[0]} times in tick {self.tick} (exit code "
                           f"{codes}), running partition(s) {parts}; giving up after "
                           f"{self.max_retries} retries", kind="runtime",
                           hint="look for memory limits or signals killing the worker processes")

    def _stages(self, home: dict[int, int], begins, slots: list[int], retries: list[int]) -> dict[str, Table]:
        history: dict[int, list[dict[str, list[Batch]]]] = {p: [] for p in range(self.parts)}
        self._prepare(home, begins, set(slots))
        collected: dict[str, list[Batch]] = defaultdict(list)
        inbox: dict[int, dict[str, list[Batch]]] = {p: {} for p in range(self.parts)}
        for s in range(self.last + 1):
            for n in self.iterative.get(s, []):
                if self.on_stage is not None:
                    self.on_stage(self.tick, s, (self.pool, home))
                self._iterate(home, n)
            for p in range(self.parts):
                history[p].append(inbox[p])
            outs: dict[int, StageOut] = {}
            todo = set(range(self.parts))
            while True:
                if self.on_stage is not None:  # before every attempt of the stage
                    self.on_stage(self.tick, s, (self.pool, home))
                done, lost = self._stage(home, s, inbox, todo)
                outs.update(done)
                todo -= set(done)
                if not lost:
                    break
                self._count_losses(lost, home, retries)
                if self.iterative and any(st <= s for st in self.iterative):
                    raise _LostInRound(lost)  # its replay would need the rounds again
                for w in lost:
                    self._recover(w.slot, home, begins, history, s)
            self.stats.waves += 1
            inbox = {p: {} for p in range(self.parts)}
            for p, out in outs.items():
                self._account(out)
                for ex, dests in out.sends.items():
                    for d, b in dests.items():
                        inbox[d].setdefault(ex, []).append(b)
                for ex, b in out.broadcasts.items():
                    for d in range(self.parts):
                        inbox[d].setdefault(ex, []).append(b)
                for node, b in out.collected.items():
                    collected[node].append((p, b))
        # mapped before the tick's shared-memory files are removed
        return self._collect_all(home, collected)

    def _collect_all(self, home: dict[int, int], collected: dict[str, list]) -> dict[str, Table]:
        """Every collected node's rows in one table: batches merged here, and large outputs
        the workers hold written by them straight into one file per column (no copy)."""
        out: dict[str, Table] = {}
        targets: dict[int, dict[str, tuple[list[str], int]]] = defaultdict(dict)
        direct = []
        for n in self.graph.nodes:
            if n.op not in COLLECTED:
                continue
            got = sorted(collected.get(n.id, []), key=lambda x: x[0])
            if not any(isinstance(b, Held) for _, b in got):
                out[n.id] = self._merged(n, [b for _, b in got])
                continue
            total = sum(b.n for _, b in got)
            paths = [self.spill.new_file(total * np.dtype(DTYPES[t]).itemsize) for t in n.schema.types]
            offset = 0
            for p, b in got:
                if isinstance(b, Held):
                    targets[p][n.id] = (paths, offset)
                else:  # a small part came as a batch: the driver writes it
                    self.spill.write_at(paths, from_batch(b, self.local.pool), offset)
                offset += b.n
            direct.append((n, paths, total))
        if targets:
            self._round(home, "write_out", {p: (p, targets.get(p, {})) for p in range(self.parts)})
        for n, paths, total in direct:
            out[n.id] = Table([mapped_file(path, DTYPES[t], total) for path, t in zip(paths, n.schema.types)],
                              total)
        return out

    # ---------------------------------------------------------------- distributed fixpoints
    def _per_partition(self, home: dict[int, int], method: str, args: dict[int, tuple],
                       todo=None) -> tuple[dict[int, object], list[WorkerLost]]:
        """`method(*args[p])` for each partition p (in todo), each on its home worker, all
        workers at once: the answers by partition, and the workers that died."""
        reqs: dict[int, list] = defaultdict(list)
        order: dict[int, list[int]] = defaultdict(list)
        for p, slot in home.items():
            if todo is None or p in todo:
                reqs[slot].append((method, args[p]))
                order[slot].append(p)
        out: dict[int, object] = {}
        lost = []
        for slot, res in self.pool.call(dict(reqs)).items():
            if isinstance(res, WorkerLost):
                lost.append(res)
                continue
            self._check(res)
            for p, r in zip(order[slot], res):
                out[p] = r
        return out, lost

    def _round(self, home: dict[int, int], method: str, args: dict[int, tuple]) -> dict[int, object]:
        """One call per partition; a lost worker aborts the rounds (and restarts the tick)."""
        out, lost = self._per_partition(home, method, args)
        if lost:
            raise _LostInRound(lost)
        return out

    def _iterate(self, home: dict[int, int], n) -> None:
        """Distributed semi-naive rounds of fixpoint n until no partition has a delta."""
        ps = range(self.parts)
        deltas = self._round(home, "fix_begin", {p: (p, n.id) for p in ps})
        rounds = 0
        log = self.stats.rounds.setdefault(n.id, [])
        while any(b.n for d in deltas.values() for b in d.values()):
            rounds += 1
            t0 = time.monotonic()
            others = {p: {r: [deltas[q][r] for q in ps if q != p and deltas[q][r].n] for r in deltas[p]}
                      for p in ps}
            for p in ps:
                self.stats.exchanged_bytes += sum(b.nbytes for bs in others[p].values() for b in bs)
            sent = self._round(home, "fix_step", {p: (p, n.id, others[p]) for p in ps})
            inbox = {p: {r: [sent[q][r][p] for q in ps if p in sent[q].get(r, {})] for r in deltas[p]} for p in ps}
            for p in ps:
                self.stats.exchanged_bytes += sum(b.nbytes for q, bs in inbox[p].items() for b in bs)
            deltas = self._round(home, "fix_merge", {p: (p, n.id, inbox[p]) for p in ps})
            log.append((time.monotonic() - t0, {r: sum(deltas[p][r].n for p in ps) for r in deltas[0]}))
        self._round(home, "fix_end", {p: (p, n.id) for p in ps})
        acc = self.stats.nodes[n.id]
        acc[1] += rounds

    def _prepare(self, home: dict[int, int], begins, slots: set[int], force: bool = False) -> None:
        reqs: dict[int, list] = defaultdict(list)
        for slot in slots:
            proc = self.pool.procs[slot]
            if force or proc.loaded is not self.key:
                reqs[slot].append(self._load())
        for p, slot in home.items():
            if slot in slots:
                reqs[slot].append(("begin", (p, begins[p])))
        for slot, res in self.pool.call(dict(reqs)).items():
            self._check(res)
            self.pool.procs[slot].loaded = self.key

    def _stage(self, home: dict[int, int], s: int, inbox,
               todo: set[int]) -> tuple[dict[int, StageOut], list[WorkerLost]]:
        """Stage s for the partitions in todo; the outputs of those whose worker answered,
        and the workers that died."""
        return self._per_partition(home, "run_stage", {p: (p, s, inbox[p]) for p in todo}, todo)

    def _recover(self, slot: int, home, begins, history, s: int) -> None:
        """A new process for a dead worker; its partitions replay the tick up to stage s."""
        self.pool.replace(slot)
        mine = [p for p, sl in home.items() if sl == slot]
        reqs = [self._load()]
        reqs += [("begin", (p, begins[p])) for p in mine]
        for past in range(s):
            reqs += [("run_stage", (p, past, history[p][past])) for p in mine]
        res = self.pool.call({slot: reqs})[slot]
        if isinstance(res, WorkerLost):
            return  # died again: the next attempt of the stage finds it and counts the retry
        self._check(res)
        self.pool.procs[slot].loaded = self.key

    def _load(self) -> tuple[str, tuple]:
        """The request that gives a worker this run's graph, its share of the machine and
        the backend whose executor runs it."""
        return ("load", (self.graph, self.parts, self.spill, self._threads(), self._memory_share(), self.target,
                         self.stats.profile is not None))

    def _threads(self) -> int:
        """Kernel threads per worker: the cores shared by the pool's workers."""
        fixed = self.threads or getattr(self.pool, "threads_per_worker", None)
        if fixed:
            return fixed
        return max(1, (os.cpu_count() or 1) // max(1, self.pool.size()))

    def _memory_share(self) -> int | None:
        """Each worker's share of the run's memory limit (runtime/limits.py), which its
        operators check against in its own process."""
        limit = limits.current()
        return None if limit is None else max(1, limit // max(1, self.pool.size()))

    @staticmethod
    def _check(res) -> None:
        if isinstance(res, tuple) and len(res) == 2 and res[0] == "err":
            raise_payload(res[1])

    def _account(self, out: StageOut) -> None:
        st = self.stats
        st.exchanged_bytes += out.sent_bytes
        st.steps += 1
        st.early_rows += out.early_rows
        w = st.workers[out.pid]
        w[0] += 1
        if out.profile is not None and st.profile is not None:
            st.profile.absorb(out.profile, st.ticks + 1)
        for node, (rin, rout, cpu) in out.stats.items():
            acc = st.nodes[node]
            acc[0] += rin
            acc[1] += rout
            acc[2] += cpu
            w[1] += cpu

    # ---------------------------------------------------------------- outputs
    def _merged(self, n, batches: list[Batch]) -> Table:
        self.stats.output_bytes += sum(b.nbytes for b in batches)
        return merge(batches, self.local.pool, n.schema.types)

    def _result(self, merged: dict[str, Table]) -> TickResult:
        out = TickResult()
        pool = self.local.pool
        for n in self.graph.nodes:
            if n.op not in COLLECTED:
                continue
            t = merged[n.id]
            if n.op == "sink":  # outputs as columns, in the contract's order, for the writers
                out.take(n, Frame.from_table(t, n.schema, pool).sorted())
            else:
                out.take(n, decode_rows(t, n.schema, pool))
        return out
