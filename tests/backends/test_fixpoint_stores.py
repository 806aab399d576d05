"""The fixpoint's storage structures (issue 14): array-held keys, packed row sets, the
grouped lasting index and claimed joins, each against the plain answer it replaces."""
from __future__ import annotations

import numpy as np
import pytest

from dfl.backends.cpu.dense_keys import DenseKeys
from dfl.backends.cpu.grouped_index import GroupedIndex
from dfl.backends.cpu.index import JoinIndex
from dfl.backends.cpu.rowset import HashKeys
from dfl.backends.cpu.packed_set import PENDING, PackedSet, claim_pairs
from dfl.backends.columnar.table import Table, key_matrix


def _col(*v: int) -> np.ndarray:
    return np.array(v, np.int64).reshape(-1, 1)


def test_dense_keys_number_rows_in_order_and_grow_both_ways() -> None:
    d = DenseKeys()
    assert d.lookup(_col(3)).tolist() == [-1]  # empty: nothing held, no error
    assert d.fit(_col(5, 9, 5))
    assert d.insert(_col(5, 9, 5)).tolist() == [0, 1]
    assert d.fit(_col(-7, 40))  # grows below and above, rows kept
    assert d.insert(_col(-7, 40, 9)).tolist() == [0, 1]
    assert d.lookup(_col(5, 9, -7, 40, 6, 10**12)).tolist() == [0, 1, 2, 3, -1, -1]
    assert d.key_rows(0, d.count).ravel().tolist() == [5, 9, -7, 40]


def test_dense_keys_refuse_a_sparse_range() -> None:
    d = DenseKeys()
    assert d.fit(_col(1, 2))
    d.insert(_col(1, 2))
    assert not d.fit(_col(10**15))  # the caller moves to hashing
    moved = HashKeys.of(d.key_rows(0, d.count))
    assert moved.set.lookup(_col(2, 1, 3)).tolist() == [1, 0, -1]


@pytest.mark.parametrize("seed", range(4))
def test_packed_set_agrees_with_a_python_set(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ps, held = PackedSet(3), set()
    for _ in range(6):
        km = rng.integers(0, 50, (400, 3)).astype(np.int64)
        new = ps.insert(km)
        want = []
        for i, row in enumerate(map(tuple, km.tolist())):
            if row not in held:
                held.add(row)
                want.append(i)
        assert new.tolist() == want
    assert ps.count == len(held)


def test_packed_set_refuses_rows_it_cannot_pack() -> None:
    ps = PackedSet(2)
    assert ps.insert(np.array([[1, 2]], np.int64)).tolist() == [0]
    assert ps.insert(np.array([[1, -2]], np.int64)) is None  # negative
    assert ps.insert(np.array([[1 << 40, 2]], np.int64)) is None  # wider than its 31 bits
    assert PackedSet(2).insert(np.array([[1 << 40, 1 << 40]], np.int64)) is None  # 82 bits


def _grouped_pairs(idx, probe: np.ndarray) -> set[tuple[int, int]]:
    left, right = idx.probe(key_matrix([probe], len(probe)))
    assert len(left) == len(set(zip(left.tolist(), right.tolist())))  # no pair twice
    return set(zip(left.tolist(), right.tolist()))


@pytest.mark.parametrize("keys", ["dense", "sparse"])
def test_grouped_index_pairs_rows_as_a_chained_index_while_it_grows(keys: str) -> None:
    rng = np.random.default_rng(7)
    scale = 1 if keys == "dense" else 10**12
    cols: list[np.ndarray] = []
    grouped = GroupedIndex((0,))
    for step in range(8):  # appends of every size: laid out, chained, laid out again
        cols.append(rng.integers(0, 40, int(rng.integers(1, 300))) * scale)
        t = Table([np.concatenate(cols)], sum(map(len, cols)))
        grouped.extend(t)
        chained = JoinIndex((0,))
        chained.extend(t)
        probe = rng.integers(-5, 45, 200) * scale
        assert _grouped_pairs(grouped, probe) == _grouped_pairs(chained, probe)
        assert grouped.base <= t.n < 2 * grouped.base + 2


def test_claim_pairs_keeps_each_absent_row_once_and_the_merge_takes_it_once() -> None:
    ps = PackedSet(2)
    ps.insert(np.array([[1, 10]], np.int64))  # held before the join
    build = Table([np.array([7, 7, 8], np.int64), np.array([10, 11, 10], np.int64)], 3)
    idx = GroupedIndex((0,))
    idx.extend(build)
    probe_key = np.array([7, 7, 8, 9], np.int64)
    probe_val = np.array([1, 1, 2, 5], np.int64)
    gids = idx.gids(key_matrix([probe_key], 4))
    # derived row: (probe value, build column 1)
    ps.slots, ps.count, pi, bi = claim_pairs(ps.slots, ps.count, *idx.layout(), gids, (probe_val,),
                                             (build.cols[1],), np.array([False, True]), np.array([0, 0], np.int64),
                                             ps.shifts, ps.limits)
    derived = sorted(zip(probe_val[pi].tolist(), build.cols[1][bi].tolist()))
    assert derived == [(1, 11), (2, 10)]  # (1, 10) held already; (1, 11) derived twice, kept once
    held = ps.slots[ps.slots >= 0]  # EMPTY is -1: every bit set
    assert ((held & PENDING) != 0).sum() == 2
    merged = ps.insert(np.array([[1, 11], [2, 10], [1, 11], [3, 3]], np.int64))
    assert merged.tolist() == [0, 1, 3]  # claimed rows count as new once; then held
    assert (ps.slots[ps.slots >= 0] & PENDING).sum() == 0


# ---------------------------------------------------------------- each store's fallback, end to end
import dfl  # noqa: E402


def _same_on_interp_and_cpu(src: str, **inputs) -> dict:
    compiled = dfl.compile(src)
    want = compiled.run(target="interp", **inputs)
    got = compiled.run(target="cpu", **inputs)
    for name in want:
        assert sorted(got[name]) == sorted(want[name]), name
    return got


# the seed packs (small ids); the values that do not fit arrive through f, iterations later.
# The filter keeps the compiler from running it as a closure kernel: the generic loop runs.
TC = """
input e(a: int, b: int)
input f(a: int, b: int)
output t(a: int, b: int)
t(x, y) :- e(x, y).
t(x, z) :- t(x, y), f(y, z), z != 123456789.
"""


@pytest.mark.parametrize("late", [-3, 1 << 40, -(1 << 62)], ids=["negative", "wide", "most_negative"])
def test_a_relation_whose_rows_stop_fitting_the_packing_moves_to_hashing(late: int) -> None:
    f = [(i, i + 1) for i in range(1, 60)] + [(60, late), (late, 0), (0, 1)]
    got = _same_on_interp_and_cpu(TC, e=[(0, 1)], f=f)
    assert (0, late) in got["t"] and len(got["t"]) == 62  # 0 reaches every node of the cycle


# keys start dense (0..200); ids 2^50 apart arrive by propagation through f
CC = """
input e(a: int, b: int)
input f(a: int, b: int)
output cc(x: int, l: min<int>)
cc(x, x) :- e(x, _).
cc(y, l) :- cc(x, l), f(x, y).
cc(y, l) :- cc(x, l), f(y, x).
"""


def test_lattice_keys_that_go_sparse_move_to_hashing_with_their_values() -> None:
    f = [(i, i + 1) for i in range(200)] + [(200, 1 << 50), (1 << 50, 3 << 50), (3 << 50, -(1 << 45))]
    got = _same_on_interp_and_cpu(CC, e=[(i, i + 1) for i in range(200)], f=f)
    assert len(got["cc"]) == 204 and {lab for _, lab in got["cc"]} == {0}


SG = """
input edge(p: int, c: int)
output sg(x: int, y: int)
sg(x, y) :- edge(p, x), edge(p, y), x != y.
sg(x, y) :- edge(a, x), sg(a, b), edge(b, y).
"""


def test_claimed_joins_derive_what_the_interpreter_derives() -> None:
    rng = np.random.default_rng(3)
    c = rng.integers(1, 120, 400)
    edges = sorted({(int(p), int(x)) for p, x in zip((rng.random(400) * c).astype(np.int64), c)})
    got = _same_on_interp_and_cpu(SG, edge=edges)
    assert got.stats.get("claimed_joins", 0) > 0  # the claims ran (not the plain joins)
