"""Unit tests of the cpu backend's building blocks: the native kernels (kernels.py), the
hash structures over them (index.py: RowSet, JoinIndex), the string pool (pool.py) and the
columnar expression evaluator (vexpr.py). Each is checked against a plain-Python model."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from dfl.backends.cpu import kernels as K
from dfl.backends.cpu.index import JoinIndex, index_of
from dfl.backends.cpu.rowset import RowSet
from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import Table, factorize_columns, key_matrix
from dfl.backends.cpu.vexpr import Evaluator
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.types import Type
from dfl.stdlib.builtins import BuiltinError
from dfl.stdlib.hashing import stable_hash

I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL
INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1


def mat(rows, width=None) -> np.ndarray:
    rows = list(rows)
    if width is None:
        width = len(rows[0]) if rows else 0
    return np.array(rows, np.int64).reshape(len(rows), width)


def wrap(x: int) -> int:
    return ((x + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63)


# ---------------------------------------------------------------- factorize


def _model_factorize(rows):
    ids, first, seen = [], [], {}
    for i, r in enumerate(rows):
        if r not in seen:
            seen[r] = len(first)
            first.append(i)
        ids.append(seen[r])
    return ids, first


@pytest.mark.parametrize("seed", range(4))
def test_factorize_numbers_rows_in_order_of_first_appearance(seed: int) -> None:
    rnd = random.Random(seed)
    width = rnd.randrange(1, 4)
    rows = [tuple(rnd.choice([0, 1, -1, INT_MIN, INT_MAX, 7]) for _ in range(width)) for _ in range(rnd.randrange(1, 300))]
    ids, first = K.factorize(mat(rows))
    want_ids, want_first = _model_factorize(rows)
    assert ids.tolist() == want_ids
    assert first.tolist() == want_first


def test_factorize_edge_shapes() -> None:
    ids, first = K.factorize(np.zeros((0, 2), np.int64))
    assert ids.tolist() == [] and first.tolist() == []
    ids, first = K.factorize(np.zeros((5, 0), np.int64))  # zero columns: every row is the same row
    assert ids.tolist() == [0] * 5 and first.tolist() == [0]
    ids, first = K.factorize(mat([(i,) for i in range(1000)]))  # more groups than the first capacity
    assert ids.tolist() == list(range(1000)) and first.tolist() == list(range(1000))


def test_factorize_dense_and_all_distinct_dense() -> None:
    key = np.array([3, 1, 3, 0, 1, 2], np.int64)
    ids, first = K.factorize_dense(key, 4)
    assert ids.tolist() == [0, 1, 0, 2, 1, 3] and first.tolist() == [0, 1, 3, 5]
    assert K.all_distinct_dense(np.array([5, 7, 6], np.int64), 5, 3)
    assert not K.all_distinct_dense(np.array([5, 7, 5], np.int64), 5, 3)


@pytest.mark.parametrize("cols", [
    [np.array([INT_MIN, INT_MAX, INT_MIN, 0], np.int64)],  # span beyond 64 bits: hashing
    [np.array([0, 1 << 31, 0, 5], np.int64), np.array([1 << 31, 0, 1 << 31, 5], np.int64)],  # packed span 2**62
    [np.array([-5, 3, -5, 3], np.int64), np.array([True, False, True, True])],  # dense, bools
    [np.array([2, 2, 1, 1], np.int64), np.array([0.0, -0.0, 1.5, 1.5])],  # floats: hashing
])
def test_factorize_columns_agrees_with_the_model(cols) -> None:
    n = len(cols[0])
    rows = [tuple((c[i].item() + 0.0 if c.dtype == np.float64 else c[i].item()) for c in cols) for i in range(n)]
    ids, first = factorize_columns(cols, n)
    want_ids, want_first = _model_factorize(rows)
    assert ids.tolist() == want_ids and first.tolist() == want_first


def test_key_matrix_normalises_negative_zero_unless_exact() -> None:
    c = np.array([0.0, -0.0, 1.0])
    km = key_matrix([c], 3)
    assert km[0, 0] == km[1, 0] != km[2, 0]
    ex = key_matrix([c], 3, exact=True)
    assert ex[0, 0] != ex[1, 0]
    assert key_matrix([], 4).shape == (4, 0)


# ---------------------------------------------------------------- RowSet: set_insert / set_lookup with growth


def test_rowset_insert_lookup_with_growth() -> None:
    rnd = random.Random(1)
    rs = RowSet(2, capacity=4)
    model: dict[tuple, int] = {}
    first_slots = rs.slots.shape[0]
    for _ in range(30):
        batch = [(rnd.randrange(-50, 50), rnd.choice([INT_MIN, INT_MAX, rnd.randrange(100)])) for _ in range(rnd.randrange(0, 200))]
        new = rs.insert(mat(batch, 2))
        want_new = []
        for i, r in enumerate(batch):
            if r not in model:
                model[r] = len(model)
                want_new.append(i)
        assert new.tolist() == want_new
        assert rs.count == len(model)
    assert rs.slots.shape[0] > first_slots and rs.store.shape[0] >= rs.count
    assert 2 * rs.count + 2 <= rs.slots.shape[0]  # the load factor stays at most one half
    assert [tuple(r) for r in rs.store[:rs.count].tolist()] == list(model)
    probe = list(model) + [(1000, 1000), (-1, INT_MIN + 1)]
    got = rs.lookup(mat(probe, 2)).tolist()
    assert got == [model.get(r, -1) for r in probe]


def test_set_insert_and_lookup_kernels_directly() -> None:
    store = np.empty((8, 1), np.int64)
    slots = K.set_rebuild(store, 0, K.capacity_for(8))
    count, new = K.set_insert(slots, store, 0, mat([(5,), (6,), (5,)]))
    assert count == 2 and new.tolist() == [0, 1]
    count, new = K.set_insert(slots, store, count, mat([(6,), (7,)]))
    assert count == 3 and new.tolist() == [1]
    assert K.set_lookup(slots, store, mat([(7,), (5,), (9,)])).tolist() == [2, 0, -1]
    rebuilt = K.set_rebuild(store, count, K.capacity_for(100))
    assert K.set_lookup(rebuilt, store, mat([(7,), (5,), (9,)])).tolist() == [2, 0, -1]


def test_rowset_of_zero_width() -> None:
    rs = RowSet(0)
    assert rs.insert(np.zeros((3, 0), np.int64)).tolist() == [0]
    assert rs.insert(np.zeros((2, 0), np.int64)).tolist() == []
    assert rs.count == 1 and rs.lookup(np.zeros((2, 0), np.int64)).tolist() == [0, 0]


def test_capacity_for_is_a_power_of_two_above_twice_n() -> None:
    for n in (0, 1, 7, 8, 63, 64, 1000):
        cap = K.capacity_for(n)
        assert cap & (cap - 1) == 0 and cap >= 2 * n + 2 and cap >= 16


# ---------------------------------------------------------------- JoinIndex: chain_add / chain_probe


def _pairs_model(left_keys, right_keys):
    return sorted((i, j) for i, a in enumerate(left_keys) for j, b in enumerate(right_keys) if a == b)


def test_join_index_grows_with_its_table_and_probes_every_pair() -> None:
    rnd = random.Random(2)
    a_all = np.array([rnd.randrange(300) for _ in range(2000)], np.int64)
    b_all = np.array([rnd.randrange(5) for _ in range(2000)], np.int64)
    idx = JoinIndex((0, 1))
    for n in (0, 10, 10, 64, 65, 500, 2000):  # the table only grows; the index follows
        t = Table([a_all[:n], b_all[:n]], n)
        idx.extend(t)
        assert idx.rows == n
        probe_rows = [(rnd.randrange(300), rnd.randrange(6)) for _ in range(50)] + \
                     [(int(a_all[i]), int(b_all[i])) for i in range(0, n, max(1, n // 20))]
        li, ri = idx.probe(mat(probe_rows, 2))
        got = sorted(zip(li.tolist(), ri.tolist()))
        table_rows = list(zip(a_all[:n].tolist(), b_all[:n].tolist()))
        assert got == _pairs_model(probe_rows, table_rows)
    assert len(idx.head) >= idx.groups.count and len(idx.next) >= 2000


def test_chain_kernels_directly() -> None:
    head = np.full(3, K.EMPTY, np.int64)
    nxt = np.empty(6, np.int64)
    K.chain_add(head, nxt, np.array([0, 1, 0], np.int64), 0)
    K.chain_add(head, nxt, np.array([2, 0], np.int64), 3)
    left, right, total = K.chain_probe(head, nxt, np.array([0, -1, 2, 1], np.int64), -1)
    got = sorted(zip(left.tolist(), right.tolist()))
    assert got == [(0, 0), (0, 2), (0, 4), (2, 3), (3, 1)] and total == 5
    left, right, total = K.chain_probe(head, nxt, np.empty(0, np.int64), -1)
    assert len(left) == len(right) == total == 0
    # over max_pairs: the count only, nothing allocated (the memory limit)
    for probe in (K.chain_probe, K.chain_probe_parallel):
        left, right, total = probe(head, nxt, np.array([0, -1, 2, 1], np.int64), 4)
        assert len(left) == len(right) == 0 and total == 5


def test_index_of_is_kept_on_the_table() -> None:
    t = Table([np.array([1, 2, 1], np.int64), np.array([5, 6, 7], np.int64)], 3, {})
    idx = index_of(t, (0,))
    assert index_of(t, (0,)) is idx and t.indexes[(0,)] is idx
    li, ri = idx.probe(mat([(1,), (3,)]))
    assert sorted(zip(li.tolist(), ri.tolist())) == [(0, 0), (0, 2)]


# ---------------------------------------------------------------- grouped reductions


def _groups(ids, vals, g):
    out = [[] for _ in range(g)]
    for i, v in zip(ids, vals):
        out[i].append(v)
    return out


def test_group_min_max_sum_int() -> None:
    rnd = random.Random(3)
    g = 7
    ids = np.array([rnd.randrange(g) for _ in range(500)] + list(range(g)), np.int64)
    vals = np.array([rnd.choice([INT_MIN, INT_MAX, rnd.randrange(-100, 100)]) for _ in range(len(ids))], np.int64)
    groups = _groups(ids.tolist(), vals.tolist(), g)
    assert K.group_reduce(ids, vals, g, True).tolist() == [min(x) for x in groups]
    assert K.group_reduce(ids, vals, g, False).tolist() == [max(x) for x in groups]
    assert K.group_sum_i(ids, vals, g).tolist() == [wrap(sum(x)) for x in groups]  # wraps at 64 bits
    hi, lo = K.group_sum_i128(ids, vals, g)
    assert [(int(h) << 64) + int(l) for h, l in zip(hi, lo)] == [sum(x) for x in groups]  # exact


def test_group_sum_int_wraps() -> None:
    ids = np.zeros(3, np.int64)
    assert K.group_sum_i(ids, np.array([INT_MAX, 1, 1], np.int64), 1).tolist() == [INT_MIN + 1]
    hi, lo = K.group_sum_i128(ids, np.array([INT_MIN, INT_MIN, -1], np.int64), 1)
    assert (int(hi[0]) << 64) + int(lo[0]) == 2 * INT_MIN - 1


def test_group_min_max_sum_float() -> None:
    ids = np.array([0, 1, 0, 1, 2, 0], np.int64)
    vals = np.array([1.5, -0.5, -3.0, 2.0, 7.0, math.inf])
    assert K.group_reduce(ids, vals, 3, True).tolist() == [-3.0, -0.5, 7.0]
    assert K.group_reduce(ids, vals, 3, False).tolist() == [math.inf, 2.0, 7.0]
    sums = K.group_sum_f(np.zeros(3, np.int64), np.array([1e16, 1.0, -1e16]), 1)
    assert sums.tolist() == [math.fsum([1e16, 1.0, -1e16])]


@pytest.mark.parametrize("vals", [
    [0.1] * 10,
    [1e16, 1.0, -1e16],
    [1e40, 1e20, 1.0, -1e20, -1e40],  # needs more than one compensation term
    [1.0, 1e100, 1.0, -1e100],
    [3.3, -1.1, 2.2, 1e-17, 5e-17],
])
def test_group_sum_float_is_exactly_rounded_like_fsum(vals) -> None:
    """docs/semantics.md: sums of floats are exactly rounded (math.fsum), order-independent."""
    ids = np.zeros(len(vals), np.int64)
    got = K.group_sum_f(ids, np.array(vals), 1)[0]
    assert math.isclose(got, math.fsum(vals), rel_tol=1e-12, abs_tol=0.0), (got, math.fsum(vals))


def test_group_reductions_of_empty_groups_input() -> None:
    ids = np.empty(0, np.int64)
    assert K.group_sum_i(ids, np.empty(0, np.int64), 0).tolist() == []
    assert K.group_reduce(ids, np.empty(0), 0, True).tolist() == []


# ---------------------------------------------------------------- lattice_update


def _lattice(width: int, n_vals: int, cap: int, dtype, is_min):
    store = np.empty((cap, width), np.int64)
    slots = K.set_rebuild(store, 0, K.capacity_for(cap))
    ident = [np.iinfo(np.int64).max if m else np.iinfo(np.int64).min for m in is_min] if dtype == np.int64 \
        else [math.inf if m else -math.inf for m in is_min]
    values = np.tile(np.array(ident, dtype), (cap, 1))
    return slots, store, values, np.array(is_min, np.bool_)


def test_lattice_update_inserts_merges_and_reports_changes() -> None:
    slots, store, values, is_min = _lattice(1, 2, 16, np.int64, [True, False])
    count, changed = K.lattice_update(slots, store, 0, values, mat([(1,), (2,), (1,)]),
                                      np.array([[5, 5], [7, 7], [3, 4]], np.int64), is_min)
    assert count == 2 and changed.tolist() == [0, 1]
    assert values[:2].tolist() == [[3, 5], [7, 7]]
    # no improvement: nothing changes; one improvement in one column: that row changes
    count, changed = K.lattice_update(slots, store, count, values, mat([(1,), (2,)]),
                                      np.array([[4, 1], [7, 8]], np.int64), is_min)
    assert count == 2 and changed.tolist() == [1]
    assert values[:2].tolist() == [[3, 5], [7, 8]]
    count, changed = K.lattice_update(slots, store, count, values, mat([(9,)]), np.array([[0, 0]], np.int64), is_min)
    assert count == 3 and changed.tolist() == [2]


def test_lattice_update_float_values_model() -> None:
    rnd = random.Random(4)
    slots, store, values, is_min = _lattice(2, 2, 256, np.float64, [True, False])
    model: dict[tuple, list[float]] = {}
    count = 0
    for _ in range(10):
        keys = [(rnd.randrange(5), rnd.randrange(3)) for _ in range(12)]
        cand = [[rnd.uniform(-10, 10), rnd.uniform(-10, 10)] for _ in keys]
        want_changed = set()
        order = list(model)
        for k, (lo, hi) in zip(keys, cand):
            if k not in model:
                model[k] = [lo, hi]
                order.append(k)
                want_changed.add(order.index(k))
            else:
                old = list(model[k])
                model[k] = [min(old[0], lo), max(old[1], hi)]
                if model[k] != old:
                    want_changed.add(order.index(k))
        count, changed = K.lattice_update(slots, store, count, values, mat(keys, 2), np.array(cand), is_min)
        assert changed.tolist() == sorted(want_changed)
        assert count == len(model)
        assert {tuple(store[i]): values[i].tolist() for i in range(count)} == model


# ---------------------------------------------------------------- specialised recursion kernels


def test_closure_bfs_and_dijkstra() -> None:
    # graph 0->1->2->0, 3->3, 4 isolated; sources: a from {0}, b from {3, 4}
    adj_off = np.array([0, 1, 2, 3, 4, 4], np.int64)
    adj = np.array([1, 2, 0, 3], np.int64)
    src_off = np.array([0, 1, 3], np.int64)
    targets = np.array([0, 3, 4], np.int64)
    empty = np.empty(0, np.int64)
    counts = K.closure_bfs(src_off, targets, adj_off, adj, 5, empty, empty, True)
    assert counts.tolist() == [3, 2]
    out_off = np.array([0, 3, 5], np.int64)
    out = np.empty(5, np.int64)
    K.closure_bfs(src_off, targets, adj_off, adj, 5, out_off, out, False)
    assert sorted(out[:3].tolist()) == [0, 1, 2] and sorted(out[3:].tolist()) == [3, 4]
    w = np.array([4, 1, 2, 0], np.int64)
    dist, reached = K.dijkstra(adj_off, adj, w, np.array([0, 0], np.int64), np.array([5, 2], np.int64), 5)
    assert reached.tolist() == [True, True, True, False, False]
    assert dist[:3].tolist() == [2, 6, 7]


# ---------------------------------------------------------------- StringPool


def test_string_pool_codes_ranks_after_growth() -> None:
    pool = StringPool()
    words = ["b", "a", "é", "B", "", "日本", "a,b", "🎉", "\uffff", "z"]
    codes = pool.encode(words)
    assert codes.tolist() == list(range(len(words)))
    assert pool.encode(["a", "a", "b"]).tolist() == [1, 1, 0]  # equal strings, equal codes
    assert pool.decode(codes) == words and pool.decode(np.empty(0, np.int64)) == []

    def check_ranks():
        r = pool.ranks()
        assert len(r) == len(pool)
        by_rank = sorted(range(len(pool)), key=lambda c: r[c])
        assert [pool.strings[c] for c in by_rank] == sorted(pool.strings)  # code-point order

    check_ranks()
    for w in ["aa", "A", "ß", "\U0001F600", "é", "0"]:  # growth after ranks were computed
        pool.code(w)
        check_ranks()
    more = pool.encode([f"w{i}" for i in range(300)])
    assert pool.decode(more)[-1] == "w299"
    check_ranks()


def test_string_pool_map_unary() -> None:
    pool = StringPool()
    codes = pool.encode(["ab", "c", "ab", ""])
    assert pool.map_unary(codes, len, np.int64).tolist() == [2, 1, 2, 0]
    up = pool.map_unary(codes, str.upper, str)
    assert pool.decode(up) == ["AB", "C", "AB", ""]


# ---------------------------------------------------------------- Evaluator (vexpr)


@pytest.fixture
def ev():
    with np.errstate(all="ignore"):  # as CpuPlan.run does: wraparound and inf are values, not warnings
        yield Evaluator(StringPool())


def c(i: int, t: Type = I) -> Col:
    return Col(i, t)


def lit(v, t: Type = I) -> Lit:
    return Lit(v, t)


def fn(op: str, t: Type, *args) -> Fn:
    return Fn(op, tuple(args), t)


def ints(*vals) -> np.ndarray:
    return np.array(vals, np.int64)


def test_eval_columns_literals_and_int_arithmetic_wraps(ev) -> None:
    t = Table([ints(INT_MAX, INT_MIN, -7, 7), ints(1, -1, 2, -2)], 4)
    assert ev.eval(fn("add", I, c(0), c(1)), t).tolist() == [INT_MIN, INT_MAX, -5, 5]
    assert ev.eval(fn("sub", I, c(0), c(1)), t).tolist() == [INT_MAX - 1, INT_MIN + 1, -9, 9]
    assert ev.eval(fn("mul", I, c(0), lit(2)), t).tolist() == [-2, 0, -14, 14]
    assert ev.eval(fn("neg", I, c(0)), t).tolist() == [-INT_MAX, INT_MIN, 7, -7]
    assert ev.eval(fn("floordiv", I, c(0), c(1)), t).tolist() == [INT_MAX, INT_MIN, -4, -4]
    assert ev.eval(fn("mod", I, c(0), c(1)), t).tolist() == [0, 0, 1, -1]
    assert ev.eval(lit(5), t).tolist() == [5] * 4
    assert ev.eval(fn("div", F, fn("float", F, c(0)), fn("float", F, c(1))), t).tolist() == \
        [float(INT_MAX), float(INT_MAX) + 1.0, -3.5, -3.5]


def test_eval_division_by_zero_raises(ev) -> None:
    t = Table([ints(1, 2), ints(1, 0)], 2)
    for op, rt in (("floordiv", I), ("mod", I)):
        with pytest.raises(BuiltinError, match="division by zero"):
            ev.eval(fn(op, rt, c(0), c(1)), t)
    tf = Table([np.array([1.0]), np.array([-0.0])], 1)
    with pytest.raises(BuiltinError, match="division by zero"):
        ev.eval(fn("div", F, c(0, F), c(1, F)), tf)


def test_eval_if_evaluates_each_branch_only_where_taken(ev) -> None:
    t = Table([ints(0, 4, -2)], 3)
    e = fn("if", I, fn("eq", B, c(0), lit(0)), lit(-1), fn("floordiv", I, lit(8), c(0)))
    assert ev.eval(e, t).tolist() == [-1, 2, -4]
    s = fn("if", S, fn("gt", B, c(0), lit(0)), lit("pos", S), lit("non", S))
    assert ev.pool.decode(ev.eval(s, t)) == ["non", "pos", "non"]


def test_eval_and_short_circuits(ev) -> None:
    t = Table([ints(0, 5, 1)], 3)
    e = fn("and", B, fn("ne", B, c(0), lit(0)), fn("gt", B, fn("floordiv", I, lit(10), c(0)), lit(2)))
    assert ev.eval(e, t).tolist() == [False, False, True]
    assert ev.eval(fn("not", B, e), t).tolist() == [True, True, False]


def test_eval_string_comparisons_by_code_point_with_new_literals(ev) -> None:
    words = ["b", "B", "é", "", "a,b", "日"]
    t = Table([ev.pool.encode(words)], len(words))
    for lit_s in ("a", "ä", "Z", "b"):  # literals not yet in the pool when the comparison runs
        for op, py in (("lt", str.__lt__), ("le", str.__le__), ("gt", str.__gt__), ("ge", str.__ge__),
                       ("eq", str.__eq__), ("ne", str.__ne__)):
            got = ev.eval(fn(op, B, c(0, S), lit(lit_s, S)), t).tolist()
            assert got == [py(w, lit_s) for w in words], (op, lit_s)
    cat = ev.eval(fn("add", S, c(0, S), lit("!", S)), t)
    assert ev.pool.decode(cat) == [w + "!" for w in words]
    t2 = Table([c0 := ev.pool.encode(words), cat], len(words))  # strings made while running, compared
    assert ev.eval(fn("lt", B, c(1, S), c(0, S)), t2).tolist() == [w + "!" < w for w in words]
    assert ev.eval(fn("gt", B, c(1, S), lit("b", S)), t2).tolist() == [w + "!" > "b" for w in words]
    assert c0.tolist() == t.cols[0].tolist()


def test_eval_builtins_match_python(ev) -> None:
    xs = [-2.5, -0.0, 0.0, 0.5, 3.0, 1e19]
    t = Table([np.array(xs)], len(xs))
    assert ev.eval(fn("abs", F, c(0, F)), t).tolist() == [abs(x) for x in xs]
    assert ev.eval(fn("floor", I, c(0, F)), t).tolist() == [wrap(math.floor(x)) for x in xs]
    assert ev.eval(fn("ceil", I, c(0, F)), t).tolist() == [wrap(math.ceil(x)) for x in xs]
    assert ev.eval(fn("to_int", I, c(0, F)), t).tolist() == [wrap(int(x)) for x in xs]
    assert ev.pool.decode(ev.eval(fn("to_str", S, c(0, F)), t)) == [repr(x) for x in xs]  # -0.0 kept apart
    assert ev.eval(fn("hash", I, c(0, F)), t).tolist() == [stable_hash(x) for x in xs]
    assert ev.eval(fn("exp", F, lit(1000.0, F)), t).tolist() == [math.inf] * len(xs)
    assert ev.eval(fn("sqrt", F, fn("abs", F, c(0, F))), t).tolist() == [math.sqrt(abs(x)) for x in xs]
    ti = Table([ints(-3, 0, 7, INT_MIN), ints(2, 5, 0, 3)], 4)
    assert ev.eval(fn("pow", I, c(0), c(1)), ti).tolist() == [9, 0, 1, 0]
    assert ev.eval(fn("min", I, c(0), c(1)), ti).tolist() == [-3, 0, 0, INT_MIN]
    assert ev.eval(fn("max", I, c(0), c(1)), ti).tolist() == [2, 5, 7, 3]
    assert ev.eval(fn("hash", I, c(0)), ti).tolist() == [stable_hash(v) for v in (-3, 0, 7, INT_MIN)]
    nan = float("nan")
    tn = Table([np.array([nan, 2.0])], 2)
    got = ev.eval(fn("max", F, lit(1.0, F), c(0, F)), tn).tolist()
    assert got == [1.0, 2.0]  # Python's max(1.0, nan) is 1.0


def test_eval_string_builtins(ev) -> None:
    words = ["Hello, World", "", "日本語", "ßa"]
    t = Table([ev.pool.encode(words)], len(words))
    dec = ev.pool.decode
    assert ev.eval(fn("len", I, c(0, S)), t).tolist() == [len(w) for w in words]
    assert dec(ev.eval(fn("upper", S, c(0, S)), t)) == [w.upper() for w in words]
    assert dec(ev.eval(fn("lower", S, c(0, S)), t)) == [w.lower() for w in words]
    assert dec(ev.eval(fn("substr", S, c(0, S), lit(1), lit(3)), t)) == [w[1:4] for w in words]
    assert ev.eval(fn("contains", B, c(0, S), lit(",", S)), t).tolist() == ["," in w for w in words]
    assert ev.eval(fn("starts_with", B, c(0, S), lit("H", S)), t).tolist() == [w.startswith("H") for w in words]
    assert ev.eval(fn("ends_with", B, c(0, S), lit("a", S)), t).tolist() == [w.endswith("a") for w in words]
    assert ev.eval(fn("hash", I, c(0, S)), t).tolist() == [stable_hash(w) for w in words]
    nums = Table([ev.pool.encode([" 12", "-3", "7"])], 3)
    assert ev.eval(fn("to_int", I, c(0, S)), nums).tolist() == [12, -3, 7]
    with pytest.raises(BuiltinError):
        ev.eval(fn("to_int", I, c(0, S)), Table([ev.pool.encode(["x1"])], 1))


@pytest.mark.parametrize("op,arg,msg", [("sqrt", -1.0, "sqrt"), ("log", 0.0, "log"), ("log", -2.0, "log")])
def test_eval_domain_errors(ev, op: str, arg: float, msg: str) -> None:
    t = Table([np.array([4.0, arg])], 2)
    with pytest.raises(BuiltinError, match=msg):
        ev.eval(fn(op, F, c(0, F)), t)


def test_eval_pow_negative_int_exponent(ev) -> None:
    with pytest.raises(BuiltinError, match="negative exponent"):
        ev.eval(fn("pow", I, c(0), c(1)), Table([ints(2, 2), ints(1, -1)], 2))


def test_generate_range_and_split(ev) -> None:
    t = Table([ints(0, 3, -1, 2), ints(2, 3, 1, 0)], 4)
    rows, vals, _ = ev.generate(fn("range", I, c(0), lit(4)), t)
    assert list(zip(rows.tolist(), vals.tolist())) == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 3),
                                                        (2, -1), (2, 0), (2, 1), (2, 2), (2, 3), (3, 2), (3, 3)]
    rows, vals, _ = ev.generate(fn("range", I, c(0), c(1)), t)  # empty and reversed ranges: no elements
    assert list(zip(rows.tolist(), vals.tolist())) == [(0, 0), (0, 1), (2, -1), (2, 0)]
    rows, vals, _ = ev.generate(fn("range", I, c(0), c(1)), Table([ints(), ints()], 0))
    assert len(rows) == len(vals) == 0
    lines = ["a b a", "", "x", "a b a"]
    ts = Table([ev.pool.encode(lines)], 4)
    rows, vals, _ = ev.generate(fn("split", S, c(0, S), lit(" ", S)), ts)
    got = list(zip(rows.tolist(), ev.pool.decode(vals)))
    assert got == [(i, w) for i, line in enumerate(lines) for w in line.split(" ")]
    rows, vals, once = ev.generate(fn("split", S, c(0, S), lit(" ", S)), ts, once=True)  # each word once a row
    assert once and list(zip(rows.tolist(), ev.pool.decode(vals))) == \
        [(i, w) for i, line in enumerate(lines) for w in dict.fromkeys(line.split(" "))]
    with pytest.raises(BuiltinError):
        ev.generate(fn("split", S, c(0, S), lit("", S)), ts)


def test_per_unique_calls_once_per_distinct_argument(ev) -> None:
    calls = []

    def f(x):
        calls.append(x)
        return x * 2

    out = ev.per_unique([ints(3, 1, 3, 3, 1)], [I], f, I, 5)
    assert out.tolist() == [6, 2, 6, 6, 2] and sorted(calls) == [1, 3]
    assert ev.per_unique([ints()], [I], f, I, 0).tolist() == []


@pytest.mark.parametrize("seed", range(4))
def test_factorize1_agrees_with_the_row_factorize(seed: int) -> None:
    rng = np.random.default_rng(seed)
    key = rng.integers(-(1 << 62), 1 << 62, 3000)
    key[rng.integers(0, 3000, 1000)] = key[rng.integers(0, 3000, 1000)]  # repeats
    key[:5] = [INT_MIN, INT_MAX, 0, -1, INT_MIN]
    ids, first = K.factorize1(key)
    ids2, first2 = K.factorize(key.reshape(-1, 1))
    assert (ids == ids2).all() and (first == first2).all()
    assert (key[first][ids] == key).all()


@pytest.mark.parametrize("n_keys", [1, 7, 100])
def test_group_order_is_a_stable_counting_sort(n_keys: int) -> None:
    rng = np.random.default_rng(n_keys)
    keys = rng.integers(0, n_keys, 500)
    order, offsets = K.group_order(keys, n_keys)
    assert (order == np.argsort(keys, kind="stable")).all()
    assert (offsets == np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n_keys))])).all()
    empty_order, empty_off = K.group_order(np.empty(0, np.int64), 3)
    assert len(empty_order) == 0 and empty_off.tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("sep", [" ", ",", "\t", "é"])
def test_split_on_the_bytes_agrees_with_str_split(sep: str) -> None:
    from tests.backends.test_parity import run_both

    lines = ["", sep, f"{sep}a{sep}", f"a{sep}{sep}b", "日本語" + sep + "ß", "🎉 party, x\ty", "e\u0301" + sep + "e\u0301",
             sep.join(f"w{i % 13}" for i in range(400))]
    src = f"""
input line(i: int, t: str)
output wc(w: str, n: int)
output pieces(i: int, w: str)
wc(w, count()) :- line(i, t), w in split(t, "{sep}").
pieces(i, w) :- line(i, t), w in split(t, "{sep}").
"""
    rows = [(i, t) for i, t in enumerate(lines)]
    ref = run_both(src, line=rows)
    want = sorted({(i, w) for i, t in rows for w in t.split(sep)})
    assert sorted(ref["pieces"]) == want


def test_split_words_kernel_directly() -> None:
    text = "a,bb,,a,ccc,bb,"
    data = np.frombuffer(text.encode(), np.uint8)
    ids, starts, ends = K.split_words(data, ord(","))
    words = [text.encode()[a:b].decode() for a, b in zip(starts, ends)]
    assert [words[i] for i in ids] == text.split(",")
    assert words == ["a", "bb", "", "ccc"]  # first appearance order


def test_first_in_lists_keeps_each_value_once_per_list() -> None:
    offsets = np.array([0, 3, 5, 5, 8], np.int64)  # lists [5, 2, 5], [5, 5], [], [2, 0, 2]
    flat = np.array([5, 2, 5, 5, 5, 2, 0, 2], np.int64)
    new_off, kept = K.first_in_lists(offsets, flat, 6)
    assert new_off.tolist() == [0, 2, 3, 3, 5] and kept.tolist() == [5, 2, 5, 2, 0]


def test_expand_repeats_each_rows_list_in_order() -> None:
    offsets = np.array([0, 2, 2, 5], np.int64)  # lists [7, 8], [], [1, 2, 3]
    rows, vals = K.expand(np.array([2, 0, 1, 0], np.int64), offsets, np.array([7, 8, 1, 2, 3], np.int64))
    assert rows.tolist() == [0, 0, 0, 1, 1, 3, 3] and vals.tolist() == [1, 2, 3, 7, 8, 7, 8]


def test_count_byte_counts_per_piece() -> None:
    data = np.frombuffer(b"a b c,d e,,f", np.uint8)  # pieces "a b c", "d e", "", "f" joined by ","
    assert K.count_byte(data, ord(" "), np.array([5, 9, 10, 12], np.int64)).tolist() == [2, 1, 0, 0]


def test_a_generator_over_distinct_rows_repeating_elements_counts_right() -> None:
    from tests.backends.test_parity import run_both

    src = """
input line(i: int, t: str)
output wc(w: str, n: int)
output r(i: int, k: int, n: int)
wc(w, count()) :- line(i, t), w in split(t, " ").
r(i, k, count()) :- line(i, _), k in range(0, i), j in range(k, 3).
"""
    run_both(src, {"wc": [("", 1), ("a", 2), ("b", 2), ("c", 1)]}, line=[(0, "a a b"), (1, "b c b a"), (2, "")])


@pytest.mark.parametrize("extra", ["", "é ü"], ids=["ascii", "non-ascii"])
def test_split_ascii_gives_each_texts_words(ev, extra: str) -> None:
    lines = [" ".join(f"w{(i * 7 + j) % 97}" for j in range(i % 9)) for i in range(300)] + [extra, " a ", "  "]
    lens, flat = ev._split_ascii(lines, " ")
    assert lens.tolist() == [len(t.split(" ")) for t in lines]
    assert ev.pool.decode(flat) == [w for t in lines for w in t.split(" ")]
