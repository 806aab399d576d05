"""Hand-written numba kernels for the general recursive workloads (issue 14): the limit a
compiler of the same computation could reach on one core, written the direct way.

- cc: union-find; a node's label is the least node of its set.
- sessions: sort by (user, time) and one scan.
- andersen: set-at-a-time semi-naive, the delta of each round joined with the full
  relations indexed by a counting sort per round; bitsets as the sets.
- sg, cspa: semi-naive evaluation at the finest grain: a worklist of new facts,
  each joined once against the full relations' indexes as it is taken (a fact is indexed
  when it is first derived, so of two facts that join, the one taken later sees the
  other). The set of a relation is a bitset over its key space (a perfect hash set: the
  key spaces here are at most ~1e8), its indexes linked lists per key in one growable
  node pool, and the worklist, in the order facts were found, is the result.
`cache=True` keeps compiled code on disk between runs."""
from __future__ import annotations

import numba as nb
import numpy as np

from .kernels import csr


# ---------------------------------------------------------------------------- components
@nb.njit(cache=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


@nb.njit(cache=True)
def _cc(a, b, n):
    parent = np.arange(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    for i in range(a.shape[0]):
        seen[a[i]] = True
        seen[b[i]] = True
        ra, rb = _find(parent, a[i]), _find(parent, b[i])
        if ra < rb:  # the least node stays the root: it is the label
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb
    k = 0
    for x in range(n):
        k += seen[x]
    xs = np.empty(k, dtype=np.int64)
    ls = np.empty(k, dtype=np.int64)
    j = 0
    for x in range(n):
        if seen[x]:
            xs[j] = x
            ls[j] = _find(parent, x)
            j += 1
    return xs, ls


def cc(a, b):
    return _cc(a, b, int(max(a.max(), b.max())) + 1)


# ---------------------------------------------------------------------------- sessions
@nb.njit(cache=True)
def _sessions(u, t, gap):
    order = np.argsort(u * (np.int64(1) << 32) + t)  # users and times fit in 32 bits each here
    us = np.empty(u.shape[0], dtype=np.int64)
    ts = np.empty(u.shape[0], dtype=np.int64)
    k = 0
    for j in range(order.shape[0]):
        i = order[j]
        # a session starts at a user's first event and after a gap over `gap` seconds;
        # a repeated (user, time) is one event (a gap of 0)
        if j == 0 or u[i] != u[order[j - 1]] or t[i] - t[order[j - 1]] > gap:
            us[k], ts[k] = u[i], t[i]
            k += 1
    return us[:k], ts[:k]


def sessions(u, t, gap):
    return _sessions(u, t, gap)


# ---------------------------------------------------------------------------- worklist helpers
@nb.njit(cache=True)
def _grow(a):
    b = np.empty(2 * a.shape[0], dtype=a.dtype)
    b[:a.shape[0]] = a
    return b


@nb.njit(cache=True)
def _first(bits, k):
    """Adds key k to the bitset; True when it was not there."""
    w, m = k >> 6, np.uint64(1) << np.uint64(k & 63)
    if bits[w] & m:
        return False
    bits[w] |= m
    return True


@nb.njit(cache=True)
def _bits(n):
    return np.zeros((n + 63) // 64, dtype=np.uint64)


# ---------------------------------------------------------------------------- same generation
@nb.njit(cache=True)
def _sg(p, c, n):
    off, ch = csr(p, c, n)
    seen = _bits(n * n)
    work = np.empty(1 << 12, dtype=np.int64)  # the pairs x * n + y found, in order: the result
    top = 0
    for q in range(n):
        for i in range(off[q], off[q + 1]):
            for j in range(off[q], off[q + 1]):
                k = ch[i] * n + ch[j]
                if ch[i] != ch[j] and _first(seen, k):
                    if top == work.shape[0]:
                        work = _grow(work)
                    work[top] = k
                    top += 1
    head = 0
    while head < top:
        a, b = work[head] // n, work[head] % n
        head += 1
        for i in range(off[a], off[a + 1]):
            for j in range(off[b], off[b + 1]):
                k = ch[i] * n + ch[j]
                if _first(seen, k):
                    if top == work.shape[0]:
                        work = _grow(work)
                    work[top] = k
                    top += 1
    return work[:top] // n, work[:top] % n


def sg(p, c):
    return _sg(p, c, int(max(p.max(), c.max())) + 1)


# ---------------------------------------------------------------------------- points-to
@nb.njit(cache=True)
def _append(buf, n, x):
    if n == buf.shape[0]:
        buf = _grow(buf)
    buf[n] = x
    return buf


@nb.njit(cache=True)
def _andersen(addr_p, addr_o, as_p, as_q, ld_p, ld_q, ld_f, st_p, st_f, st_q, nv, no, nf):
    """Set-at-a-time semi-naive: each round joins the last round's new facts (the delta)
    with the full relations, indexed afresh by a counting sort (contiguous, so the joins
    scan memory in order; linked lists per key were 10x slower here)."""
    a_off, a_p = csr(as_q, as_p, nv)  # assign(p, q) by q
    idx = np.arange(ld_p.shape[0], dtype=np.int64)
    l_off, l_i = csr(ld_q, idx, nv)  # load(p, q, f) by q
    lqf_off, lqf_p = csr(ld_q * nf + ld_f, ld_p, nv * nf)  # load(p, q, f) by (q, f)
    idx = np.arange(st_p.shape[0], dtype=np.int64)
    sp_off, sp_i = csr(st_p, idx, nv)  # store(p, f, q) by p
    sq_off, sq_i = csr(st_q, idx, nv)  # store(p, f, q) by q
    pt_bits, hpt_bits = _bits(nv * no), _bits(no * nf * no)
    pv, po = np.empty(1 << 16, dtype=np.int64), np.empty(1 << 16, dtype=np.int64)  # pt, in order found
    hk, ho = np.empty(1 << 16, dtype=np.int64), np.empty(1 << 16, dtype=np.int64)  # hpt: (o1 * nf + f, o2)
    npt = nh = 0
    for i in range(addr_p.shape[0]):
        if _first(pt_bits, addr_p[i] * no + addr_o[i]):
            pv, po = _append(pv, npt, addr_p[i]), _append(po, npt, addr_o[i])
            npt += 1
    d_pt, d_h = 0, 0  # the delta: pt[d_pt:npt], hpt[d_h:nh]
    while d_pt < npt or d_h < nh:
        e_pt, e_h = npt, nh
        by_v_off, by_v = csr(pv[:e_pt], po[:e_pt], nv)  # the full pt by variable
        by_o_off, by_o = csr(po[:e_pt], pv[:e_pt], no)  # and by object
        h_off, h_o2 = csr(hk[:e_h], ho[:e_h], no * nf)  # the full hpt by (o1, f)
        for t in range(d_pt, e_pt):
            v, o = pv[t], po[t]
            for j in range(a_off[v], a_off[v + 1]):  # pt(p, o) :- assign(p, v), pt(v, o)
                if _first(pt_bits, a_p[j] * no + o):
                    pv, po = _append(pv, npt, a_p[j]), _append(po, npt, o)
                    npt += 1
            for j in range(sp_off[v], sp_off[v + 1]):  # hpt(o, f, o2) :- store(v, f, q), pt(v, o), pt(q, o2)
                i = sp_i[j]
                q, k = st_q[i], o * nf + st_f[i]
                for m in range(by_v_off[q], by_v_off[q + 1]):
                    if _first(hpt_bits, k * no + by_v[m]):
                        hk, ho = _append(hk, nh, k), _append(ho, nh, by_v[m])
                        nh += 1
            for j in range(sq_off[v], sq_off[v + 1]):  # hpt(o1, f, o) :- store(p, f, v), pt(p, o1), pt(v, o)
                i = sq_i[j]
                p, f = st_p[i], st_f[i]
                for m in range(by_v_off[p], by_v_off[p + 1]):
                    k = by_v[m] * nf + f
                    if _first(hpt_bits, k * no + o):
                        hk, ho = _append(hk, nh, k), _append(ho, nh, o)
                        nh += 1
            for j in range(l_off[v], l_off[v + 1]):  # pt(p, o2) :- load(p, v, f), pt(v, o), hpt(o, f, o2)
                i = l_i[j]
                p, k = ld_p[i], o * nf + ld_f[i]
                for m in range(h_off[k], h_off[k + 1]):
                    if _first(pt_bits, p * no + h_o2[m]):
                        pv, po = _append(pv, npt, p), _append(po, npt, h_o2[m])
                        npt += 1
        for t in range(d_h, e_h):  # pt(p, o2) :- load(p, q, f), pt(q, o1), hpt(o1, f, o2)
            o1, f, o2 = hk[t] // nf, hk[t] % nf, ho[t]
            for m in range(by_o_off[o1], by_o_off[o1 + 1]):
                q = by_o[m]
                for j in range(lqf_off[q * nf + f], lqf_off[q * nf + f + 1]):
                    if _first(pt_bits, lqf_p[j] * no + o2):
                        pv, po = _append(pv, npt, lqf_p[j]), _append(po, npt, o2)
                        npt += 1
        d_pt, d_h = e_pt, e_h
    return pv[:npt].copy(), po[:npt].copy()


def andersen(addr, assign, load, store):
    """pt(p, o) of the field-sensitive Andersen analysis (hpt is computed alongside)."""
    nv = int(max(c.max() for c in (addr[0], assign[0], assign[1], load[0], load[1], store[0], store[2]))) + 1
    no = int(addr[1].max()) + 1
    nf = int(max(load[2].max(), store[1].max())) + 1
    return _andersen(*addr, *assign, *load, *store, nv, no, nf)


# ---------------------------------------------------------------------------- CSPA
VF, MA, VA = 0, 1, 2  # the tags of valueFlow, memoryAlias, valueAlias in the worklist


@nb.njit(cache=True)
def _cspa(as_x, as_y, de_x, de_y, n):
    ar_off, ar_x = csr(as_y, as_x, n)  # assign(x, z) by z
    d_off, d_y = csr(de_x, de_y, n)  # dereference(y, x) by y
    bits = [_bits(n * n), _bits(n * n), _bits(n * n)]
    # linked lists in one node pool: valueFlow and memoryAlias by first and by second column
    vf, vf_r, ma, ma_r = (np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.full(n, -1, np.int64),
                          np.full(n, -1, np.int64))
    nxt, val = np.empty(1 << 16, dtype=np.int64), np.empty(1 << 16, dtype=np.int64)
    top = 0
    work = np.empty(1 << 16, dtype=np.int64)  # 3 * (x * n + y) + tag
    nwork = 0
    head = 0
    cand = np.empty(1 << 10, dtype=np.int64)
    ncand = 0
    for i in range(as_x.shape[0]):
        x, y = as_x[i], as_y[i]
        if ncand + 5 > cand.shape[0]:
            cand = _grow(cand)
        cand[ncand] = 3 * (x * n + y) + VF  # valueFlow(y, x) :- assign(y, x)
        cand[ncand + 1] = 3 * (x * n + x) + VF  # valueFlow(z, z), memoryAlias(z, z) for both columns
        cand[ncand + 2] = 3 * (y * n + y) + VF
        cand[ncand + 3] = 3 * (x * n + x) + MA
        cand[ncand + 4] = 3 * (y * n + y) + MA
        ncand += 5
    while True:
        for c in range(ncand):
            w = cand[c]
            tag, k = w % 3, w // 3
            if not _first(bits[tag], k):
                continue
            a, b = k // n, k % n
            if top + 2 > nxt.shape[0]:
                nxt, val = _grow(nxt), _grow(val)
            if tag == VF:
                nxt[top], val[top], vf[a] = vf[a], b, top
                nxt[top + 1], val[top + 1], vf_r[b] = vf_r[b], a, top + 1
                top += 2
            elif tag == MA:
                nxt[top], val[top], ma[a] = ma[a], b, top
                nxt[top + 1], val[top + 1], ma_r[b] = ma_r[b], a, top + 1
                top += 2
            if nwork == work.shape[0]:
                work = _grow(work)
            work[nwork] = w
            nwork += 1
        ncand = 0
        if head == nwork:
            break
        w = work[head]
        head += 1
        tag, k = w % 3, w // 3
        a, b = k // n, k % n
        if tag == VF:
            e = vf[b]  # valueFlow(a, y) :- valueFlow(a, b), valueFlow(b, y)
            while e != -1:
                if ncand + 1 > cand.shape[0]:
                    cand = _grow(cand)
                cand[ncand] = 3 * (a * n + val[e]) + VF
                ncand += 1
                e = nxt[e]
            e = vf_r[a]  # valueFlow(x, b) :- valueFlow(x, a), valueFlow(a, b)
            while e != -1:
                if ncand + 1 > cand.shape[0]:
                    cand = _grow(cand)
                cand[ncand] = 3 * (val[e] * n + b) + VF
                ncand += 1
                e = nxt[e]
            e = vf[a]  # valueAlias(b, y), valueAlias(y, b) :- valueFlow(a, b), valueFlow(a, y)
            while e != -1:
                if ncand + 2 > cand.shape[0]:
                    cand = _grow(cand)
                cand[ncand] = 3 * (b * n + val[e]) + VA
                cand[ncand + 1] = 3 * (val[e] * n + b) + VA
                ncand += 2
                e = nxt[e]
            m = ma[a]  # valueAlias(b, y) :- valueFlow(a, b), memoryAlias(a, w), valueFlow(w, y)
            while m != -1:
                e = vf[val[m]]
                while e != -1:
                    if ncand + 1 > cand.shape[0]:
                        cand = _grow(cand)
                    cand[ncand] = 3 * (b * n + val[e]) + VA
                    ncand += 1
                    e = nxt[e]
                m = nxt[m]
            m = ma_r[a]  # valueAlias(x, b) :- valueFlow(z, x), memoryAlias(z, a), valueFlow(a, b)
            while m != -1:
                e = vf[val[m]]
                while e != -1:
                    if ncand + 1 > cand.shape[0]:
                        cand = _grow(cand)
                    cand[ncand] = 3 * (val[e] * n + b) + VA
                    ncand += 1
                    e = nxt[e]
                m = nxt[m]
        elif tag == MA:
            for j in range(ar_off[a], ar_off[a + 1]):  # valueFlow(x, b) :- assign(x, a), memoryAlias(a, b)
                if ncand + 1 > cand.shape[0]:
                    cand = _grow(cand)
                cand[ncand] = 3 * (ar_x[j] * n + b) + VF
                ncand += 1
            ex = vf[a]  # valueAlias(x, y) :- valueFlow(a, x), memoryAlias(a, b), valueFlow(b, y)
            while ex != -1:
                e = vf[b]
                while e != -1:
                    if ncand + 1 > cand.shape[0]:
                        cand = _grow(cand)
                    cand[ncand] = 3 * (val[ex] * n + val[e]) + VA
                    ncand += 1
                    e = nxt[e]
                ex = nxt[ex]
        else:  # valueAlias(a, b): memoryAlias(x, w) :- dereference(a, x), valueAlias(a, b), dereference(b, w)
            for i in range(d_off[a], d_off[a + 1]):
                for j in range(d_off[b], d_off[b + 1]):
                    if ncand + 1 > cand.shape[0]:
                        cand = _grow(cand)
                    cand[ncand] = 3 * (d_y[i] * n + d_y[j]) + MA
                    ncand += 1
    va = work[:nwork][work[:nwork] % 3 == VA] // 3
    return va // n, va % n


def cspa(assign, dereference):
    """valueAlias(x, y) of CSPA (valueFlow and memoryAlias are computed alongside)."""
    n = int(max(assign[0].max(), assign[1].max(), dereference[0].max(), dereference[1].max())) + 1
    return _cspa(*assign, *dereference, n)
