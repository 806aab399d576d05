"""The cpu backend's fixed set of generic native kernels (numba, cached on disk).

Every plan is run by these few kernels, parameterised by the plan (key columns, arities,
aggregate functions) rather than by new code per rule: they compile once per machine
(numba's `cache=True` keeps the machine code next to this file) and a new program then
compiles nothing. Rows are int64 matrices: ints as they are, strings as dictionary codes,
floats as their IEEE bits (-0.0 normalised to 0.0), bools as 0/1.

The central structure is an open-addressing hash table over rows (`slots` holds row
indices into a `store` matrix, -1 for empty), used for dedup, group ids, joins and
persistent relations across fixpoint iterations.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

EMPTY = -1


@njit(cache=True, inline="always")
def _mix(h: np.uint64, x: np.uint64) -> np.uint64:
    h ^= x + np.uint64(0x9E3779B97F4A7C15) + (h << np.uint64(6)) + (h >> np.uint64(2))
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    return h


@njit(cache=True)
def hash_row(keys: np.ndarray, i: int) -> np.uint64:
    h = np.uint64(0x2545F4914F6CDD1D)
    for j in range(keys.shape[1]):
        h = _mix(h, np.uint64(keys[i, j]))
    return h


@njit(cache=True)
def _rows_equal(a: np.ndarray, i: int, b: np.ndarray, j: int) -> bool:
    for c in range(a.shape[1]):
        if a[i, c] != b[j, c]:
            return False
    return True


@njit(cache=True)
def capacity_for(n: int) -> int:
    cap = 16
    while cap < 2 * n + 2:
        cap *= 2
    return cap


@njit(cache=True)
def factorize(keys: np.ndarray):
    """Dense ids of the distinct rows of `keys`, numbered in order of first appearance.

    Returns (ids per row, the row index of each id's first occurrence)."""
    n = keys.shape[0]
    cap = capacity_for(n)
    mask = np.uint64(cap - 1)
    slots = np.full(cap, EMPTY, np.int64)
    ids = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    g = 0
    for i in range(n):
        s = hash_row(keys, i) & mask
        while True:
            r = slots[s]
            if r == EMPTY:
                slots[s] = g
                first[g] = i
                ids[i] = g
                g += 1
                break
            if _rows_equal(keys, first[r], keys, i):
                ids[i] = r
                break
            s = (s + np.uint64(1)) & mask
    return ids, first[:g].copy()


# ---------------------------------------------------------------- persistent row sets


@njit(cache=True)
def set_rebuild(store: np.ndarray, count: int, cap: int) -> np.ndarray:
    mask = np.uint64(cap - 1)
    slots = np.full(cap, EMPTY, np.int64)
    for i in range(count):
        s = hash_row(store, i) & mask
        while slots[s] != EMPTY:
            s = (s + np.uint64(1)) & mask
        slots[s] = i
    return slots


@njit(cache=True)
def set_insert(slots: np.ndarray, store: np.ndarray, count: int, keys: np.ndarray):
    """Inserts the rows of `keys` not yet in the set (store[:count]); the caller made room.

    Returns (new row count, indices into `keys` of the rows that were new, in order)."""
    mask = np.uint64(slots.shape[0] - 1)
    new = np.empty(keys.shape[0], np.int64)
    k = 0
    for i in range(keys.shape[0]):
        s = hash_row(keys, i) & mask
        while True:
            r = slots[s]
            if r == EMPTY:
                for c in range(keys.shape[1]):
                    store[count, c] = keys[i, c]
                slots[s] = count
                count += 1
                new[k] = i
                k += 1
                break
            if _rows_equal(store, r, keys, i):
                break
            s = (s + np.uint64(1)) & mask
    return count, new[:k].copy()


@njit(cache=True)
def set_lookup(slots: np.ndarray, store: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each row of keys, its index in the set's store, or -1."""
    mask = np.uint64(slots.shape[0] - 1)
    out = np.empty(keys.shape[0], np.int64)
    for i in range(keys.shape[0]):
        s = hash_row(keys, i) & mask
        out[i] = EMPTY
        while True:
            r = slots[s]
            if r == EMPTY:
                break
            if _rows_equal(store, r, keys, i):
                out[i] = r
                break
            s = (s + np.uint64(1)) & mask
    return out


# ---------------------------------------------------------------- joins through group ids


@njit(cache=True)
def chain_add(head: np.ndarray, nxt: np.ndarray, gids: np.ndarray, row0: int) -> None:
    """Prepends rows row0, row0+1, … to the row lists of their groups."""
    for i in range(gids.shape[0]):
        g = gids[i]
        nxt[row0 + i] = head[g]
        head[g] = row0 + i


@njit(cache=True)
def chain_probe(head: np.ndarray, nxt: np.ndarray, gids: np.ndarray, max_pairs: int):
    """Pairs (probe row, indexed row) for every indexed row in the probe row's group, and
    their count; with more than max_pairs (>= 0) pairs, only the count (the memory limit:
    runtime/limits.py), with no pair allocated."""
    total = 0
    for i in range(gids.shape[0]):
        g = gids[i]
        if g >= 0:
            r = head[g]
            while r != EMPTY:
                total += 1
                r = nxt[r]
    if 0 <= max_pairs < total:
        return np.empty(0, np.int64), np.empty(0, np.int64), total
    left = np.empty(total, np.int64)
    right = np.empty(total, np.int64)
    k = 0
    for i in range(gids.shape[0]):
        g = gids[i]
        if g >= 0:
            r = head[g]
            while r != EMPTY:
                left[k] = i
                right[k] = r
                k += 1
                r = nxt[r]
    return left, right, total


@njit(cache=True, parallel=True)
def chain_probe_parallel(head: np.ndarray, nxt: np.ndarray, gids: np.ndarray, max_pairs: int):
    """chain_probe over the cores: chain lengths in parallel, a prefix sum, then each probe
    row writes its pairs at its own offset (the same output, in the same order)."""
    n = gids.shape[0]
    counts = np.zeros(n, np.int64)
    for i in prange(n):
        g = gids[i]
        c = 0
        if g >= 0:
            r = head[g]
            while r != EMPTY:
                c += 1
                r = nxt[r]
        counts[i] = c
    offsets = np.empty(n + 1, np.int64)
    offsets[0] = 0
    for i in range(n):
        offsets[i + 1] = offsets[i] + counts[i]
    if 0 <= max_pairs < offsets[n]:
        return np.empty(0, np.int64), np.empty(0, np.int64), offsets[n]
    left = np.empty(offsets[n], np.int64)
    right = np.empty(offsets[n], np.int64)
    for i in prange(n):
        g = gids[i]
        if g >= 0:
            k = offsets[i]
            r = head[g]
            while r != EMPTY:
                left[k] = i
                right[k] = r
                k += 1
                r = nxt[r]
    return left, right, offsets[n]


# ---------------------------------------------------------------- grouped reductions


@njit(cache=True)
def group_reduce(ids: np.ndarray, vals: np.ndarray, g: int, is_min: bool) -> np.ndarray:
    """min (or max) of vals per group; numba compiles it once per value dtype."""
    out = np.empty(g, vals.dtype)
    seen = np.zeros(g, np.bool_)
    for i in range(ids.shape[0]):
        k = ids[i]
        v = vals[i]
        if not seen[k] or (v < out[k] if is_min else v > out[k]):
            out[k] = v
            seen[k] = True
    return out


@njit(cache=True)
def group_sum_f(ids: np.ndarray, vals: np.ndarray, g: int) -> np.ndarray:
    """Exactly rounded float sums per group (Shewchuk's algorithm, as Python's math.fsum),
    so the result never depends on row order. A group holding an inf or nan gets nan here;
    the caller sums those groups again with IEEE rules."""
    order = np.argsort(ids, kind="mergesort")
    out = np.zeros(g, np.float64)
    partials = np.empty(128, np.float64)
    i = 0
    n = ids.shape[0]
    while i < n:
        k = ids[order[i]]
        m = 0
        bad = False
        while i < n and ids[order[i]] == k:
            x = vals[order[i]]
            i += 1
            if not np.isfinite(x):
                bad = True
                continue
            j = 0
            for q in range(m):
                y = partials[q]
                if abs(x) < abs(y):
                    x, y = y, x
                hi = x + y
                lo = y - (hi - x)
                if lo != 0.0:
                    partials[j] = lo
                    j += 1
                x = hi
            partials[j] = x
            m = j + 1
        if bad:
            out[k] = np.nan
            continue
        hi = 0.0
        if m > 0:
            m -= 1
            hi = partials[m]
            lo = 0.0
            while m > 0:
                x = hi
                m -= 1
                y = partials[m]
                hi = x + y
                yr = hi - x
                lo = y - yr
                if lo != 0.0:
                    break
            if m > 0 and ((lo < 0.0 and partials[m - 1] < 0.0) or (lo > 0.0 and partials[m - 1] > 0.0)):
                y = lo * 2.0
                x = hi + y
                yr = x - hi
                if y == yr:
                    hi = x
        out[k] = hi
    return out


@njit(cache=True)
def group_sum_i128(ids: np.ndarray, vals: np.ndarray, g: int):
    """Exact int sums per group as 128-bit (hi: int64, lo: uint64) pairs, for `mean`."""
    hi = np.zeros(g, np.int64)
    lo = np.zeros(g, np.uint64)
    for i in range(ids.shape[0]):
        k = ids[i]
        v = vals[i]
        new = lo[k] + np.uint64(v)
        carry = 1 if new < lo[k] else 0
        hi[k] += (-1 if v < 0 else 0) + carry
        lo[k] = new
    return hi, lo


@njit(cache=True)
def group_sum_i(ids: np.ndarray, vals: np.ndarray, g: int) -> np.ndarray:
    out = np.zeros(g, np.int64)  # int64 arithmetic wraps, as the language wants
    for i in range(ids.shape[0]):
        out[ids[i]] += vals[i]
    return out


@njit(cache=True, parallel=True)
def group_sum_i_parallel(ids: np.ndarray, vals: np.ndarray, g: int, parts: int) -> np.ndarray:
    """group_sum_i on `parts` threads, each into its own array (wrapping sums commute, so
    the result is the same in any order)."""
    n = ids.shape[0]
    acc = np.zeros((parts, g), np.int64)
    for p in prange(parts):
        lo, hi = p * n // parts, (p + 1) * n // parts
        row = acc[p]
        for i in range(lo, hi):
            row[ids[i]] += vals[i]
    out = acc[0].copy()
    for p in range(1, parts):
        out += acc[p]
    return out


# ---------------------------------------------------------------- lattice relations


@njit(cache=True)
def lattice_update(slots: np.ndarray, store: np.ndarray, count: int, values: np.ndarray,
                   keys: np.ndarray, cand: np.ndarray, is_min: np.ndarray):
    """Merges candidate (key, values) rows into a keyed store; values are float64 or int64.

    Returns (new count, the store indices whose value is new or improved)."""
    mask = np.uint64(slots.shape[0] - 1)
    changed = np.zeros(store.shape[0], np.bool_)
    for i in range(keys.shape[0]):
        s = hash_row(keys, i) & mask
        while True:
            r = slots[s]
            if r == EMPTY:
                for c in range(keys.shape[1]):
                    store[count, c] = keys[i, c]
                for c in range(cand.shape[1]):
                    values[count, c] = cand[i, c]
                slots[s] = count
                changed[count] = True
                count += 1
                break
            if _rows_equal(store, r, keys, i):
                for c in range(cand.shape[1]):
                    v = cand[i, c]
                    if (is_min[c] and v < values[r, c]) or (not is_min[c] and v > values[r, c]):
                        values[r, c] = v
                        changed[r] = True
                break
            s = (s + np.uint64(1)) & mask
    return count, np.nonzero(changed[:count])[0]


# ---------------------------------------------------------------- transitive closure by BFS


@njit(cache=True, parallel=True)
def closure_bfs(src_off: np.ndarray, src_targets: np.ndarray, adj_off: np.ndarray, adj: np.ndarray,
                n_nodes: int, out_off: np.ndarray, out: np.ndarray, counting: bool) -> np.ndarray:
    """For each source s, every node reachable from its start nodes src_targets[src_off[s]:
    src_off[s+1]] by zero or more edges of the CSR graph (adj_off, adj).

    With counting=True returns the number of nodes per source; else writes them into
    out[out_off[s]:out_off[s+1]]. Sources run in parallel, each with its own visited bitset."""

    n_src = src_off.shape[0] - 1
    counts = np.zeros(n_src, np.int64)
    words = (n_nodes + 63) // 64
    for s in prange(n_src):
        seen = np.zeros(words, np.uint64)
        queue = np.empty(n_nodes, np.int64)
        head = 0
        tail = 0
        for i in range(src_off[s], src_off[s + 1]):
            v = src_targets[i]
            w, b = v >> 6, np.uint64(1) << np.uint64(v & 63)
            if not seen[w] & b:
                seen[w] |= b
                queue[tail] = v
                tail += 1
        while head < tail:
            u = queue[head]
            head += 1
            for j in range(adj_off[u], adj_off[u + 1]):
                v = adj[j]
                w, b = v >> 6, np.uint64(1) << np.uint64(v & 63)
                if not seen[w] & b:
                    seen[w] |= b
                    queue[tail] = v
                    tail += 1
        counts[s] = tail
        if not counting:
            base = out_off[s]
            for i in range(tail):
                out[base + i] = queue[i]
    return counts


# ---------------------------------------------------------------- shortest paths (min lattice)


@njit(cache=True)
def _sift_down(hk, hv, n, i):
    while True:
        l = 2 * i + 1
        if l >= n:
            return
        m = l
        if l + 1 < n and hk[l + 1] < hk[l]:
            m = l + 1
        if hk[m] < hk[i]:
            hk[i], hk[m] = hk[m], hk[i]
            hv[i], hv[m] = hv[m], hv[i]
            i = m
        else:
            return


@njit(cache=True)
def _sift_up(hk, hv, i):
    while i > 0:
        p = (i - 1) // 2
        if hk[i] < hk[p]:
            hk[i], hk[p] = hk[p], hk[i]
            hv[i], hv[p] = hv[p], hv[i]
            i = p
        else:
            return


@njit(cache=True)
def dijkstra(adj_off: np.ndarray, adj: np.ndarray, weight: np.ndarray, start: np.ndarray,
             start_d: np.ndarray, n_nodes: int):
    """Least d over all paths from the start nodes (each with its initial distance), for
    non-negative weights; a lazy-deletion binary heap. Returns (dist, reached)."""
    dist = np.empty(n_nodes, start_d.dtype)
    reached = np.zeros(n_nodes, np.bool_)
    done = np.zeros(n_nodes, np.bool_)
    cap = start.shape[0] + adj.shape[0] + 1
    hk = np.empty(cap, start_d.dtype)
    hv = np.empty(cap, np.int64)
    n = 0
    for i in range(start.shape[0]):
        v = start[i]
        if not reached[v] or start_d[i] < dist[v]:
            dist[v] = start_d[i]
            reached[v] = True
        hk[n] = start_d[i]
        hv[n] = v
        n += 1
        _sift_up(hk, hv, n - 1)
    while n > 0:
        d = hk[0]
        u = hv[0]
        n -= 1
        hk[0] = hk[n]
        hv[0] = hv[n]
        _sift_down(hk, hv, n, 0)
        if done[u] or d > dist[u]:
            continue
        done[u] = True
        for j in range(adj_off[u], adj_off[u + 1]):
            v = adj[j]
            nd = d + weight[j]
            if not reached[v] or nd < dist[v]:
                dist[v] = nd
                reached[v] = True
                hk[n] = nd
                hv[n] = v
                n += 1
                _sift_up(hk, hv, n - 1)
    return dist, reached


@njit(cache=True)
def factorize_dense(key: np.ndarray, span: int):
    """factorize() for one int column whose values lie in 0 .. span-1: an array, no hashing."""
    slot = np.full(span, EMPTY, np.int64)
    n = key.shape[0]
    ids = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    g = 0
    for i in range(n):
        k = key[i]
        r = slot[k]
        if r == EMPTY:
            slot[k] = g
            first[g] = i
            ids[i] = g
            g += 1
        else:
            ids[i] = r
    return ids, first[:g].copy()


@njit(cache=True)
def factorize1(key: np.ndarray):
    """factorize() for one int64 column: the key is kept in the slot beside its id, so a
    probe compares in place instead of going through the first row (one cache miss a
    row instead of three)."""
    n = key.shape[0]
    cap = capacity_for(n)
    mask = np.uint64(cap - 1)
    slot_id = np.full(cap, EMPTY, np.int64)
    slot_key = np.empty(cap, np.int64)
    ids = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    g = 0
    for i in range(n):
        k = key[i]
        s = _mix(np.uint64(0x2545F4914F6CDD1D), np.uint64(k)) & mask
        while True:
            r = slot_id[s]
            if r == EMPTY:
                slot_id[s] = g
                slot_key[s] = k
                first[g] = i
                ids[i] = g
                g += 1
                break
            if slot_key[s] == k:
                ids[i] = r
                break
            s = (s + np.uint64(1)) & mask
    return ids, first[:g].copy()


@njit(cache=True)
def _rehash_words(slots: np.ndarray, hashes: np.ndarray, g: int, cap: int) -> np.ndarray:
    new = np.full(cap, EMPTY, np.int64)
    mask = np.uint64(cap - 1)
    for w in range(g):
        s = hashes[w] & mask
        while new[s] != EMPTY:
            s = (s + np.uint64(1)) & mask
        new[s] = w
    return new


@njit(cache=True)
def split_words(data: np.ndarray, sep: int):
    """The words of UTF-8 bytes cut at byte `sep` (an ASCII separator, so never inside a
    character): the id of each word in order (ids by first appearance), and each distinct
    word's byte range. Only the distinct words become Python strings, not every word.
    A word is compared with a copy of each distinct word kept together in a small `arena`,
    not with its first occurrence far back in `data` (a cache miss per word)."""
    n = data.shape[0]
    nw = 1
    for i in range(n):
        if data[i] == sep:
            nw += 1
    ids = np.empty(nw, np.int64)
    cap = 1 << 12
    slots = np.full(cap, EMPTY, np.int64)
    starts = np.empty(256, np.int64)
    ends = np.empty(256, np.int64)
    hashes = np.empty(256, np.uint64)
    at = np.empty(256, np.int64)  # where each distinct word's copy starts in the arena
    arena = np.empty(4096, np.uint8)
    used = 0
    g = 0
    w = 0
    start = 0
    for i in range(n + 1):
        if i < n and data[i] != sep:
            continue
        h = np.uint64(0xCBF29CE484222325)  # FNV-1a over the word's bytes
        for j in range(start, i):
            h = (h ^ np.uint64(data[j])) * np.uint64(0x100000001B3)
        h = _mix(h, np.uint64(i - start))
        mask = np.uint64(cap - 1)
        s = h & mask
        while True:
            r = slots[s]
            if r == EMPTY:
                if g == starts.shape[0]:
                    starts = np.concatenate((starts, np.empty(g, np.int64)))
                    ends = np.concatenate((ends, np.empty(g, np.int64)))
                    hashes = np.concatenate((hashes, np.empty(g, np.uint64)))
                    at = np.concatenate((at, np.empty(g, np.int64)))
                if used + (i - start) > arena.shape[0]:
                    arena = np.concatenate((arena, np.empty(arena.shape[0] + i - start, np.uint8)))
                arena[used:used + i - start] = data[start:i]
                at[g] = used
                used += i - start
                starts[g] = start
                ends[g] = i
                hashes[g] = h
                slots[s] = g
                ids[w] = g
                g += 1
                if 2 * g > cap:
                    cap *= 2
                    slots = _rehash_words(slots, hashes, g, cap)
                break
            if hashes[r] == h and ends[r] - starts[r] == i - start:
                same = True
                for j in range(i - start):
                    if arena[at[r] + j] != data[start + j]:
                        same = False
                        break
                if same:
                    ids[w] = r
                    break
            s = (s + np.uint64(1)) & mask
        w += 1
        start = i + 1
    return ids, starts[:g].copy(), ends[:g].copy()


@njit(cache=True)
def count_byte(data: np.ndarray, byte: int, ends: np.ndarray) -> np.ndarray:
    """How often `byte` occurs in each of the consecutive pieces of data that end (exclusive)
    at ends[0], ends[1], ... (each piece starts one byte past the previous end: the joint)."""
    out = np.zeros(ends.shape[0], np.int64)
    start = 0
    for t in range(ends.shape[0]):
        c = 0
        for i in range(start, ends[t]):
            if data[i] == byte:
                c += 1
        out[t] = c
        start = ends[t] + 1
    return out


@njit(cache=True)
def expand(ids: np.ndarray, offsets: np.ndarray, flat: np.ndarray):
    """A generator's rows in one pass: row i gets the elements flat[offsets[u]:offsets[u+1]]
    of its list u = ids[i], in order. Returns (row of each element, the elements)."""
    total = 0
    for i in range(ids.shape[0]):
        total += offsets[ids[i] + 1] - offsets[ids[i]]
    rows = np.empty(total, np.int64)
    vals = np.empty(total, flat.dtype)
    k = 0
    for i in range(ids.shape[0]):
        u = ids[i]
        for j in range(offsets[u], offsets[u + 1]):
            rows[k] = i
            vals[k] = flat[j]
            k += 1
    return rows, vals


@njit(cache=True)
def first_in_lists(offsets: np.ndarray, flat: np.ndarray, span: int):
    """Each list flat[offsets[u]:offsets[u+1]] with every value (0 .. span-1) kept once,
    at its first place: (the new offsets, the kept values). An array of the list that last
    saw each value, so no hashing; once per distinct list, before its rows are repeated."""
    seen = np.full(span, -1, np.int64)
    out = np.empty(flat.shape[0], flat.dtype)
    new_off = np.empty(offsets.shape[0], np.int64)
    new_off[0] = 0
    k = 0
    for u in range(offsets.shape[0] - 1):
        for j in range(offsets[u], offsets[u + 1]):
            v = flat[j]
            if seen[v] != u:
                seen[v] = u
                out[k] = v
                k += 1
        new_off[u + 1] = k
    return new_off, out[:k]


@njit(cache=True)
def group_order(keys: np.ndarray, n_keys: int):
    """A counting sort: the rows in order of their key (0 .. n_keys-1), stable, and where
    each key's rows start (n_keys + 1 offsets). Linear, where an argsort is n log n: the
    CSR adjacency of a graph, the rows of each group."""
    n = keys.shape[0]
    offsets = np.zeros(n_keys + 1, np.int64)
    for i in range(n):
        offsets[keys[i] + 1] += 1
    for k in range(n_keys):
        offsets[k + 1] += offsets[k]
    pos = offsets[:n_keys].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        k = keys[i]
        order[pos[k]] = i
        pos[k] += 1
    return order, offsets


@njit(cache=True)
def all_distinct_dense(key: np.ndarray, lo: int, span: int) -> bool:
    """Are the values of one int column, all within lo .. lo+span-1, pairwise different?
    A bitset, not a bool per value: 8x less memory to miss in cache (4x faster at 10M)."""
    seen = np.zeros((span >> 6) + 1, np.uint64)
    for i in range(key.shape[0]):
        k = key[i] - lo
        bit = np.uint64(1) << np.uint64(k & 63)
        if seen[k >> 6] & bit:
            return False
        seen[k >> 6] |= bit
    return True


# The usual argument types of each kernel, for compiling ahead of a run (`--emit llvm`).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "factorize": ("(int64[:, :],)",),
    "factorize_dense": ("(int64[:], int64)",),
    "all_distinct_dense": ("(int64[:], int64, int64)",),
    "group_order": ("(int64[:], int64)",),
    "first_in_lists": ("(int64[:], int64[:], int64)",),
    "count_byte": ("(uint8[:], int64, int64[:])",),
    "expand": ("(int64[:], int64[:], int64[:])",),
    "split_words": ("(uint8[:], int64)",),
    "factorize1": ("(int64[:],)",),
    "set_insert": ("(int64[:], int64[:, :], int64, int64[:, :])",),
    "set_lookup": ("(int64[:], int64[:, :], int64[:, :])",),
    "chain_add": ("(int64[:], int64[:], int64[:], int64)",),
    "chain_probe": ("(int64[:], int64[:], int64[:], int64)",),
    "chain_probe_parallel": ("(int64[:], int64[:], int64[:], int64)",),
    "dense_lookup": ("(int64[:], int64, int64[:])",),
    "group_sum_i": ("(int64[:], int64[:], int64)",),
    "group_sum_i_parallel": ("(int64[:], int64[:], int64, int64)",),
    "group_sum_f": ("(int64[:], float64[:], int64)",),
    "group_sum_i128": ("(int64[:], int64[:], int64)",),
    "group_reduce": ("(int64[:], int64[:], int64, boolean)", "(int64[:], float64[:], int64, boolean)"),
    "lattice_update": ("(int64[:], int64[:, :], int64, int64[:, :], int64[:, :], int64[:, :], boolean[:])",),
    "closure_bfs": ("(int64[:], int64[:], int64[:], int64[:], int64, int64[:], int64[:], boolean)",),
    "dijkstra": ("(int64[:], int64[:], int64[:], int64[:], int64[:], int64)",),
}


@njit(cache=True)
def dense_lookup(slot: np.ndarray, lo: int, vals: np.ndarray) -> np.ndarray:
    """Group ids of one int key column through an array over the build side's key range."""
    out = np.empty(vals.shape[0], np.int64)
    span = slot.shape[0]
    for i in range(vals.shape[0]):
        k = vals[i] - lo
        out[i] = slot[k] if 0 <= k < span else EMPTY
    return out
