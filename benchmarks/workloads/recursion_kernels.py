"""Hand-written numba kernels for the general recursive workloads (issue 14): the limit a
compiler of the same computation could reach on one core, written the direct way.

- cc: union-find; a node's label is the least node of its set.
- sessions: sort by (user, time) and one scan.
- sg, andersen, cspa: semi-naive evaluation with hash sets, at the finest grain: a worklist
  of new facts, each joined once against the full relations' indexes as it is taken (a fact
  is indexed when it is first derived, so of two facts that join, the one taken later sees
  the other). Indexes are lists per key (typed lists of typed lists), dedup a set of keys.
`cache=True` keeps compiled code on disk between runs."""
from __future__ import annotations

import numba as nb
import numpy as np
from numba import types
from numba.typed import List

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
def _lists(n):
    """n empty growable int lists: an index from a dense key to the values joined with it."""
    out = List()
    for _ in range(n):
        out.append(List.empty_list(types.int64))
    return out


@nb.njit(cache=True)
def _decode(work, base):
    a = np.empty(len(work), dtype=np.int64)
    b = np.empty(len(work), dtype=np.int64)
    for i in range(len(work)):
        a[i] = work[i] // base
        b[i] = work[i] % base
    return a, b


# ---------------------------------------------------------------------------- same generation
@nb.njit(cache=True)
def _sg(p, c, n):
    off, ch = csr(p, c, n)
    seen = set()
    work = List.empty_list(types.int64)
    for q in range(n):
        for i in range(off[q], off[q + 1]):
            for j in range(off[q], off[q + 1]):
                x, y = ch[i], ch[j]
                k = x * n + y
                if x != y and k not in seen:
                    seen.add(k)
                    work.append(k)
    head = 0
    while head < len(work):
        a, b = work[head] // n, work[head] % n
        head += 1
        for i in range(off[a], off[a + 1]):
            for j in range(off[b], off[b + 1]):
                k = ch[i] * n + ch[j]
                if k not in seen:
                    seen.add(k)
                    work.append(k)
    return _decode(work, n)


def sg(p, c):
    return _sg(p, c, int(max(p.max(), c.max())) + 1)


# ---------------------------------------------------------------------------- points-to
@nb.njit(cache=True)
def _andersen(addr_p, addr_o, as_p, as_q, ld_p, ld_q, ld_f, st_p, st_f, st_q, nv, no, nf):
    a_off, a_p = csr(as_q, as_p, nv)  # assign(p, q) by q
    idx = np.arange(ld_p.shape[0], dtype=np.int64)
    l_off, l_i = csr(ld_q, idx, nv)  # load(p, q, f) by q
    lqf_off, lqf_p = csr(ld_q * nf + ld_f, ld_p, nv * nf)  # load(p, q, f) by (q, f)
    idx = np.arange(st_p.shape[0], dtype=np.int64)
    sp_off, sp_i = csr(st_p, idx, nv)  # store(p, f, q) by p
    sq_off, sq_i = csr(st_q, idx, nv)  # store(p, f, q) by q
    pts = _lists(nv)  # pt(v, o): v -> o
    ptrev = _lists(no)  # pt(v, o): o -> v
    hpt = _lists(no * nf)  # hpt(o1, f, o2): (o1, f) -> o2
    pt_seen = set()
    hpt_seen = set()
    # one worklist of tagged keys: 2 * (v * no + o) for pt, 2 * ((o1 * nf + f) * no + o2) + 1 for hpt
    work = List.empty_list(types.int64)
    out = List.empty_list(types.int64)
    for i in range(addr_p.shape[0]):
        k = addr_p[i] * no + addr_o[i]
        if k not in pt_seen:
            pt_seen.add(k)
            pts[addr_p[i]].append(addr_o[i])
            ptrev[addr_o[i]].append(addr_p[i])
            work.append(2 * k)
    head = 0
    while head < len(work):
        w = work[head]
        head += 1
        new_pt = List.empty_list(types.int64)  # (v, o) pairs as v * no + o
        if w % 2 == 0:
            v, o = (w // 2) // no, (w // 2) % no
            out.append(w // 2)
            for j in range(a_off[v], a_off[v + 1]):  # pt(p, o) :- assign(p, v), pt(v, o)
                new_pt.append(a_p[j] * no + o)
            for j in range(sp_off[v], sp_off[v + 1]):  # hpt(o, f, o2) :- store(v, f, q), pt(v, o), pt(q, o2)
                i = sp_i[j]
                q, f = st_q[i], st_f[i]
                lst = pts[q]
                for m in range(len(lst)):
                    k = (o * nf + f) * no + lst[m]
                    if k not in hpt_seen:
                        hpt_seen.add(k)
                        hpt[o * nf + f].append(lst[m])
                        work.append(2 * k + 1)
            for j in range(sq_off[v], sq_off[v + 1]):  # hpt(o1, f, o) :- store(p, f, v), pt(p, o1), pt(v, o)
                i = sq_i[j]
                p, f = st_p[i], st_f[i]
                lst = pts[p]
                for m in range(len(lst)):
                    k = (lst[m] * nf + f) * no + o
                    if k not in hpt_seen:
                        hpt_seen.add(k)
                        hpt[lst[m] * nf + f].append(o)
                        work.append(2 * k + 1)
            for j in range(l_off[v], l_off[v + 1]):  # pt(p, o2) :- load(p, v, f), pt(v, o), hpt(o, f, o2)
                i = l_i[j]
                lst = hpt[o * nf + ld_f[i]]
                for m in range(len(lst)):
                    new_pt.append(ld_p[i] * no + lst[m])
        else:
            k = w // 2
            o1f, o2 = k // no, k % no
            o1, f = o1f // nf, o1f % nf
            lst = ptrev[o1]  # pt(p, o2) :- load(p, q, f), pt(q, o1), hpt(o1, f, o2)
            for m in range(len(lst)):
                q = lst[m]
                for j in range(lqf_off[q * nf + f], lqf_off[q * nf + f + 1]):
                    new_pt.append(lqf_p[j] * no + o2)
        for m in range(len(new_pt)):
            k = new_pt[m]
            if k not in pt_seen:
                pt_seen.add(k)
                pts[k // no].append(k % no)
                ptrev[k % no].append(k // no)
                work.append(2 * k)
    return _decode(out, no)


def andersen(addr, assign, load, store):
    """pt(p, o) of the field-sensitive Andersen analysis (hpt is computed alongside)."""
    nv = int(max(c.max() for c in (addr[0], assign[0], assign[1], load[0], load[1], store[0], store[2]))) + 1
    no = int(addr[1].max()) + 1
    nf = int(max(load[2].max(), store[1].max())) + 1
    return _andersen(*addr, *assign, *load, *store, nv, no, nf)


# ---------------------------------------------------------------------------- CSPA
@nb.njit(cache=True)
def _add(seen, fwd, rev, work, tag, x, y, n):
    k = x * n + y
    if k not in seen:
        seen.add(k)
        fwd[x].append(y)
        rev[y].append(x)
        work.append(3 * k + tag)


@nb.njit(cache=True)
def _cspa(as_x, as_y, de_x, de_y, n):
    ar_off, ar_x = csr(as_y, as_x, n)  # assign(x, z) by z
    d_off, d_y = csr(de_x, de_y, n)  # dereference(y, x) by y
    vf, vf_r, ma, ma_r, va, va_r = _lists(n), _lists(n), _lists(n), _lists(n), _lists(n), _lists(n)
    # typed by a first key: -1, which no pair encodes (a set passed on is not typed from its later use)
    vf_s, ma_s, va_s = {np.int64(-1)}, {np.int64(-1)}, {np.int64(-1)}
    work = List.empty_list(types.int64)  # 3 * (x * n + y) + 0 (valueFlow), 1 (memoryAlias), 2 (valueAlias)
    for i in range(as_x.shape[0]):
        x, y = as_x[i], as_y[i]
        _add(vf_s, vf, vf_r, work, 0, x, y, n)  # valueFlow(y, x) :- assign(y, x)
        for z in (x, y):  # valueFlow(z, z), memoryAlias(z, z) for both columns of assign
            _add(vf_s, vf, vf_r, work, 0, z, z, n)
            _add(ma_s, ma, ma_r, work, 1, z, z, n)
    head = 0
    while head < len(work):
        w = work[head]
        head += 1
        tag, k = w % 3, w // 3
        a, b = k // n, k % n
        if tag == 0:  # valueFlow(a, b)
            lst = vf[b]  # valueFlow(a, y) :- valueFlow(a, b), valueFlow(b, y)
            for m in range(len(lst)):
                _add(vf_s, vf, vf_r, work, 0, a, lst[m], n)
            lst = vf_r[a]  # valueFlow(x, b) :- valueFlow(x, a), valueFlow(a, b)
            for m in range(len(lst)):
                _add(vf_s, vf, vf_r, work, 0, lst[m], b, n)
            lst = vf[a]  # valueAlias(b, y), valueAlias(y, b) :- valueFlow(a, b), valueFlow(a, y)
            for m in range(len(lst)):
                _add(va_s, va, va_r, work, 2, b, lst[m], n)
                _add(va_s, va, va_r, work, 2, lst[m], b, n)
            mw = ma[a]  # valueAlias(b, y) :- valueFlow(a, b), memoryAlias(a, w), valueFlow(w, y)
            for i in range(len(mw)):
                lst = vf[mw[i]]
                for m in range(len(lst)):
                    _add(va_s, va, va_r, work, 2, b, lst[m], n)
            mz = ma_r[a]  # valueAlias(x, b) :- valueFlow(z, x), memoryAlias(z, a), valueFlow(a, b)
            for i in range(len(mz)):
                lst = vf[mz[i]]
                for m in range(len(lst)):
                    _add(va_s, va, va_r, work, 2, lst[m], b, n)
        elif tag == 1:  # memoryAlias(a, b)
            for j in range(ar_off[a], ar_off[a + 1]):  # valueFlow(x, b) :- assign(x, a), memoryAlias(a, b)
                _add(vf_s, vf, vf_r, work, 0, ar_x[j], b, n)
            xs, ys = vf[a], vf[b]  # valueAlias(x, y) :- valueFlow(a, x), memoryAlias(a, b), valueFlow(b, y)
            for i in range(len(xs)):
                for m in range(len(ys)):
                    _add(va_s, va, va_r, work, 2, xs[i], ys[m], n)
        else:  # valueAlias(a, b): memoryAlias(x, w) :- dereference(a, x), valueAlias(a, b), dereference(b, w)
            for i in range(d_off[a], d_off[a + 1]):
                for j in range(d_off[b], d_off[b + 1]):
                    _add(ma_s, ma, ma_r, work, 1, d_y[i], d_y[j], n)
    out = List.empty_list(types.int64)
    for m in range(len(work)):
        if work[m] % 3 == 2:
            out.append(work[m] // 3)
    return _decode(out, n)


def cspa(assign, dereference):
    """valueAlias(x, y) of CSPA (valueFlow and memoryAlias are computed alongside)."""
    n = int(max(assign[0].max(), assign[1].max(), dereference[0].max(), dereference[1].max())) + 1
    return _cspa(*assign, *dereference, n)
