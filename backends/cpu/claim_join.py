"""Joins that feed their fixpoint's relation emit only the rows the relation lacks.

Semi-naive evaluation derives most rows many times: a points-to analysis derives some
twenty rows for each one it keeps. Built plainly, every derivation is a join output row
(all columns of both sides), then projected, concatenated with the other rules' rows, and
hashed into the relation's set, which finds it there already. A join whose rows go, through
a projection only, straight to the relation of its fixpoint (`R(x, z) :- A(x, y), B(y, z)`:
join -> map of columns -> union -> yield R) instead looks each derived row up in R's
packed row set as it walks the index (packed_set.claim_pairs): rows R holds are dropped on
the spot, the others are claimed, so a second derivation in the same iteration is dropped
too, and only the new rows are built. The merge then adds exactly those rows (a claimed
row counts as new once). Rows the set cannot pack are kept and left to the merge.

Only in one process: the worker pool ships derived rows to the partition that owns them
between deriving and merging, so a partition's set is not the judge of its derived rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfl.ir.expr import Col
from dfl.ir.graph import Graph, Node
from dfl.ir.types import Schema
from dfl.backends.columnar.table import DTYPES, Table, key_matrix
from dfl.backends.cpu.index import join_side
from dfl.backends.cpu.packed_set import PackedSet, claim_pairs
from dfl.runtime import limits


@dataclass(frozen=True)
class Claim:
    """A join feeding relation `rel`: output column c of the relation is the join's column
    `cols[c]` (left columns first, then right)."""

    rel: str
    cols: tuple[int, ...]


def claims_of(body: Graph, schemas: dict[str, Schema]) -> dict[str, Claim]:
    """The joins of a fixpoint body whose rows reach a set relation's yield through a
    column projection only, int columns throughout (the packed set's domain)."""
    users = body.consumers()
    out: dict[str, Claim] = {}
    for y in body.by_op("yield"):
        rel = y.attr("rel")
        schema = schemas[rel]
        if schema.is_lattice or not schema.arity or any(DTYPES[t] != np.int64 for t in schema.types):
            continue
        union = body.node(y.inputs[0])
        if union.op != "union":
            continue
        for i in union.inputs:
            m = body.node(i)
            if m.op != "map" or len(users.get(m.id, ())) != 1 or not all(isinstance(e, Col) for e in m.attr("exprs")):
                continue
            j = body.node(m.inputs[0])
            if j.op != "join" or len(users.get(j.id, ())) != 1 or not j.attr("left_keys"):
                continue
            out[j.id] = Claim(rel, tuple(e.index for e in m.attr("exprs")))
    return out


def claim_join(node: Node, left: Table, right: Table, claim_store: tuple[Claim, object], ctx) -> Table | None:
    """The join's output rows whose derived row the relation lacks (each once), or None
    where the relation's set is not packed (the plain join runs)."""
    claim, store = claim_store
    pset = store.set
    if not isinstance(pset, PackedSet) or pset.shifts is None or left.n == 0 or right.n == 0:
        return None
    lk, rk = node.attr("left_keys"), node.attr("right_keys")
    idx, probe_left = join_side(left, right, lk, rk)
    if not hasattr(idx, "layout"):  # a unique dense index: the plain join is one lookup a row
        return None
    probe, build = (left, right) if probe_left else (right, left)
    pkeys = lk if probe_left else rk
    gids = idx.gids(key_matrix([probe.cols[i] for i in pkeys], probe.n))
    nl = len(left.cols)
    # the derived row's columns, each from the probe or the build side
    from_left = np.array([c < nl for c in claim.cols], np.bool_)
    side_col = np.array([c if c < nl else c - nl for c in claim.cols], np.int64)
    from_build = ~from_left if probe_left else from_left
    pcols = _columns(probe, side_col[~from_build])
    bcols = _columns(build, side_col[from_build])
    col = np.array([pcols[1][c] if not b else bcols[1][c] for c, b in zip(side_col, from_build)], np.int64)
    pset.slots, pset.count, pi, bi = claim_pairs(pset.slots, pset.count, *idx.layout(), gids, pcols[0], bcols[0],
                                                 from_build, col, pset.shifts, pset.limits)
    limits.check_rows(len(pi), limits.cpu_row_bytes(len(left.cols) + len(right.cols), 16))
    li, ri = (pi, bi) if probe_left else (bi, pi)
    ctx.stats["claimed_joins"] = ctx.stats.get("claimed_joins", 0) + 1
    return Table([c[li] for c in left.cols] + [c[ri] for c in right.cols], len(li))


def _columns(t: Table, wanted: np.ndarray) -> tuple[tuple[np.ndarray, ...], dict[int, int]]:
    """Those columns of t (int64, contiguous: one numba type for the tuple), and each
    one's position in the tuple; a side nothing is read from passes one column anyway."""
    cols = sorted({int(c) for c in wanted}) or [0]
    arrays = tuple(np.ascontiguousarray(t.cols[c], dtype=np.int64) for c in cols) if t.cols else \
        (np.zeros(t.n, np.int64),)
    return arrays, {c: i for i, c in enumerate(cols)}
