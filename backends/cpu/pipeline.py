"""Fused join pipelines: probe -> filters -> maps -> aggregate (or output) in one native loop.

Node by node, a join materializes every matching (left row, right row) pair, the filter
after it copies the survivors, and the aggregate above it reads them again. Here, as in
data-centric code generation (HyPer, Umbra: each operator *produces* rows by calling its
consumer's *consume* code inline), the build side's hash index is built first (index.py),
then one generated loop runs over the probe side: the probe side's own filter/map chain,
the index lookup, each matching build row, the filters and maps after the join, and then
either the grouped accumulators of the aggregate (count, sum, min, max, mean) or the
output columns. No intermediate column is made.

    n5 = filter(n4) ; n6 = join(n5, n7) ; n8 = aggregate(n6)   ->   one loop:
    for i in probe rows: if not v[i] >= 300: continue; g = slot[d[i] - lo]; ...
        for each build row r of g: key = c[r]; group w of key; count[w] += 1; sum[w] += v[i]

The loop is generated as Python source with fuse.py's expression rendering and compiled by
numba through the same kernel cache (kernel_cache.py); float sums stay exactly rounded (the
loop collects (group, value) pairs and ops._float_sum adds them as the node-by-node path
does). The probe side is the larger input, chosen at run time; the pipeline is fused from
`DFL_FUSE_MIN_ROWS` probe rows. A group-by on build-side columns only (a dimension's
attribute) gets each build row's group before the loop, so the loop hashes nothing (with a
unique array index, the key's slot holds the group itself), and with counts and int sums
it runs on all cores, a thread's accumulators each. It runs node by node instead when an input is not known to be
distinct (an aggregate must see distinct rows) or for a cross product; the finder leaves out
what has no native lowering (string functions, string literals, guarded divisions), and
fixpoint bodies keep their growing indexes (fixpoint.py).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from dfl.ir.expr import Col, IRExpr
from dfl.ir.graph import Graph, Node
from dfl.ir.types import Type
from dfl.backends.cpu import fuse, kernel_cache
from dfl.backends.cpu.index import PARALLEL_ROWS, fresh_index
from dfl.backends.columnar.table import DTYPES, Table
from dfl.runtime import limits

_AGGS = {"count", "sum", "min", "max", "mean"}
_SEED = "np.uint64(0x2545F4914F6CDD1D)"  # kernels.hash_row's seed: a probe hashes as the index did


@dataclass(frozen=True)
class Pipeline:
    """A join with the filter/map chains feeding each side, the chain after it, and the
    aggregate that consumes it (None: the pipeline outputs the last node's rows)."""

    join: Node
    sides: tuple[tuple[Node, ...], tuple[Node, ...]]  # filter/map nodes before the left, right input
    inputs: tuple[str, str]  # the node ids the side chains (or the join) read
    post: tuple[Node, ...]
    agg: Node | None
    keeps: bool  # every map keeps all its input columns: distinct inputs give distinct rows

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.sides[0] + self.sides[1] + (self.join,) + self.post + ((self.agg,) if self.agg else ())

    @property
    def last(self) -> Node:
        return self.nodes[-1]

    def describe(self) -> str:
        tail = f"aggregate {self.agg.id}" if self.agg else f"output of {self.last.id}"
        names = ", ".join(n.id for n in self.nodes)
        return (f"fused join pipeline [{names}]: build the hash index on the smaller side, then one native "
                f"loop over the probe side: its filters/maps, probe, filters/maps after the join, {tail} "
                f"(a kernel file generated per pipeline) from {fuse.min_rows():,} probe rows; node by node below")


def _keeps_all(n: Node, arity: int) -> bool:
    """A map keeping every input column keeps distinct rows distinct (ops.op_map)."""
    return n.op == "filter" or {e.index for e in n.attr("exprs") if isinstance(e, Col)} >= set(range(arity))


def _keeps(g: Graph, nodes: tuple[Node, ...]) -> bool:
    return all(_keeps_all(n, g.node(n.inputs[0]).schema.arity) for n in nodes)


def _exprs(n: Node) -> list[IRExpr]:
    if n.op == "filter":
        return [n.attr("pred")]
    if n.op == "map":
        return list(n.attr("exprs"))
    if n.op != "aggregate":
        return []
    keys = list(n.attr("keys"))
    return keys + [e for _, e in n.attr("aggs") if e is not None]


def _fusible(n: Node) -> bool:
    if n.op in ("filter", "map"):
        return n.schema.arity > 0 and all(fuse.fusible(e, ranks=True) for e in _exprs(n))
    if n.op == "aggregate":
        return all(f in _AGGS for f, _ in n.attr("aggs")) and all(fuse.fusible(e, ranks=True) for e in _exprs(n)) \
            and all(e is None or f == "count" or e.type in (Type.INT, Type.FLOAT, Type.BOOL)
                    or (e.type.text and f in ("min", "max")) for f, e in n.attr("aggs"))
    return False


def find_pipelines(g: Graph) -> dict[str, Pipeline]:
    """The join pipelines of a graph (not of its fixpoint bodies), by their last node's id."""
    users = g.consumers()
    out: dict[str, Pipeline] = {}
    taken: set[str] = set()  # a filter after one join may feed another: it is in one pipeline
    for j in g.by_op("join"):
        if not j.attr("left_keys"):
            continue  # a cross product: nothing to probe
        budget = [fuse.MAX_DIVISIONS]

        def take(n: Node) -> bool:
            if not _fusible(n):
                return False
            d = fuse.divisions(_exprs(n))
            if d > budget[0]:
                return False
            budget[0] -= d
            return True

        sides = []
        ins = []
        for inp in j.inputs:
            run: list[Node] = []
            cur = inp
            while cur in g and cur not in taken and users.get(cur) == [run[-1].id if run else j.id] \
                    and g.node(cur).op in ("filter", "map") and take(g.node(cur)):
                run.append(g.node(cur))
                cur = run[-1].inputs[0]
            sides.append(tuple(reversed(run)))
            ins.append(cur)
        post: list[Node] = []
        cur_id = j.id
        agg = None
        while len(users.get(cur_id, ())) == 1:
            nxt = g.node(users[cur_id][0])
            if nxt.op == "aggregate":
                # an aggregate reads distinct rows: fused only where the rows are distinct
                # whenever the inputs are (checked at run time)
                if _keeps(g, sides[0] + sides[1] + tuple(post)) and take(nxt):
                    agg = nxt
                break
            if nxt.op not in ("filter", "map") or nxt.id in taken or not take(nxt):
                break
            post.append(nxt)
            cur_id = nxt.id
        p = Pipeline(j, (sides[0], sides[1]), (ins[0], ins[1]), tuple(post), agg,
                     _keeps(g, sides[0] + sides[1] + tuple(post)))
        out[p.last.id] = p
        taken.update(n.id for n in p.nodes)
    return out


# ---------------------------------------------------------------- the generated loop


def _bits(code: str, t: Type) -> str:
    """A key value as the int64 its row has in a key matrix (table.key_matrix): floats by
    their bits, -0.0 as 0.0."""
    if t == Type.FLOAT:
        return f"np.float64({code} + 0.0).view(np.int64)"
    return f"np.int64({code})"


@dataclass(frozen=True)
class _Layout:
    """What the generated source depends on besides the pipeline: which side probes, and
    the column types of both sides' inputs."""

    probe_left: bool
    probe_types: tuple[Type, ...]
    build_types: tuple[Type, ...]
    build_groups: bool  # the group ids come per build row (build_groups()), not from hashing keys
    index: str  # the build side's index: "unique" or "dense" (an array over the key range), or "hash"
    parallel: bool = False
    # a unique array index whose slots hold the build row's group, not the row (composite()):
    # one lookup from the probe key to the group, as a hand-written kernel does
    composite: bool = False


def composite(p: Pipeline, lay: "_Layout", probe_arity: int) -> bool:
    """Can the key's slot hold the group itself? With groups from the build side, a unique
    array index, and no build column read after the join but the group keys."""
    if not (lay.build_groups and lay.index == "unique"):
        return False
    lo, hi = (probe_arity, 10 ** 9) if lay.probe_left else (0, p.join.schema.arity - probe_arity)
    exprs = [e for n in p.post for e in _exprs(n)] + [e for _, e in p.agg.attr("aggs") if e is not None]
    return not any(lo <= c < hi for e in exprs for c in _cols(e))  # probe rows split over the cores (parallel_ok())


def parallel_ok(p: Pipeline, build: bool) -> bool:
    """Can the loop run on all cores, each thread with its own accumulators? When the
    groups come from the build side and every aggregate is a count or an int sum (wrapping
    sums commute: the same result in any order), and nothing can stop the loop early (a
    division by zero is reported from the first failing row, which threads cannot agree on)."""
    return build and p.agg is not None and all(f == "count" or (f == "sum" and e.type != Type.FLOAT)
                                               for f, e in p.agg.attr("aggs")) \
        and sum(fuse.divisions(_exprs(n)) for n in p.nodes) == 0


def build_groups(p: Pipeline, probe_left: bool, probe_arity: int) -> bool:
    """Does the aggregate group by build-side columns only (a dimension's attribute)? Then
    each build row's group is known before the loop (the build side is factorized, which is
    small), and the loop hashes nothing: its group is `bgid[build row]`. Not with a map
    after the join (its columns are new), nor with a division in a key (a build row that
    matches nothing must not fail)."""
    if p.agg is None or any(n.op == "map" for n in p.post) or not p.agg.attr("keys"):
        return False
    keys = list(p.agg.attr("keys"))
    lo, hi = (probe_arity, 10 ** 9) if probe_left else (0, p.join.schema.arity - probe_arity)
    return fuse.divisions(keys) == 0 and all(lo <= c < hi for e in keys for c in _cols(e))


def _cols(e: IRExpr) -> list[int]:
    if isinstance(e, Col):
        return [e.index]
    return [c for a in getattr(e, "args", ()) for c in _cols(a)]


def generate(p: Pipeline, lay: _Layout) -> str:
    """The kernel's module source. `kernel(p.., n, b.., lo, slot, islots,
    istore, head, nxt, rk, max_rows)` -> (status, x, y, op, k, g, arrays): status -1 done,
    -2 stopped at max_rows rows, else the probe row of a division by zero."""
    agg = p.agg
    np_ = len(lay.probe_types)
    nb = len(lay.build_types)
    out_types = list(p.last.schema.types)
    res = _result_names(p, out_types, lay.build_groups)
    src = fuse.Source(fail="return i, np.float64({x}), np.float64({y}), {kind}, k, g, " + res, ranks="rk")
    args = [f"p{j}" for j in range(np_)] + ["n"] + [f"b{j}" for j in range(nb)] + \
        ["lo", "slot", "islots", "istore", "head", "nxt", "rk", "max_rows", "bgid", "gn", "threads"]
    L = src.lines
    L += ["    k = 0", "    g = 0", "    cap = max(n, 16)", "    imask = np.uint64(islots.shape[0] - 1)"]
    if agg is None:
        L += [f"    o{j} = np.empty(cap, {fuse._NP[t]})" for j, t in enumerate(out_types)]
    elif lay.parallel:
        accs = ["cnt"] + [f"a{j}" for j, (f, _) in enumerate(agg.attr("aggs")) if f == "sum"]
        L += ["    g = gn", "    fid = np.empty(0, np.int64)", "    T = threads",
              "    chunk = (n + T - 1) // T"]
        L += [f"    {a}T = np.zeros((T, gn), np.int64)" for a in accs]
        L += ["    for t in prange(T):"]
        L += ["        for i in range(t * chunk, min(n, (t + 1) * chunk)):"]
    else:
        _agg_alloc(L, agg, lay.build_groups)
    if not lay.parallel:
        L.append("    for i in range(n):")
    ind = " " * (12 if lay.parallel else 8)
    cols = [f"p{j}[i]" for j in range(np_)]
    cols = fuse.chain_body(src, p.sides[0 if lay.probe_left else 1], cols, ind)
    lk, rk = p.join.attr("left_keys"), p.join.attr("right_keys")
    pk = lk if lay.probe_left else rk
    key_types = [p.join.schema.types[k] for k in lk]
    for j, (c, t) in enumerate(zip(pk, key_types)):
        L.append(f"{ind}kv{j} = {_bits(cols[c], t)}")
    # the probe, for the index the build side got (index.py): an array over a small int
    # key range (its slot the build row when keys are unique, else its group), or hashing
    if lay.index != "hash":
        L += [f"{ind}q = kv0 - lo",
              f"{ind}if q < 0 or q >= slot.shape[0]:",
              f"{ind}    continue",
              f"{ind}gid = slot[q]",
              f"{ind}if gid < 0:",
              f"{ind}    continue"]
    else:
        L += [f"{ind}h = {_SEED}"]
        L += [f"{ind}h = _mix(h, np.uint64(kv{j}))" for j in range(len(pk))]
        same = " and ".join(f"istore[r, {j}] == kv{j}" for j in range(len(pk)))
        L += [f"{ind}s = h & imask",
              f"{ind}gid = -1",
              f"{ind}while True:",
              f"{ind}    r = islots[s]",
              f"{ind}    if r == -1:",
              f"{ind}        break",
              f"{ind}    if {same}:",
              f"{ind}        gid = r",
              f"{ind}        break",
              f"{ind}    s = (s + np.uint64(1)) & imask",
              f"{ind}if gid < 0:",
              f"{ind}    continue"]
    if lay.index == "unique":  # one build row: straight on, no loop over the group's rows
        L.append(f"{ind}cur = gid")
    else:
        L += [f"{ind}nr = head[gid]",
              f"{ind}while nr != -1:",
              f"{ind}    cur = nr",
              f"{ind}    nr = nxt[cur]"]
        ind = ind + " " * 4
    bcols = [f"b{j}[cur]" for j in range(nb)]
    cols = cols + bcols if lay.probe_left else bcols + cols
    cols = fuse.chain_body(src, p.post, cols, ind)
    if agg is None:
        L += [f"{ind}if k == cap:",
              f"{ind}    if 0 <= max_rows <= k:",
              f"{ind}        return -2, np.float64(0), np.float64(0), '', k, g, {res}",
              f"{ind}    cap = 2 * cap"]
        for j, t in enumerate(out_types):
            _grow(L, ind + "    ", f"o{j}", fuse._NP[t], "k", "cap", False)
        L += [f"{ind}o{j}[k] = {c}" for j, c in enumerate(cols)]
        L.append(f"{ind}k += 1")
    else:
        _agg_body(src, agg, cols, ind, res, lay.build_groups, "T[t, w]" if lay.parallel else "[w]",
                  "gid" if lay.composite else "bgid[cur]")
    if lay.parallel:  # the threads' accumulators added up (int sums wrap: any order)
        L += [f"    {a} = {a}T.sum(axis=0)" for a in accs]
    L.append(f"    return -1, np.float64(0), np.float64(0), '', k, g, {res}")
    head = ["import numpy as np", "from numba import njit, prange",
            "from dfl.backends.cpu.kernels import _mix", "", "",
            f"@njit(cache=True{', parallel=True' if lay.parallel else ''})", f"def kernel({', '.join(args)}):"]
    return "\n".join(head + L) + "\n"


def _result_names(p: Pipeline, out_types: list[Type], build: bool) -> str:
    if p.agg is None:
        names = [f"o{j}" for j in range(len(out_types))]
    else:
        names = _agg_arrays(p.agg, build)
    return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")" if names else "()"


def _agg_arrays(agg: Node, build: bool) -> list[str]:
    """The arrays an aggregate's loop keeps: per key its identity bits (and a float key's
    first value) unless the groups come from the build side, the counts, then per aggregate
    its accumulators; `fid` the group of each collected float value, `fv<j>` aggregate j's
    collected values (exact sums after)."""
    keys = agg.attr("keys") if not build else ()
    names = [f"gk{j}" for j in range(len(keys))] + [f"gv{j}" for j, e in enumerate(keys) if e.type == Type.FLOAT]
    names += ["cnt", "fid"]
    for j, (f, e) in enumerate(agg.attr("aggs")):
        if f in ("sum", "mean") and e.type == Type.FLOAT:
            names.append(f"fv{j}")
        elif f == "sum":
            names.append(f"a{j}")
        elif f == "mean":
            names += [f"hi{j}", f"lo{j}"]
        elif f in ("min", "max"):
            names += [f"a{j}", f"seen{j}"]
    return names


def _acc_dtype(f: str, e: IRExpr) -> str:
    if f in ("min", "max") and e.type == Type.FLOAT:
        return "np.float64"
    return "np.int64"


def _agg_alloc(L: list[str], agg: Node, build: bool) -> None:
    keys = agg.attr("keys")
    L += ["    gcap = gn", "    g = gn"] if build else \
        ["    gcap = 16", "    gslots = np.full(32, -1, np.int64)", "    gmask = np.uint64(31)"]
    if not build:
        L += [f"    gk{j} = np.empty(gcap, np.int64)" for j in range(len(keys))]
        L += [f"    gv{j} = np.empty(gcap, np.float64)" for j, e in enumerate(keys) if e.type == Type.FLOAT]
    floats = any(f in ("sum", "mean") and e.type == Type.FLOAT for f, e in agg.attr("aggs"))
    L += ["    cnt = np.zeros(gcap, np.int64)", f"    fid = np.empty({'cap' if floats else 0}, np.int64)"]
    for j, (f, e) in enumerate(agg.attr("aggs")):
        if f in ("sum", "mean") and e.type == Type.FLOAT:
            L.append(f"    fv{j} = np.empty(cap, np.float64)")
        elif f == "sum":
            L.append(f"    a{j} = np.zeros(gcap, np.int64)")
        elif f == "mean":
            L += [f"    hi{j} = np.zeros(gcap, np.int64)", f"    lo{j} = np.zeros(gcap, np.uint64)"]
        elif f in ("min", "max"):
            L += [f"    a{j} = np.zeros(gcap, {_acc_dtype(f, e)})", f"    seen{j} = np.zeros(gcap, np.bool_)"]


def _grow(L: list[str], ind: str, name: str, dtype: str, used: str, cap: str, zero: bool) -> None:
    # a temporary per array: numba types a variable once, and the arrays differ in dtype
    L += [f"{ind}t_{name} = np.{'zeros' if zero else 'empty'}({cap}, {dtype})",
          f"{ind}t_{name}[:{used}] = {name}[:{used}]", f"{ind}{name} = t_{name}"]


def _agg_body(src: fuse.Source, agg: Node, cols: list[str], ind: str, res: str, build: bool,
              at: str = "[w]", group: str = "bgid[cur]") -> None:
    """The aggregate's consume code; `at` indexes an accumulator (a thread's row of it
    in a parallel loop)."""
    L = src.lines
    keys = agg.attr("keys") if not build else ()
    aggs = agg.attr("aggs")
    kx = []
    for j, e in enumerate(keys):
        v = src.var()
        L.append(f"{ind}{v} = {src.expr(e, cols, ind)}")
        kx.append(v)
    vals = []
    for f, e in aggs:
        if e is None or f == "count":
            vals.append(None)
            continue
        v = src.var()
        L.append(f"{ind}{v} = {src.expr(e, cols, ind)}")
        vals.append(v)
    if build:
        L.append(f"{ind}w = {group}")
    else:
        _group_lookup(L, keys, kx, aggs, ind)
    _accumulate(L, aggs, vals, ind, res, at)


def _group_lookup(L: list[str], keys, kx: list[str], aggs, ind: str) -> None:
    """w: the group of the row's key values kx, a new one (arrays grown) if none yet."""
    for j, (e, v) in enumerate(zip(keys, kx)):
        L.append(f"{ind}id{j} = {_bits(v, e.type)}")
    L.append(f"{ind}h = {_SEED}")
    L += [f"{ind}h = _mix(h, np.uint64(id{j}))" for j in range(len(keys))]
    same = " and ".join(f"gk{j}[w] == id{j}" for j in range(len(keys))) or "True"
    L += [f"{ind}s = h & gmask",
          f"{ind}while True:",
          f"{ind}    w = gslots[s]",
          f"{ind}    if w == -1:",
          f"{ind}        w = g",
          f"{ind}        if g == gcap:",
          f"{ind}            gcap = 2 * gcap"]
    i3 = ind + " " * 12
    for j in range(len(keys)):
        _grow(L, i3, f"gk{j}", "np.int64", "g", "gcap", False)
    for j, e in enumerate(keys):
        if e.type == Type.FLOAT:
            _grow(L, i3, f"gv{j}", "np.float64", "g", "gcap", False)
    _grow(L, i3, "cnt", "np.int64", "g", "gcap", True)
    for j, (f, e) in enumerate(aggs):
        if f in ("sum", "mean") and e.type == Type.FLOAT:
            continue
        if f == "sum":
            _grow(L, i3, f"a{j}", "np.int64", "g", "gcap", True)
        elif f == "mean":
            _grow(L, i3, f"hi{j}", "np.int64", "g", "gcap", True)
            _grow(L, i3, f"lo{j}", "np.uint64", "g", "gcap", True)
        elif f in ("min", "max"):
            _grow(L, i3, f"a{j}", _acc_dtype(f, e), "g", "gcap", True)
            _grow(L, i3, f"seen{j}", "np.bool_", "g", "gcap", True)
    i2 = ind + " " * 8
    L += [f"{i2}gk{j}[w] = id{j}" for j in range(len(keys))]
    L += [f"{i2}gv{j}[w] = {kx[j]}" for j, e in enumerate(keys) if e.type == Type.FLOAT]
    L += [f"{i2}gslots[s] = w",
          f"{i2}g += 1",
          f"{i2}if 2 * g > gslots.shape[0]:",  # rehash into twice the slots
          f"{i2}    gslots = np.full(2 * gslots.shape[0], -1, np.int64)",
          f"{i2}    gmask = np.uint64(gslots.shape[0] - 1)",
          f"{i2}    for u in range(g):",
          f"{i2}        h = {_SEED}"]
    L += [f"{i2}        h = _mix(h, np.uint64(gk{j}[u]))" for j in range(len(keys))]
    L += [f"{i2}        s = h & gmask",
          f"{i2}        while gslots[s] != -1:",
          f"{i2}            s = (s + np.uint64(1)) & gmask",
          f"{i2}        gslots[s] = u",
          f"{i2}break",
          f"{ind}    if {same}:",
          f"{ind}        break",
          f"{ind}    s = (s + np.uint64(1)) & gmask"]


def _accumulate(L: list[str], aggs, vals: list[str | None], ind: str, res: str, at: str) -> None:
    L.append(f"{ind}cnt{at} += 1")
    floats = [j for j, (f, e) in enumerate(aggs) if f in ("sum", "mean") and e.type == Type.FLOAT]
    if floats:  # the exactly rounded sums are made after the loop, from (group, value) pairs
        L += [f"{ind}if k == cap:",
              f"{ind}    if 0 <= max_rows <= k:",
              f"{ind}        return -2, np.float64(0), np.float64(0), '', k, g, {res}",
              f"{ind}    cap = 2 * cap"]
        _grow(L, ind + "    ", "fid", "np.int64", "k", "cap", False)
        for j in floats:
            _grow(L, ind + "    ", f"fv{j}", "np.float64", "k", "cap", False)
        L.append(f"{ind}fid[k] = w")
        L += [f"{ind}fv{j}[k] = {vals[j]}" for j in floats]
        L.append(f"{ind}k += 1")
    for j, ((f, e), v) in enumerate(zip(aggs, vals)):
        if v is None or j in floats:
            continue
        if f == "sum":
            L.append(f"{ind}a{j}{at} += np.int64({v})")
        elif f == "mean":
            L += [f"{ind}x{j} = np.int64({v})",
                  f"{ind}new{j} = lo{j}[w] + np.uint64(x{j})",
                  f"{ind}hi{j}[w] += (-1 if x{j} < 0 else 0) + (1 if new{j} < lo{j}[w] else 0)",
                  f"{ind}lo{j}[w] = new{j}"]
        else:
            x = f"rk[{v}]" if e.type.text else (f"np.int64({v})" if e.type != Type.FLOAT else v)
            cmp = "<" if f == "min" else ">"
            L += [f"{ind}x{j} = {x}",
                  f"{ind}if not seen{j}[w] or x{j} {cmp} a{j}[w]:",
                  f"{ind}    a{j}[w] = x{j}",
                  f"{ind}    seen{j}[w] = True"]


# ---------------------------------------------------------------- running it


def run_pipeline(p: Pipeline, left: Table, right: Table, ctx) -> Table | None:
    """The pipeline's last node's table from its two input tables; None where it must run
    node by node (too few rows, or an input not known to be distinct under an aggregate)."""
    if max(left.n, right.n) < fuse.min_rows():
        return None
    if p.agg is not None and not all(t.distinct or t.n == 0 for t in (left, right)):
        return None
    return _run(p, left, right, ctx)


def _side(nodes: tuple[Node, ...], t: Table, ctx) -> Table:
    from dfl.backends.cpu.ops import TABLE

    for n in nodes:
        t = TABLE[n.op](n, [t], ctx)
    return t


def _run(p: Pipeline, left: Table, right: Table, ctx, compile_only: bool = False):
    # the probe side: the larger, unless only the other keeps an index (a long-lived table)
    probe_left = left.n >= right.n if (left.indexes is None) == (right.indexes is None) else right.indexes is not None
    probe, build = (left, right) if probe_left else (right, left)
    build = _side(p.sides[1 if probe_left else 0], build, ctx)
    bkeys = tuple(p.join.attr("right_keys" if probe_left else "left_keys"))
    # a one-off index the generated loop can walk (a lasting GroupedIndex has another layout)
    idx = fresh_index(build, bkeys)
    probe_arity = p.join.schema.arity - len(build.cols)
    bg = build_groups(p, probe_left, probe_arity)
    import numba  # here, not at import: `--emit plan` describes pipelines without loading numba

    par = parallel_ok(p, bg) and probe.n >= PARALLEL_ROWS and numba.get_num_threads() > 1
    ds = idx.dense_slots()  # (lo, group id per key) when the index's groups are an array
    dense = ds is not None
    unique = getattr(idx, "unique", False)
    lay = _Layout(probe_left, tuple(_types(probe)), tuple(_types(build)), bg,
                  "unique" if unique else "dense" if dense else "hash", par)
    e64 = np.empty(0, np.int64)
    groups = _build_groups(p.agg, build, probe_arity if probe_left else 0, ctx.ev) if lay.build_groups else None
    slot = ds[1] if dense else e64
    if groups is not None and composite(p, lay, probe_arity):
        lay = dataclasses.replace(lay, composite=True)
        slot = np.where(slot >= 0, groups[0][np.maximum(slot, 0)], -1) if len(groups[0]) else slot
    head = getattr(idx, "head", e64) if not unique else e64
    nxt = getattr(idx, "next", e64) if not unique else e64
    rk = ctx.pool.ranks() if _uses_ranks(p) else e64
    row_bytes = limits.cpu_row_bytes(p.last.schema.arity if p.agg is None else 2)
    room = limits.room_rows(row_bytes)
    args = [np.ascontiguousarray(c) for c in probe.cols] + [probe.n] + \
        [np.ascontiguousarray(c) for c in build.cols] + \
        [ds[0] if dense else 0, slot,
         e64 if dense else idx.groups.slots, np.zeros((0, len(bkeys)), np.int64) if dense else idx.groups.store,
         head, nxt, rk, -1 if room is None else room,
         groups[0] if groups else e64, len(groups[1][0]) if groups and groups[1] else 0,
         numba.get_num_threads()]
    code = generate(p, lay)
    if compile_only:
        return code, args
    bad, x, y, op, k, g, arrays = kernel_cache.call(code, *args)
    if bad == -2:
        raise limits.exceeded(int(k), row_bytes, at_least=True)
    if bad >= 0:
        raise fuse.division_error(x, y, op)
    ctx.stats["pipelines"] = ctx.stats.get("pipelines", 0) + 1
    if p.agg is None:
        distinct = left.distinct and right.distinct and p.keeps
        return Table([np.asarray(a[:k], dtype=DTYPES[t]) for a, t in zip(arrays, p.last.schema.types)], int(k),
                     distinct=distinct)
    named = dict(zip(_agg_arrays(p.agg, lay.build_groups), arrays))
    return _agg_table(p.agg, named, int(k), int(g), ctx, groups[1] if groups else None)


def _build_groups(agg: Node, build: Table, offset: int, ev) -> tuple[np.ndarray, list[np.ndarray]]:
    """The group id of each build row, and each group's key values (build_groups())."""
    from dfl.backends.columnar.table import factorize_columns

    cols: list = [None] * offset + list(build.cols)  # the join's columns; the probe's are not read
    view = Table(cols, build.n)
    keys = [ev.eval(e, view) for e in agg.attr("keys")]
    ids, first = factorize_columns(keys, build.n)
    return ids, [k[first] for k in keys]


def _uses_ranks(p: Pipeline) -> bool:
    def walk(e) -> bool:
        if e is None or not hasattr(e, "args"):
            return False
        if e.op in ("lt", "le", "gt", "ge") and e.args[0].type.text:
            return True
        return any(walk(a) for a in e.args)

    if p.agg is not None and any(e is not None and e.type.text and f in ("min", "max") for f, e in p.agg.attr("aggs")):
        return True
    return any(walk(e) for n in p.nodes for e in _exprs(n))


def _types(t: Table) -> list[Type]:
    return [{np.dtype(np.int64): Type.INT, np.dtype(np.float64): Type.FLOAT, np.dtype(np.bool_): Type.BOOL}[c.dtype]
            for c in t.cols]


def _agg_table(agg: Node, a: dict[str, np.ndarray], k: int, g: int, ctx,
               build_keys: list[np.ndarray] | None) -> Table:
    """The aggregate's rows from the loop's arrays; with groups from the build side, only
    the groups some row reached."""
    from dfl.backends.cpu.ops import _float_sum, _int_mean

    cnt = a["cnt"][:g]
    keep = np.flatnonzero(cnt) if build_keys is not None else slice(None)
    out = []
    for j, e in enumerate(agg.attr("keys")):
        if build_keys is not None:
            out.append(build_keys[j][keep])
        elif e.type == Type.FLOAT:
            out.append(a[f"gv{j}"][:g].copy())
        else:
            out.append(a[f"gk{j}"][:g].astype(DTYPES[e.type]))
    cnt = cnt[keep]
    fid = a["fid"][:k]
    for j, (f, e) in enumerate(agg.attr("aggs")):
        if f == "count":
            out.append(cnt.copy())
        elif f in ("sum", "mean") and e.type == Type.FLOAT:
            s = _float_sum(fid, a[f"fv{j}"][:k], g)[keep]
            out.append(s if f == "sum" else s / cnt)
        elif f == "sum":
            out.append(a[f"a{j}"][:g][keep].copy())
        elif f == "mean":
            out.append(_int_mean(a[f"hi{j}"][:g][keep], a[f"lo{j}"][:g][keep], cnt))
        elif e.type.text:
            out.append(np.argsort(ctx.pool.ranks())[a[f"a{j}"][:g][keep]])
        else:
            out.append(a[f"a{j}"][:g][keep].astype(DTYPES[e.type]))
    return Table(out, len(cnt), distinct=True)


def llvm_of(p: Pipeline, g: Graph) -> str:
    """The LLVM IR of the pipeline's loop, compiled (in memory) for the types of its inputs."""
    from types import SimpleNamespace

    from dfl.backends.columnar.strings import StringPool
    from dfl.backends.cpu.vexpr import Evaluator

    pool = StringPool()
    ctx = SimpleNamespace(pool=pool, ev=Evaluator(pool), stats={})  # what the run reads of plan.Context
    left, right = (Table.empty(g.node(i).schema) for i in p.inputs)
    left.distinct = right.distinct = True
    code, args = _run(p, left, right, ctx, compile_only=True)
    ns: dict = {}
    exec(compile(code.replace("@njit(cache=True", "@njit(cache=False"), f"<pipeline {p.last.id}>", "exec"), ns)
    kernel = ns["kernel"]
    kernel(*args)
    return "\n".join(kernel.inspect_llvm().values())
