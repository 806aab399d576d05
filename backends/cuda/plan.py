"""The cuda backend: the IR run as numba-cuda kernels over device columns.

Rows arrive as Python tuples, are encoded on the host to columns (strings to codes of the
plan's StringPool) and uploaded once; every node then runs on the device (ops.py), chains
of map/filter nodes as one fused kernel each (chains.py); sinks, tables and deferred rows
come back at the end of the tick. An op without a lowering is named at compile time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dfl.errors import DflError
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import TICK_EFFECTS
from dfl.ir.types import Schema
from dfl.backends.base import TickResult
from dfl.backends.columnar.codec import decode_rows, encode_rows
from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import Table
from dfl.backends.cuda.chains import chains_of, join_chains, steps_of
from dfl.backends.cuda.columns import DTable, download, upload
from dfl.backends.cuda.device import Device, require_device
from dfl.backends.cuda.ops import TABLE, types_of
from dfl.runtime.limits import LimitExceeded
from dfl.stdlib.builtins import BuiltinError


@dataclass
class Shared:
    """What every context of one tick shares: the device, the pool and the ranks on the device."""

    dev: Device
    pool: StringPool
    chains: dict
    inner: frozenset
    joined: dict = field(default_factory=dict)  # chain's last node id -> (join, chain): joinfuse.py
    ranks: object = None
    order: object = None
    ranked: int = -1
    ev: object = None


@dataclass
class Context:
    sh: Shared
    inputs: dict
    params: dict = field(default_factory=dict)
    fixpoint_results: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    @property
    def dev(self) -> Device:
        return self.sh.dev

    @property
    def pool(self) -> StringPool:
        return self.sh.pool

    def child(self, params: dict) -> "Context":
        return Context(self.sh, self.inputs, params, self.fixpoint_results, self.stats)

    def encode(self, rows, schema: Schema) -> Table:
        return encode_rows(rows, schema, self.pool)

    def upload(self, t: Table) -> DTable:
        return upload(self.dev, t)

    def _rank(self) -> None:
        if self.sh.ranked != len(self.pool):
            r = self.pool.ranks() if len(self.pool) else np.zeros(1, np.int64)
            self.sh.ranks = self.dev.to_device(r)
            self.sh.order = self.dev.to_device(np.argsort(r).astype(np.int64))
            self.sh.ranked = len(self.pool)

    def ranks(self):
        """rank[code] on the device (string order by code point), current with the pool."""
        self._rank()
        return self.sh.ranks

    def order(self):
        self._rank()
        return self.sh.order

    def cpu_evaluator(self):
        if self.sh.ev is None:
            from dfl.backends.cpu.vexpr import Evaluator

            self.sh.ev = Evaluator(self.pool)
        return self.sh.ev

    def eval(self, node: Node, values: dict) -> DTable:
        return eval_node(node, values, self)

    def fixpoint(self, node: Node, ins: list) -> DTable:
        from dfl.backends.cuda.fixpoint import run_fixpoint

        return run_fixpoint(node, ins, self)


def eval_node(node: Node, values: dict, ctx: Context) -> DTable:
    from dfl.backends.cpu.plan import run_error
    from dfl.backends.cuda.pipeline import run_steps

    try:
        if node.id in ctx.sh.inner:
            return None  # type: ignore[return-value] - computed with the end of its chain
        fused = ctx.sh.joined.get(node.id)
        if fused is not None:
            from dfl.backends.cuda.joinfuse import run_join_chain

            j, chain = fused
            ctx.stats["fused_joins"] = ctx.stats.get("fused_joins", 0) + 1
            return run_join_chain(ctx, j, chain, values[j.inputs[0]], values[j.inputs[1]])
        chain = ctx.sh.chains.get(node.id)
        if chain is not None:
            t = values[chain[0].inputs[0]]
            out = run_steps(ctx, steps_of(chain), t, types_of(t))
            if all(n.op == "filter" for n in chain):
                out.distinct = t.distinct
            return out
        return TABLE[node.op](node, [values[i] for i in node.inputs], ctx)
    except (BuiltinError, LimitExceeded) as e:
        raise run_error(node, e) from None


def all_chains(graph: Graph) -> tuple[dict, dict]:
    """The fused map/filter chains and the joins fused with a chain, of the graph and its
    fixpoint bodies."""
    chains = dict(chains_of(graph))
    joined = join_chains(graph, chains)
    for n in graph.by_op("fixpoint"):
        c, j = all_chains(n.attr("body"))
        chains.update(c)
        joined.update(j)
    return chains, joined


class CudaPlan:
    def __init__(self, graph: Graph, dev: Device | None = None) -> None:
        self.graph = graph
        self.pool = StringPool()
        self.dev = dev if dev is not None else Device()
        self.schemas = {r.name: r.schema for r in graph.relations}
        self.chains, self.joined = all_chains(graph)
        inner = {n.id for c in self.chains.values() for n in c[:-1]}
        inner |= {j.id for j, _ in self.joined.values()}
        self.inner = frozenset(inner)

    def _shared(self) -> Shared:
        return Shared(self.dev, self.pool, self.chains, self.inner, self.joined)

    def run(self, inputs: dict[tuple[str, str], list[tuple]]) -> TickResult:
        from dfl.backends.cpu.plan import sorted_table

        enc = {key: upload(self.dev, encode_rows(rows, self.schemas[key[1]], self.pool))
               for key, rows in inputs.items()}
        ctx = Context(self._shared(), enc)
        values: dict = {}
        out = TickResult()
        with np.errstate(all="ignore"):
            for node in self.graph.nodes:
                t = values[node.id] = eval_node(node, values, ctx)
                if node.op in TICK_EFFECTS:
                    host = download(self.dev, t)
                    if node.op == "sink":
                        host = sorted_table(host, node.schema, self.pool)
                    out.take(node, decode_rows(host, node.schema, self.pool))
        out.stats = dict(ctx.stats)
        return out

    def run_columns(self, inputs: dict[tuple[str, str], Table]) -> dict[str, Table]:
        """One tick on host columnar inputs (codes of self.pool); the sinks as host tables."""
        ctx = Context(self._shared(), {k: upload(self.dev, t) for k, t in inputs.items()})
        values: dict = {}
        out: dict[str, Table] = {}
        with np.errstate(all="ignore"):
            for node in self.graph.nodes:
                t = values[node.id] = eval_node(node, values, ctx)
                if node.op == "sink":
                    out[node.attr("rel")] = download(self.dev, t)
        return out


def unsupported_ops(graph: Graph) -> set[str]:
    out = {n.op for n in graph.nodes} - set(TABLE)
    for n in graph.by_op("fixpoint"):
        out |= unsupported_ops(n.attr("body"))
    return out


class CudaBackend:
    name = "cuda"
    devices = ("cuda",)

    def compile(self, graph: Graph) -> CudaPlan:
        missing = unsupported_ops(graph)
        if missing:
            raise DflError(f"the cuda backend has no lowering for op(s) {', '.join(sorted(missing))}",
                           kind="usage", hint="run with --target cpu, or --target auto to fall back")
        require_device()
        return CudaPlan(graph)

