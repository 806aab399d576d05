"""The cpu backend: the same IR as the interpreter, run on columnar batches.

Rows arrive as Python tuples (the tick driver's interface), are encoded to columns once
(strings to dictionary codes), every node runs as columnar kernels, and the outputs are
decoded back to rows. The string pool lives as long as the plan, so codes are stable
across ticks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dfl.errors import DflError
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import TICK_EFFECTS
from dfl.ir.types import Schema, Type
from dfl.backends.base import TickResult
from dfl.backends.cpu.fixpoint import run_fixpoint
from dfl.backends.cpu.ops import TABLE
from dfl.backends.columnar.codec import decode_rows, encode_rows
from dfl.backends.columnar.frame import Frame
from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import DTYPES, Table
from dfl.backends.cpu.vexpr import Evaluator
from dfl.runtime.limits import LimitExceeded
from dfl.stdlib.builtins import BuiltinError

SUPPORTED_EXPR_OPS = None  # every IR expression op has a numpy lowering in vexpr.py


@dataclass
class Context:
    pool: StringPool
    ev: Evaluator
    inputs: dict[tuple[str, str], Table]
    params: dict[str, Table] = field(default_factory=dict)
    fixpoint_results: dict[tuple[str, str], Table] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    chains: dict = field(default_factory=dict)  # last node id -> fusible Chain (fuse.py)
    inner: frozenset = frozenset()  # ids of nodes evaluated as part of a chain or pipeline
    pipelines: dict = field(default_factory=dict)  # last node id -> join Pipeline (pipeline.py)
    profile: Any = None  # runtime/profile.Profile when --stats asked for one
    claims: dict = field(default_factory=dict)  # join id -> Claim, in a fixpoint's loop (claim_join.py)

    def child(self, params: dict[str, Table]) -> "Context":
        return Context(self.pool, self.ev, self.inputs, params, self.fixpoint_results, self.stats,
                       self.chains, self.inner, self.pipelines, profile=self.profile)

    def encode(self, rows, schema: Schema) -> Table:
        return encode_rows(rows, schema, self.pool)

    # The fixpoint is an op of the lowering table (ops.py) that evaluates nodes itself: it
    # reaches fixpoint.py, and fixpoint.py reaches eval_node, through the context, so that
    # ops.py, plan.py and fixpoint.py import one another in one direction only (no circle).
    def eval(self, node: Node, values: dict[str, Table]) -> Table:
        return eval_node(node, values, self)

    def fixpoint(self, node: Node, ins: list[Table]) -> Table:
        return run_fixpoint(node, ins, self)


def eval_node(node: Node, values: dict[str, Table], ctx: Context) -> Table:
    if ctx.profile is not None:  # --stats: timed and counted (runtime/profile.py)
        return ctx.profile.measure(node, values, ctx, _eval_node)
    return _eval_node(node, values, ctx)


def _eval_node(node: Node, values: dict[str, Table], ctx: Context) -> Table:
    try:
        if node.id in ctx.inner:
            return None  # type: ignore[return-value] - computed with the end of its chain
        chain = ctx.chains.get(node.id)
        if chain is not None:
            return _eval_chain(chain, values, ctx)
        pipe = ctx.pipelines.get(node.id)
        if pipe is not None:
            return _eval_pipeline(pipe, values, ctx)
        return TABLE[node.op](node, [values[i] for i in node.inputs], ctx)
    except (BuiltinError, LimitExceeded) as e:
        raise run_error(node, e) from None


def apply(node: Node, ins: list[Table], ctx: Context) -> Table:
    """The node's kernel on inputs given directly (the worker pool's pipelined steps: a
    self-join's two sides may be different pieces of one node)."""
    if ctx.profile is not None:  # --stats: timed and counted (runtime/profile.py)
        return ctx.profile.measure(node, ins, ctx, _apply)
    return _apply(node, ins, ctx)


def _apply(node: Node, ins: list[Table], ctx: Context) -> Table:
    try:
        return TABLE[node.op](node, ins, ctx)
    except (BuiltinError, LimitExceeded) as e:
        raise run_error(node, e) from None


def run_error(node: Node, e: BuiltinError | LimitExceeded) -> DflError:
    """A builtin's failure or a passed memory limit inside `node`, as the DflError that
    names its rule."""
    if isinstance(e, LimitExceeded):
        return e.error(node.op, node.id, node.span)
    where = f" in the rule at line {node.span.line}" if node.span else ""
    return DflError(f"{e}{where}", node.span, kind="runtime")


def _eval_chain(chain, values: dict[str, Table], ctx: Context) -> Table:
    """A filter/map chain: one fused native loop over enough rows, else node by node."""
    from dfl.backends.cpu import fuse

    first = chain.nodes[0]
    t = values[first.inputs[0]]
    if t.n >= fuse.min_rows():
        ctx.stats["fused"] = ctx.stats.get("fused", 0) + 1
        return fuse.run_chain(chain, t, list(_schema_types(t, first)))
    for n in chain.nodes:
        t = TABLE[n.op](n, [t], ctx)
    return t


def _eval_pipeline(pipe, values: dict[str, Table], ctx: Context) -> Table:
    """A join pipeline: one fused native loop over enough rows, else node by node."""
    from dfl.backends.cpu.pipeline import run_pipeline

    left, right = (values[i] for i in pipe.inputs)
    try:
        t = run_pipeline(pipe, left, right, ctx)
    except LimitExceeded as e:  # the rows past the limit are the join's, whatever follows it
        raise run_error(pipe.join, e) from None
    if t is not None:
        return t
    local = dict(values)
    for n in pipe.nodes:  # each node answers for its own failure, as outside a pipeline
        try:
            local[n.id] = TABLE[n.op](n, [local[i] for i in n.inputs], ctx)
        except (BuiltinError, LimitExceeded) as e:
            raise run_error(n, e) from None
    return local[pipe.last.id]


def _schema_types(t: Table, first: Node):
    return first.schema.types if first.op == "filter" else [
        {np.dtype(np.int64): Type.INT, np.dtype(np.float64): Type.FLOAT, np.dtype(np.bool_): Type.BOOL}[c.dtype]
        for c in t.cols]


def sorted_table(t: Table, schema: Schema, pool: StringPool) -> Table:
    """Rows in the output contract's order, sorted on columns (strings by their rank)."""
    if t.n < 2 or not t.cols:
        return t
    ranks = pool.ranks() if any(ty.text for ty in schema.types) else None
    keys = [ranks[c] if ty.text else c for c, ty in zip(t.cols, schema.types)]
    return t.take(np.lexsort(keys[::-1]))


class CpuPlan:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.pool = StringPool()
        self.ev = Evaluator(self.pool)
        self.schemas = {r.name: r.schema for r in graph.relations}
        from dfl.backends.cpu.fuse import chains_of
        from dfl.backends.cpu.pipeline import find_pipelines

        self.pipelines = find_pipelines(graph)
        piped = frozenset(n.id for p in self.pipelines.values() for n in p.nodes)
        self.chains = chains_of(graph, piped)
        self.inner = frozenset(n.id for c in self.chains.values() for n in c.nodes[:-1]) | \
            frozenset(n.id for p in self.pipelines.values() for n in p.nodes[:-1])
        self.profile = None  # set by the caller for a profiled run (runtime/profile.py)

    def _context(self, inputs: dict[tuple[str, str], Table]) -> Context:
        ctx = Context(self.pool, self.ev, inputs, chains=self.chains, inner=self.inner, pipelines=self.pipelines,
                      profile=self.profile)
        if self.profile is not None:  # a fused loop's rows in are those of its first node's inputs
            for p in self.pipelines.values():
                self.profile.fused[p.last.id] = (tuple(n.id for n in p.nodes), tuple(p.inputs))
            for c in self.chains.values():
                self.profile.fused[c.nodes[-1].id] = (tuple(n.id for n in c.nodes), (c.nodes[0].inputs[0],))
        return ctx

    def run(self, inputs: dict[tuple[str, str], list[tuple]]) -> TickResult:
        # int64 wraps and IEEE infinities/NaNs are the language's semantics, not warnings
        with np.errstate(all="ignore"):
            return self._run(inputs)

    def _run(self, inputs: dict[tuple[str, str], list[tuple]]) -> TickResult:
        enc = {key: encode_rows(rows, self.schemas[key[1]], self.pool) for key, rows in inputs.items()}
        ctx = self._context(enc)
        values: dict[str, Table] = {}
        out = TickResult()
        for node in self.graph.nodes:
            t = values[node.id] = eval_node(node, values, ctx)
            if node.op == "sink":  # outputs leave as columns, in the contract's order, for the writers
                out.take(node, Frame.from_table(t, node.schema, self.pool).sorted())
            elif node.op in TICK_EFFECTS:
                out.take(node, decode_rows(t, node.schema, self.pool))
        out.stats = dict(ctx.stats)
        return out


    def sorted(self, t: Table, schema: Schema) -> Table:
        return sorted_table(t, schema, self.pool)

    def run_columns(self, inputs: dict[tuple[str, str], Table]) -> dict[str, Table]:
        """One tick on columnar inputs (strings already encoded with self.pool); the sinks
        as tables, unsorted. For embedding and benchmarks: no per-row Python at all."""
        with np.errstate(all="ignore"):
            return self._run_columns(inputs)

    def _run_columns(self, inputs: dict[tuple[str, str], Table]) -> dict[str, Table]:
        ctx = self._context(inputs)
        values: dict[str, Table] = {}
        out: dict[str, Table] = {}
        for node in self.graph.nodes:
            t = values[node.id] = eval_node(node, values, ctx)
            if node.op == "sink":
                out[node.attr("rel")] = t
        return out


def warm_up(graph: Graph | None = None) -> None:
    """Load one cached kernel: numba sets up its cpu target (its typing and lowering
    registries, ~0.5-1 s once per process) on the first kernel a process calls, so a
    warm-up thread (runtime/warmup.py) pays it while the inputs are read. With the
    program's graph, also load from numba's disk cache the machine code of the kernels its
    operators may call (~30-100 ms each), for every signature already cached: nothing is
    compiled here that the cache does not hold."""
    from dfl.backends.cpu import kernels as K

    one = np.zeros(1, np.int64)
    K.factorize1(one)
    # a parallel kernel's first call starts numba's threading layer and adds its typing
    # registries (another ~0.25 s here), whichever kernel it is
    K.group_sum_i_parallel(one, one, 1, 1)
    if graph is None:
        return
    from dfl.backends.cpu.physical import kernels_of

    for name in kernels_of(graph):
        for variant in (name, f"{name}_parallel"):  # the plan names a kernel, the op may pick its parallel form
            disp = getattr(K, variant, None)
            if disp is not None:
                _load_cached(disp)


def _load_cached(disp) -> None:
    """Bind every overload of `disp` that numba's cache holds for this machine. numba has no
    public call for "load, never compile": this reads its cache index (internal names,
    stable since numba 0.49); any surprise just skips the warm-up."""
    try:
        index = disp._cache._cache_file._load_index()
        magic = disp.targetctx.codegen().magic_tuple()
        sigs = [key[0] for key in index if key[1] == magic]
    except Exception:  # noqa: BLE001 - a warm-up never fails a run
        return
    for sig in sigs:
        try:
            disp.compile(sig)  # found in the cache: loaded, not compiled
        except Exception:  # noqa: BLE001
            return


class CpuBackend:
    name = "cpu"
    devices = ("cpu",)

    def compile(self, graph: Graph) -> CpuPlan:
        unsupported = {n.op for n in graph.nodes} - set(TABLE)
        for n in graph.by_op("fixpoint"):
            unsupported |= {m.op for m in n.attr("body").nodes} - set(TABLE)
        if unsupported:
            raise DflError(f"the cpu backend has no lowering for op(s) {', '.join(sorted(unsupported))}",
                           kind="usage", hint="run with --target interp, or --target auto to fall back")
        return CpuPlan(graph)

    def plan_text(self, graph: Graph) -> str:
        """The kernels each node runs with (`dfl compile --emit plan`)."""
        from dfl.backends.cpu.physical import plan_text

        return plan_text(graph)

    def llvm_text(self, graph: Graph) -> str:
        """The LLVM IR of those kernels (`dfl compile --emit llvm`)."""
        from dfl.backends.cpu.physical import llvm_text

        return llvm_text(graph)
