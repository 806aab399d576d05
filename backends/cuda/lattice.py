"""A lattice relation that grows on the device: one row per key, its lattice columns merged
(min or max) in place, so adding a batch costs the batch.

The keys are a DeviceRowSet (rowset.py); each lattice column is a growing device array
beside it, row for row. A batch is first merged per key (ops.lattice_merge: a group-by
with atomic min/max), so each key appears once; each candidate then finds its key's row:
an existing row takes the candidate's value where it is better (one thread per key: no
race), a new key is appended. The delta is the keys that are new or whose value changed,
with their merged values.
"""
from __future__ import annotations

import numpy as np

from dfl.ir.types import Schema
from dfl.backends.columnar.table import DTYPES
from dfl.backends.cuda.columns import DTable, compact, full, gather, take
from dfl.backends.cuda.device import kernel
from dfl.backends.cuda.ops import lattice_merge
from dfl.backends.cuda.rowset import DeviceRowSet, k_put

cuda = None  # numba.cuda, bound when a kernel is first compiled (device.Kernel)


@kernel
def k_improve(cand, pos, vals, is_min, changed):
    i = cuda.grid(1)
    if i < cand.shape[0]:
        p = pos[i]
        if p < 0:
            changed[i] = True
            return
        a = cand[i]
        b = vals[p]
        if (a < b) if is_min else (a > b):
            vals[p] = a
            changed[i] = True


@kernel
def k_improve_ranked(cand, pos, vals, is_min, ranks, changed):
    """Strings: better by code-point order (their ranks)."""
    i = cuda.grid(1)
    if i < cand.shape[0]:
        p = pos[i]
        if p < 0:
            changed[i] = True
            return
        a = ranks[cand[i]]
        b = ranks[vals[p]]
        if (a < b) if is_min else (a > b):
            vals[p] = cand[i]
            changed[i] = True


@kernel
def k_is_new(pos, out):
    i = cuda.grid(1)
    if i < pos.shape[0]:
        out[i] = pos[i] < 0


@kernel
def k_set_new(pos, idx, start):
    """The new keys' rows: start, start + 1, ... in the order they were appended."""
    i = cuda.grid(1)
    if i < idx.shape[0]:
        pos[idx[i]] = start + i


class DeviceLattice:
    def __init__(self, ctx, schema: Schema) -> None:
        self.ctx, self.schema = ctx, schema
        self.k = schema.key_arity
        self.keys = DeviceRowSet(ctx.dev, Schema(schema.columns[:self.k]))
        self.cap = 0
        self.vals: list = []
        self._grow(64)

    def _grow(self, cap: int) -> None:
        dev = self.ctx.dev
        vals = [dev.empty(cap, DTYPES[t]) for t in self.schema.types[self.k:]]
        for old, new in zip(self.vals, vals):
            dev.launch(k_put, self.keys.n, old[:self.keys.n], new, 0)
        self.vals, self.cap = vals, cap

    def add(self, t: DTable) -> DTable:
        ctx, dev, k = self.ctx, self.ctx.dev, self.k
        if t.n == 0 and not dev.recording:
            return t
        m = lattice_merge(ctx, t, self.schema)  # each key once
        pos, pmat = self.keys.find(m.cols[:k], m.n)
        changed = full(dev, m.n, False, np.bool_)
        for j, typ in enumerate(self.schema.types[k:]):
            is_min = self.schema.lattices[j] == "min"
            if typ.text:
                dev.launch(k_improve_ranked, m.n, m.cols[k + j], pos, self.vals[j], is_min, ctx.ranks(), changed)
            else:
                dev.launch(k_improve, m.n, m.cols[k + j], pos, self.vals[j], is_min, changed)
        isnew = dev.empty(m.n, np.bool_)
        dev.launch(k_is_new, m.n, pos, isnew)
        nidx, nnew = compact(dev, isnew, m.n)
        if nnew or dev.recording:
            if self.keys.n + nnew > self.cap:
                self._grow(max(2 * self.cap, self.keys.n + nnew))
            start = self.keys.append(take(dev, DTable(m.cols[:k], m.n), nidx, nnew), pmat, nidx)
            for j in range(len(self.vals)):
                dev.launch(k_put, nnew, gather(dev, m.cols[k + j], nidx, nnew), self.vals[j], start)
            dev.launch(k_set_new, nnew, pos, nidx, start)
        cidx, nch = compact(dev, changed, m.n)
        rows = gather(dev, pos, cidx, nch)
        cols = [gather(dev, c, cidx, nch) for c in m.cols[:k]] + [gather(dev, v, rows, nch) for v in self.vals]
        return DTable(cols, nch, True)

    def full(self) -> DTable:
        n = self.keys.n
        return DTable([c[:n] for c in self.keys.cols] + [v[:n] for v in self.vals], n, True)
