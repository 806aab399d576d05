"""A hash join's probe fused with the map/filter chain that follows it (chains.join_chains).

The smaller side is built (hashing.build); the probe side's matches are counted (to size
the output: an upper bound, since the chain's filters may drop rows); then one generated
kernel (exprgen.join_kernel_source) walks each probe row's bucket and runs the chain on
every matching pair, writing the rows it keeps at an atomic counter. The pairs themselves
never exist in memory.
"""
from __future__ import annotations

import numpy as np

from dfl.ir.graph import Node
from dfl.backends.columnar.table import DTYPES
from dfl.backends.cuda import hashing as H
from dfl.backends.cuda.chains import steps_of
from dfl.backends.cuda.columns import DTable, download, full
from dfl.backends.cuda.exprgen import join_kernel_source
from dfl.backends.cuda.ops import types_of
from dfl.backends.cuda.pipeline import compiled, out_types, replay
from dfl.runtime import limits


def run_join_chain(ctx, join: Node, chain: tuple[Node, ...], left: DTable, right: DTable) -> DTable:
    dev = ctx.dev
    lk, rk = join.attr("left_keys"), join.attr("right_keys")
    steps = steps_of(chain)
    probe_left = right.n <= left.n
    build, probe, bk, pk = (right, left, rk, lk) if probe_left else (left, right, lk, rk)
    ht, _ = H.build(dev, [build.cols[i] for i in bk], build.n)
    pmat, ph, _, total = H.probe_counts(dev, ht, [probe.cols[i] for i in pk], probe.n)
    limits.check_rows(total, limits.cpu_row_bytes(len(left.cols) + len(right.cols), 16))
    outs_t = out_types(steps, types_of(left) + types_of(right))
    outs = [dev.empty(total, DTYPES[t]) for t in outs_t]
    cursor = full(dev, 1, 0, np.int64)
    err = full(dev, 1, 0, np.int64)
    k = compiled(lambda name: join_kernel_source(name, steps, len(left.cols), len(right.cols), outs_t,
                                                 ctx.pool.code, probe_left), "join")
    dev.launch(k, probe.n, probe.n, ctx.ranks(), err, pmat, ph, ht.mat, ht.head, ht.nxt, cursor,
               *[c[:left.n] for c in left.cols], *[c[:right.n] for c in right.cols], *outs)
    if dev.scalar(err):  # the pairs and the chain on the cpu target, for its error message
        from dfl.backends.cpu.ops import op_join

        replay(ctx, steps, op_join(join, [download(dev, left), download(dev, right)], None))
    m = dev.scalar(cursor)
    distinct = left.distinct and right.distinct and all(n.op == "filter" for n in chain)
    return DTable([o[:m] for o in outs], m, distinct)
