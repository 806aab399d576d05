"""A fixpoint relation's row set with each row packed into one integer, held in the slots.

Semi-naive evaluation inserts every derived row into its relation's set, duplicates
included: a points-to analysis derives some twenty rows for each one it keeps, so the set
is the busiest structure of the loop. RowSet (rowset.py) keeps the rows in a store and
indexes into it from its slots: two cache misses per probe, and a hash over every column.
When a relation's columns are non-negative integers that fit side by side in 62 bits
(node ids, string codes, small counters: the usual case), each row is packed into one
int64 and that integer is the slot's content: one miss, one multiply to hash, one compare.

The bit width of each column is fixed on the first rows, the spare bits shared out among
the columns (two columns get 31 bits each when their first values fit); rows that do not
fit later (a negative value, a wider one) make `insert` return None, and the caller moves
the relation to a RowSet.
"""
from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = -1
PENDING = np.int64(1 << 62)  # a row claimed by a join this iteration, not yet merged (claim_pairs)


class PackedSet:
    """Distinct rows of `width` int64 columns, packed; `count` of them."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.shifts: np.ndarray | None = None  # bit offset of each column, fixed on the first rows
        self.limits: np.ndarray | None = None  # each column's values lie in 0 .. limit-1
        self.slots = np.full(16, EMPTY, np.int64)
        self.count = 0

    def _layout(self, km: np.ndarray) -> bool:
        hi = km.max(axis=0) if km.shape[0] else np.zeros(self.width, np.int64)
        if km.shape[0] and km.min() < 0:
            return False
        need = [max(int(h).bit_length(), 1) for h in hi]
        if sum(need) > 62:
            return False
        # the spare bits shared out: later rows may hold larger values than the first ones
        bits = [b + (62 - sum(need)) // self.width for b in need]
        shifts = np.zeros(self.width, np.int64)
        for j in range(1, self.width):
            shifts[j] = shifts[j - 1] + bits[j - 1]
        self.shifts = shifts
        self.limits = np.array([1 << b for b in bits], np.int64)
        return True

    def insert(self, km: np.ndarray) -> np.ndarray | None:
        """Adds the new rows of km (n x width int64); returns their indices into km, or
        None (nothing added) when some row does not fit the packing."""
        if self.shifts is None and not self._layout(km):
            return None
        if not packed_fits(km, self.limits):
            return None
        need = self.count + km.shape[0]
        self.reserve(need)
        self.count, new = packed_insert(self.slots, self.count, km, self.shifts)
        return new

    def reserve(self, need: int) -> None:
        """Room for `need` rows at a load of at most one half."""
        if 2 * need + 2 > self.slots.shape[0]:
            cap = self.slots.shape[0]
            while cap < 2 * need + 2:
                cap *= 2
            self.slots = packed_rehash(self.slots, cap)


@njit(cache=True, inline="always")
def _slot(key: np.int64, mask: np.uint64) -> np.uint64:
    h = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    return (h ^ (h >> np.uint64(29))) & mask


@njit(cache=True)
def packed_fits(km: np.ndarray, limits: np.ndarray) -> bool:
    """Does every value lie in 0 .. its column's limit - 1? (one pass, rows in order)"""
    for i in range(km.shape[0]):
        for c in range(km.shape[1]):
            if km[i, c] < 0 or km[i, c] >= limits[c]:
                return False
    return True


@njit(cache=True)
def packed_insert(slots: np.ndarray, count: int, km: np.ndarray, shifts: np.ndarray):
    """Inserts the rows of km; the new ones' indices. A row a join already claimed this
    iteration (held with the PENDING bit, see claim_pairs) counts as new here, once."""
    mask = np.uint64(slots.shape[0] - 1)
    new = np.empty(km.shape[0], np.int64)
    k = 0
    for i in range(km.shape[0]):
        key = np.int64(0)
        for c in range(km.shape[1]):
            key |= km[i, c] << shifts[c]
        s = _slot(key, mask)
        while True:
            v = slots[s]
            if v == EMPTY:
                slots[s] = key
                count += 1
                new[k] = i
                k += 1
                break
            if v == key:
                break
            if v == key | PENDING:  # claimed by a join of this iteration: new, and now held
                slots[s] = key
                new[k] = i
                k += 1
                break
            s = (s + np.uint64(1)) & mask
    return count, new[:k].copy()


@njit(cache=True)
def packed_rehash(slots: np.ndarray, cap: int) -> np.ndarray:
    out = np.full(cap, EMPTY, np.int64)
    mask = np.uint64(cap - 1)
    for v in slots:
        if v != EMPTY:
            s = _slot(v & ~PENDING, mask)
            while out[s] != EMPTY:
                s = (s + np.uint64(1)) & mask
            out[s] = v
    return out


BLOCK = 2048  # derived rows packed before any is looked up: the random reads of a block overlap


@njit(cache=True)
def claim_pairs(slots: np.ndarray, count: int, offsets: np.ndarray, order: np.ndarray, head: np.ndarray,
                nxt: np.ndarray, base: int, gids: np.ndarray, probe: np.ndarray, build: np.ndarray,
                from_build: np.ndarray, col: np.ndarray, shifts: np.ndarray, limits: np.ndarray):
    """A join's pairs (probe row, indexed row), each kept only if the row it derives is in
    no slot yet; the kept rows are claimed (held with the PENDING bit) so a later pair of
    this iteration deriving the same row is dropped. The index is walked as
    grouped_index.group_pairs walks it. Output column c of a derived row is
    `build[col[c]][r]` where from_build[c], else `probe[col[c]][i]` (tuples of int64
    columns). A row with a value the packing cannot hold is in no slot: kept, and not
    claimed (the merge hashes it). Pairs go by blocks: every derived row of a block is
    packed first (independent random reads, which the processor overlaps), then each is
    looked up, so no lookup waits on the read before it.

    Returns (slots, possibly grown; count; probe rows; indexed rows)."""
    out_l = np.empty(max(16, gids.shape[0]), np.int64)
    out_r = np.empty(max(16, gids.shape[0]), np.int64)
    k = 0
    bl = np.empty(BLOCK, np.int64)
    br = np.empty(BLOCK, np.int64)
    bkey = np.empty(BLOCK, np.int64)
    m = 0
    for i in range(gids.shape[0]):
        g = gids[i]
        if g < 0:
            continue
        lo, hi = 0, 0
        if g + 1 < offsets.shape[0]:
            lo, hi = offsets[g], offsets[g + 1]
        r = head[g] if g < head.shape[0] else EMPTY
        p = lo
        while True:  # the group's laid-out rows, then its chained ones
            if p < hi:
                row = order[p]
                p += 1
            elif r != EMPTY:
                row = r
                r = nxt[r - base]
            else:
                break
            key = np.int64(0)
            for c in range(col.shape[0]):
                v = build[col[c]][row] if from_build[c] else probe[col[c]][i]
                if v < 0 or v >= limits[c]:
                    key = EMPTY  # cannot be packed: in no slot
                    break
                key |= v << shifts[c]
            bl[m] = i
            br[m] = row
            bkey[m] = key
            m += 1
            if m == BLOCK:
                slots, count, out_l, out_r, k = _claim_block(slots, count, bl, br, bkey, m, out_l, out_r, k)
                m = 0
    slots, count, out_l, out_r, k = _claim_block(slots, count, bl, br, bkey, m, out_l, out_r, k)
    return slots, count, out_l[:k].copy(), out_r[:k].copy()


@njit(cache=True)
def _claim_block(slots, count, bl, br, bkey, m, out_l, out_r, k):
    """Looks up the block's packed rows; claims and keeps the absent ones."""
    if k + m > out_l.shape[0]:
        cap = max(k + m, 2 * out_l.shape[0])
        grown_l = np.empty(cap, np.int64)
        grown_r = np.empty(cap, np.int64)
        grown_l[:k] = out_l[:k]
        grown_r[:k] = out_r[:k]
        out_l, out_r = grown_l, grown_r
    if 2 * (count + m) + 2 > slots.shape[0]:
        cap = slots.shape[0]
        while 2 * (count + m) + 2 > cap:
            cap *= 2
        slots = packed_rehash(slots, cap)
    mask = np.uint64(slots.shape[0] - 1)
    for j in range(m):
        key = bkey[j]
        keep = True
        if key != EMPTY:
            s = _slot(key, mask)
            while True:
                v = slots[s]
                if v == EMPTY:
                    slots[s] = key | PENDING
                    count += 1
                    break
                if v == key or v == key | PENDING:
                    keep = False
                    break
                s = (s + np.uint64(1)) & mask
        if keep:
            out_l[k] = bl[j]
            out_r[k] = br[j]
            k += 1
    return slots, count, out_l, out_r, k
