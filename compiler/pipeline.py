"""The pass pipeline: the passes in order, each Graph -> Graph (DESIGN.md style 3).

`compile_source` runs the front half: parse -> check -> lower -> passes.
"""
from __future__ import annotations

from typing import Callable

from dfl.ir.graph import Graph
from dfl.compiler.passes.prune import prune
from dfl.compiler.passes.pushdown import pushdown
from dfl.compiler.passes.range_aggregates import range_aggregates
from dfl.compiler.passes.recursion_shapes import recursion_shapes
from dfl.compiler.passes.seminaive import seminaive

Pass = Callable[[Graph], Graph]

PASSES: tuple[Pass, ...] = (
    pushdown,
    range_aggregates,  # after pushdown (a filter on one side only leaves the join), before seminaive
    prune,
    seminaive,
    recursion_shapes,  # on the semi-naive bodies: after seminaive
)


def optimize(g: Graph, passes: tuple[Pass, ...] = PASSES, verify: bool = False) -> Graph:
    for p in passes:
        g = p(g)
        if verify:
            from dfl.ir.verify import verify as check_graph

            check_graph(g)
    return g
