"""Runs one tick of an IR graph: each node in topological order, over Python rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dfl.errors import DflError
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import TICK_EFFECTS
from dfl.backends.base import TickResult
from dfl.backends.interp.ops import TABLE
from dfl.backends.interp.relation import Rel
from dfl.runtime.limits import LimitExceeded
from dfl.stdlib.builtins import BuiltinError

if TYPE_CHECKING:  # the columnar layout (numpy) is imported only by run_columns: rows need none
    from dfl.backends.columnar.strings import StringPool
    from dfl.backends.columnar.table import Table


@dataclass
class Context:
    inputs: dict[tuple[str, str], list[tuple]]
    params: dict[str, Rel] = field(default_factory=dict)
    fixpoint_results: dict[tuple[str, str], Rel] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    cache: dict[tuple[str, str], object] = field(default_factory=dict)
    profile: Any = None  # runtime/profile.Profile when --stats asked for one

    def eval(self, node: Node, values: dict[str, Rel]) -> Rel:
        """eval_node in this context: the fixpoint (run from the op table) calls back through
        it, so backends/interp/fixpoint.py imports neither the plan nor the table (no circle)."""
        return eval_node(node, values, self)

    def compiled(self, node: Node, attr: str, make):
        """A node's generated function, made once per run (fixpoint bodies run it many times)."""
        key = (node.id, attr)
        f = self.cache.get(key)
        if f is None:
            f = self.cache[key] = make(node.attr(attr))
        return f


def eval_node(node: Node, values: dict[str, Rel], ctx: Context) -> Rel:
    if ctx.profile is not None:  # --stats: timed and counted (runtime/profile.py)
        return ctx.profile.measure(node, values, ctx, _eval_node)
    return _eval_node(node, values, ctx)


def _eval_node(node: Node, values: dict[str, Rel], ctx: Context) -> Rel:
    try:
        return TABLE[node.op](node, [values[i] for i in node.inputs], ctx)
    except BuiltinError as e:
        raise _runtime(node, str(e)) from None
    except (ArithmeticError, ValueError) as e:  # a float operation Python refuses
        raise _runtime(node, str(e)) from None
    except LimitExceeded as e:
        raise e.error(node.op, node.id, node.span) from None


def _runtime(node: Node, what: str) -> DflError:
    where = f" in the rule at line {node.span.line}" if node.span else ""
    return DflError(f"{what}{where}", node.span, kind="runtime")


class InterpPlan:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.cache: dict = {}  # generated functions, kept across ticks and runs
        self._pool: StringPool | None = None
        self.schemas = {r.name: r.schema for r in graph.relations}
        self.profile = None  # set by the caller for a profiled run (runtime/profile.py)

    @property
    def pool(self) -> StringPool:
        """run_columns' string codes, made on first use."""
        if self._pool is None:
            from dfl.backends.columnar.strings import StringPool

            self._pool = StringPool()
        return self._pool

    def run(self, inputs: dict[tuple[str, str], list[tuple]]) -> TickResult:
        ctx = Context(inputs, cache=self.cache, profile=self.profile)
        values: dict[str, Rel] = {}
        out = TickResult()
        for node in self.graph.nodes:
            rel = values[node.id] = eval_node(node, values, ctx)
            if node.op in TICK_EFFECTS:
                out.take(node, list(rel))
        out.stats = dict(ctx.stats)
        return out


    def run_columns(self, inputs: dict[tuple[str, str], Table]) -> dict[str, Table]:
        """One tick on columnar inputs (the plan interface): decoded to rows, run, and the
        sinks encoded back, unsorted. The oracle's answer for a columnar backend's."""
        from dfl.backends.columnar.codec import decode_rows, encode_rows

        res = self.run({key: decode_rows(t, self.schemas[key[1]], self.pool) for key, t in inputs.items()})
        return {n.attr("rel"): encode_rows(res.sinks[n.attr("rel")], n.schema, self.pool)
                for n in self.graph.by_op("sink")}


class InterpBackend:
    name = "interp"
    devices = ("cpu",)

    def compile(self, graph: Graph) -> InterpPlan:
        unsupported = {n.op for n in graph.nodes} - set(TABLE)
        if unsupported:
            raise DflError(f"the interp backend has no lowering for op(s) {', '.join(sorted(unsupported))}")
        return InterpPlan(graph)
