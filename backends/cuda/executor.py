"""The cuda backend's executor for the worker pool (backends/base.Executor).

The partitioned runtime hands an executor host tables (they cross processes between
stages) and reads host tables back; so here each operator uploads its inputs, runs its
device kernels (the same lowering table as one process: ops.py) and downloads its output,
and the recursive relations' stores are device row sets behind a host interface. Inside
a worker, then, every operator is a transfer boundary: worth it when the operators are
heavy (joins, group-bys) against the rows they move; a one-process plan (plan.py) keeps
its columns on the device between operators. The device is opened on first use, in the
worker process (never in the pool's fork server: CUDA does not survive a fork).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import Table
from dfl.backends.seminaive import variant_nodes
from dfl.ir.graph import Graph, Node
from dfl.ir.types import Schema


@dataclass
class HostContext:
    """One partition's evaluation state: host tables in and out (base.ExecContext)."""

    ex: "CudaExecutor"
    inputs: dict
    params: dict = field(default_factory=dict)
    fixpoint_results: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    def child(self, params: dict) -> "HostContext":
        return HostContext(self.ex, self.inputs, params, self.fixpoint_results, self.stats)


class HostStore:
    """A device store (fixpoint.SetStore / DeviceLattice) that takes and gives host tables."""

    def __init__(self, ex: "CudaExecutor", store) -> None:
        self.ex, self.store = ex, store

    def add(self, t: Table) -> Table:
        return self.ex.down(self.store.add(self.ex.up(t)))

    def full(self) -> Table:
        return self.ex.down(self.store.full())

    view = full


class CudaExecutor:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.pool = StringPool()
        self._ctx = None

    def _device_ctx(self):
        """The cuda plan's context over this executor's pool (the device opened now)."""
        if self._ctx is None:
            from dfl.backends.cuda.device import Device, require_device
            from dfl.backends.cuda.plan import Context, Shared

            require_device()
            self._ctx = Context(Shared(Device(), self.pool, {}, frozenset()), {})
        return self._ctx

    def up(self, t: Table):
        from dfl.backends.cuda.columns import upload

        return upload(self._device_ctx().dev, t)

    def down(self, t) -> Table:
        from dfl.backends.cuda.columns import download

        return download(self._device_ctx().dev, t)

    def context(self, inputs: dict) -> HostContext:
        return HostContext(self, inputs)

    def eval_node(self, node: Node, values: dict, ctx: HostContext) -> Table:
        return self.apply(node, [values[i] for i in node.inputs], ctx)

    def apply(self, node: Node, ins: list, ctx: HostContext) -> Table:
        from dfl.backends.cpu.plan import run_error
        from dfl.backends.cuda.ops import TABLE
        from dfl.runtime.limits import LimitExceeded
        from dfl.stdlib.builtins import BuiltinError

        if node.op == "source":
            t = ctx.inputs.get((node.attr("kind"), node.attr("rel")))
            return t if t is not None else Table.empty(node.schema)
        if node.op == "param":
            return ctx.params[node.attr("name")]
        if node.op == "result":
            return ctx.fixpoint_results[(node.inputs[0], node.attr("rel"))]
        if node.op in ("yield", "sink", "persist", "exchange", "defer"):
            return ins[0]
        dctx = self._device_ctx()
        sub = dctx.child({k: self.up(v) for k, v in ctx.params.items()})
        sub.stats = ctx.stats
        try:
            with np.errstate(all="ignore"):
                out = TABLE[node.op](node, [self.up(t) for t in ins], sub)
        except (BuiltinError, LimitExceeded) as e:
            raise run_error(node, e) from None
        if node.op == "fixpoint":
            for key, t in sub.fixpoint_results.items():
                ctx.fixpoint_results[key] = self.down(t)
        return self.down(out)

    def distinct(self, t: Table) -> Table:
        from dfl.backends.cuda.hashing import distinct

        return self.down(distinct(self._device_ctx().dev, self.up(t)))

    def relation(self, schema: Schema) -> HostStore:
        from dfl.backends.cuda.fixpoint import _store

        return HostStore(self, _store(self._device_ctx(), schema))

    def row_set(self, schema: Schema) -> HostStore:
        from dfl.backends.cuda.fixpoint import SetStore

        return HostStore(self, SetStore(self._device_ctx(), schema))

    def delta_nodes(self, body: Graph) -> set[str]:
        return variant_nodes(body)

    def sorted(self, t: Table, schema: Schema) -> Table:
        from dfl.backends.cpu.plan import sorted_table

        return sorted_table(t, schema, self.pool)
