"""Hand-written numba kernels: the plain, direct way to write each computation.

Each takes the raw input columns (as DFL gets them) and returns the output columns.
`cache=True` keeps compiled code on disk between runs (this file is a real file)."""
import heapq  # noqa: F401  (numba supports heapq on lists of tuples)

import numba as nb
import numpy as np


# ---------------------------------------------------------------------------- CSR
@nb.njit(cache=True)
def csr(src, dst, n):
    """Counting sort of edges by source: (offsets[n+1], targets)."""
    off = np.zeros(n + 1, dtype=np.int64)
    for i in range(src.shape[0]):
        off[src[i] + 1] += 1
    for i in range(n):
        off[i + 1] += off[i]
    pos = off[:-1].copy()
    tgt = np.empty(src.shape[0], dtype=np.int64)
    for i in range(src.shape[0]):
        s = src[i]
        tgt[pos[s]] = dst[i]
        pos[s] += 1
    return off, tgt


@nb.njit(cache=True)
def csr_w(src, dst, w, n):
    off = np.zeros(n + 1, dtype=np.int64)
    for i in range(src.shape[0]):
        off[src[i] + 1] += 1
    for i in range(n):
        off[i + 1] += off[i]
    pos = off[:-1].copy()
    tgt = np.empty(src.shape[0], dtype=np.int64)
    wt = np.empty(src.shape[0], dtype=np.int64)
    for i in range(src.shape[0]):
        s = src[i]
        tgt[pos[s]] = dst[i]
        wt[pos[s]] = w[i]
        pos[s] += 1
    return off, tgt, wt


# ---------------------------------------------------------------------------- transitive closure
@nb.njit(cache=True, parallel=True)
def _tc_bits(off, tgt, n, words):
    bits = np.zeros((n, words), dtype=np.uint64)
    for s in nb.prange(n):
        row = bits[s]
        stack = np.empty(n, dtype=np.int64)
        top = 0
        for j in range(off[s], off[s + 1]):  # nodes reached in >= 1 step
            v = tgt[j]
            m = np.uint64(1) << np.uint64(v & 63)
            if (row[v >> 6] & m) == 0:
                row[v >> 6] |= m
                stack[top] = v
                top += 1
        while top > 0:
            top -= 1
            u = stack[top]
            for j in range(off[u], off[u + 1]):
                v = tgt[j]
                m = np.uint64(1) << np.uint64(v & 63)
                if (row[v >> 6] & m) == 0:
                    row[v >> 6] |= m
                    stack[top] = v
                    top += 1
    return bits


@nb.njit(cache=True)
def _popcount(x):
    c = 0
    while x:
        x &= x - np.uint64(1)
        c += 1
    return c


@nb.njit(cache=True, parallel=True)
def _tc_extract(bits, n, words):
    cnt = np.zeros(n + 1, dtype=np.int64)
    for s in nb.prange(n):
        c = 0
        for w in range(words):
            c += _popcount(bits[s, w])
        cnt[s + 1] = c
    for s in range(n):
        cnt[s + 1] += cnt[s]
    a = np.empty(cnt[n], dtype=np.int64)
    b = np.empty(cnt[n], dtype=np.int64)
    for s in nb.prange(n):
        p = cnt[s]
        for w in range(words):
            x = bits[s, w]
            if x == 0:
                continue
            for t in range(64):
                if (x >> np.uint64(t)) & np.uint64(1):
                    a[p] = s
                    b[p] = w * 64 + t
                    p += 1
    return a, b


def tc(src, dst):
    """path = pairs reachable in >= 1 step: BFS per source (parallel), visited bitset rows."""
    n = int(max(src.max(), dst.max())) + 1 if len(src) else 0
    off, tgt = csr(src, dst, n)
    words = (n + 63) // 64
    bits = _tc_bits(off, tgt, n, words)
    return _tc_extract(bits, n, words)


# ---------------------------------------------------------------------------- group-by
@nb.njit(cache=True, parallel=True)
def _groupby_dense(k, v, K):
    T = nb.get_num_threads()
    cnt = np.zeros((T, K), dtype=np.int64)
    sm = np.zeros((T, K), dtype=np.int64)
    n = k.shape[0]
    chunk = (n + T - 1) // T
    for t in nb.prange(T):
        lo = t * chunk
        hi = min(n, lo + chunk)
        c = cnt[t]
        s = sm[t]
        for i in range(lo, hi):
            c[k[i]] += 1
            s[k[i]] += v[i]
    for t in range(1, T):
        for j in range(K):
            cnt[0, j] += cnt[t, j]
            sm[0, j] += sm[t, j]
    m = 0
    for j in range(K):
        if cnt[0, j] > 0:
            m += 1
    ok = np.empty(m, dtype=np.int64)
    oc = np.empty(m, dtype=np.int64)
    os_ = np.empty(m, dtype=np.int64)
    p = 0
    for j in range(K):
        if cnt[0, j] > 0:
            ok[p] = j
            oc[p] = cnt[0, j]
            os_[p] = sm[0, j]
            p += 1
    return ok, oc, os_


def groupby(k, v):
    """count and sum per key, keys dense in [0, max]: per-thread arrays, then merged."""
    return _groupby_dense(k, v, int(k.max()) + 1)


# ---------------------------------------------------------------------------- join + filter + group-by
@nb.njit(cache=True, parallel=True)
def _join(fd, fv, dd, dc, dw, vmin, wmax, ncat):
    # dense join index over the dimension key's range
    kmax = 0
    for i in range(dd.shape[0]):
        kmax = max(kmax, dd[i])
    cat = np.full(kmax + 1, -1, dtype=np.int64)
    for i in range(dd.shape[0]):
        if dw[i] < wmax:  # the filter on the dimension, pushed into the build side
            cat[dd[i]] = dc[i]
    T = nb.get_num_threads()
    cnt = np.zeros((T, ncat), dtype=np.int64)
    sm = np.zeros((T, ncat), dtype=np.int64)
    n = fd.shape[0]
    chunk = (n + T - 1) // T
    for t in nb.prange(T):
        lo = t * chunk
        hi = min(n, lo + chunk)
        for i in range(lo, hi):
            if fv[i] >= vmin:
                d = fd[i]
                if d <= kmax:
                    c = cat[d]
                    if c >= 0:
                        cnt[t, c] += 1
                        sm[t, c] += fv[i]
    for t in range(1, T):
        for j in range(ncat):
            cnt[0, j] += cnt[t, j]
            sm[0, j] += sm[t, j]
    m = 0
    for j in range(ncat):
        if cnt[0, j] > 0:
            m += 1
    oc = np.empty(m, dtype=np.int64)
    on = np.empty(m, dtype=np.int64)
    os_ = np.empty(m, dtype=np.int64)
    p = 0
    for j in range(ncat):
        if cnt[0, j] > 0:
            oc[p] = j
            on[p] = cnt[0, j]
            os_[p] = sm[0, j]
            p += 1
    return oc, on, os_


def join(fd, fv, dd, dc, dw, vmin, wmax):
    return _join(fd, fv, dd, dc, dw, vmin, wmax, int(dc.max()) + 1)


# ---------------------------------------------------------------------------- SSSP
@nb.njit(cache=True)
def _dijkstra(off, tgt, wt, n, s):
    INF = np.iinfo(np.int64).max
    dist = np.full(n, INF, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    dist[s] = 0
    h = [(np.int64(0), np.int64(s))]
    while len(h) > 0:
        d, u = heapq.heappop(h)
        if done[u]:
            continue
        done[u] = True
        for j in range(off[u], off[u + 1]):
            v = tgt[j]
            nd = d + wt[j]
            if nd < dist[v]:
                dist[v] = nd
                heapq.heappush(h, (nd, v))
    m = 0
    for i in range(n):
        if done[i]:
            m += 1
    on = np.empty(m, dtype=np.int64)
    od = np.empty(m, dtype=np.int64)
    p = 0
    for i in range(n):
        if done[i]:
            on[p] = i
            od[p] = dist[i]
            p += 1
    return on, od


def sssp(src, dst, w, source):
    n = int(max(src.max(), dst.max(), source)) + 1
    off, tgt, wt = csr_w(src, dst, w, n)
    return _dijkstra(off, tgt, wt, n, source)


# ---------------------------------------------------------------------------- word count
@nb.njit(cache=True)
def _hash_bytes(buf, lo, hi):
    h = np.uint64(1469598103934665603)
    for i in range(lo, hi):
        h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
    return h


@nb.njit(cache=True)
def _wordcount(buf):
    """Counts, per word, the lines it occurs in (each (line, word) pair once). Lines end
    with '\\n', words are separated by single ' '. Open addressing on (start, len)."""
    cap = 1 << 16
    slots = np.full(cap, -1, dtype=np.int64)  # word id
    wstart = np.empty(cap // 2, dtype=np.int64)
    wlen = np.empty(cap // 2, dtype=np.int64)
    whash = np.empty(cap // 2, dtype=np.uint64)
    cnt = np.zeros(cap // 2, dtype=np.int64)
    last = np.full(cap // 2, -1, dtype=np.int64)
    nw = 0
    line = 0
    i = 0
    n = buf.shape[0]
    while i < n:
        if (nw + 1) * 2 > cap:  # grow before inserting: double, rehash
            cap *= 2
            mask = cap - 1
            slots = np.full(cap, -1, dtype=np.int64)
            for q in range(nw):
                p2 = np.int64(whash[q] & np.uint64(mask))
                while slots[p2] >= 0:
                    p2 = (p2 + 1) & mask
                slots[p2] = q
            ws2 = np.empty(cap // 2, dtype=np.int64)
            wl2 = np.empty(cap // 2, dtype=np.int64)
            wh2 = np.empty(cap // 2, dtype=np.uint64)
            c2 = np.zeros(cap // 2, dtype=np.int64)
            l2 = np.full(cap // 2, -1, dtype=np.int64)
            ws2[:nw] = wstart[:nw]
            wl2[:nw] = wlen[:nw]
            wh2[:nw] = whash[:nw]
            c2[:nw] = cnt[:nw]
            l2[:nw] = last[:nw]
            wstart, wlen, whash, cnt, last = ws2, wl2, wh2, c2, l2
        j = i
        while j < n and buf[j] != 32 and buf[j] != 10:
            j += 1
        h = _hash_bytes(buf, i, j)
        mask = cap - 1
        p = np.int64(h & np.uint64(mask))
        wid = -1
        while True:
            q = slots[p]
            if q < 0:
                break
            if whash[q] == h and wlen[q] == j - i:
                same = True
                a = wstart[q]
                for t in range(j - i):
                    if buf[a + t] != buf[i + t]:
                        same = False
                        break
                if same:
                    wid = q
                    break
            p = (p + 1) & mask
        if wid < 0:
            wid = nw
            nw += 1
            slots[p] = wid
            wstart[wid] = i
            wlen[wid] = j - i
            whash[wid] = h
        if last[wid] != line:
            last[wid] = line
            cnt[wid] += 1
        if j < n and buf[j] == 10:
            line += 1
        i = j + 1
    return wstart[:nw].copy(), wlen[:nw].copy(), cnt[:nw].copy()


def wordcount(buf):
    ws, wl, cnt = _wordcount(buf)
    raw = buf.tobytes()
    words = [raw[s:s + ln].decode() for s, ln in zip(ws.tolist(), wl.tolist())]
    return words, cnt
