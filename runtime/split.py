"""A one-process tick whose strata run on different devices: each top-level operator on
the executor of its placed device (`device` attribute, compiler/device_choice.py), the
rows moved between the two where an operator reads a relation made on the other device.

This is how `--target auto` runs a program whose strata the cost model split (a big
group-by on the GPU, a tiny recursion on the cpu). It needs an Executor
(backends/base.Executor: `eval_node`, `sorted`, `context`, `pool`) for each device
(`registry.executor(name, graph)`); `split_plan` returns None when one is missing and the
caller runs the whole program on one device (`Placed.run_device`).

The move between devices is the worker pool's batch format (runtime/dist/batches.py):
numeric columns as they are, strings as text, re-encoded with the receiving executor's
string pool. A device's executor takes host columnar Tables in and gives them out, so the
host <-> GPU copy is its own (the cost model counted it: `PCIE_NS_PER_BYTE`).

Example: with a GPU, `agg(k, count()) :- fact(_, k, _).` on 10M rows and a tiny
recursion beside it: the aggregate's stratum on cuda, the recursion on cpu, one tick.
"""
from __future__ import annotations

import numpy as np

from dfl.backends import registry
from dfl.backends.base import InputKey, TickResult
from dfl.backends.columnar.codec import decode_rows, encode_rows
from dfl.backends.columnar.table import Table
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import TICK_EFFECTS
from dfl.runtime.dist.batches import from_batch, to_batch


def devices_of(g: Graph) -> dict[str, str]:
    """Each top-level node's device; a `result` runs where its fixpoint ran (it reads the
    fixpoint's relations from that executor's context)."""
    out: dict[str, str] = {}
    for n in g.nodes:
        out[n.id] = out[n.inputs[0]] if n.op == "result" else (n.attr("device") or "cpu")
    return out


def split_plan(graph: Graph, backends: dict[str, str]) -> "SplitPlan | None":
    """The split plan for a placed graph whose nodes use more than one device, with
    `backends` naming each device's backend (cuda -> "cuda"); None when the graph uses one
    device or a device's backend has no executor."""
    used = set(devices_of(graph).values())
    if len(used) < 2:
        return None
    ex = {}
    for d in used:
        try:
            ex[d] = registry.executor(backends.get(d, d), graph)
        except Exception:  # noqa: BLE001 - no executor for that target: the caller runs one device
            return None
    return SplitPlan(graph, ex)


class SplitPlan:
    def __init__(self, graph: Graph, executors: dict) -> None:
        self.graph = graph
        self.ex = executors
        self.where = devices_of(graph)
        self.schemas = {r.name: r.schema for r in graph.relations}
        self.moved_rows = 0  # rows moved between devices in the last tick (tests, stats)

    def run(self, inputs: dict[InputKey, list[tuple]]) -> TickResult:
        with np.errstate(all="ignore"):  # int wraps and IEEE specials are the language's
            return self._run(inputs)

    def _run(self, inputs: dict[InputKey, list[tuple]]) -> TickResult:
        ctx = {}
        for d, ex in self.ex.items():
            enc = {key: encode_rows(rows, self.schemas[key[1]], ex.pool) for key, rows in inputs.items()}
            ctx[d] = ex.context(enc)
        values: dict[str, dict[str, Table]] = {d: {} for d in self.ex}
        by_id = {n.id: n for n in self.graph.nodes}
        out = TickResult()
        self.moved_rows = 0
        for n in self.graph.nodes:
            d = self.where[n.id]
            for i in n.inputs:
                if i not in values[d]:  # made on the other device: move it here
                    values[d][i] = self._move(values[self.where[i]][i], by_id[i], self.where[i], d)
            t = values[d][n.id] = self.ex[d].eval_node(n, values[d], ctx[d])
            if n.op in TICK_EFFECTS:
                ex = self.ex[d]
                out.take(n, decode_rows(ex.sorted(t, n.schema) if n.op == "sink" else t, n.schema, ex.pool))
        stats: dict[str, int] = {}
        for c in ctx.values():
            for k, v in c.stats.items():
                stats[k] = stats.get(k, 0) + v
        stats["rows moved between devices"] = self.moved_rows
        out.stats = stats
        return out

    def _move(self, t: Table, producer: Node, src: str, dst: str) -> Table:
        self.moved_rows += t.n
        return from_batch(to_batch(t, producer.schema.types, self.ex[src].pool), self.ex[dst].pool)
