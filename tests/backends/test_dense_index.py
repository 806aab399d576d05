"""The dense join index (an array over the key range) pairs rows exactly as the hashed one."""
from __future__ import annotations

import numpy as np
import pytest

from dfl.backends.cpu.index import DenseJoinIndex, JoinIndex, fresh_index
from dfl.backends.columnar.table import Table, key_matrix


def _pairs(idx, probe: np.ndarray) -> set[tuple[int, int]]:
    left, right = idx.probe(key_matrix([probe], len(probe)))
    return set(zip(left.tolist(), right.tolist()))


@pytest.mark.parametrize("seed", range(5))
def test_dense_and_hashed_indexes_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    build = rng.integers(-50, 50, 300)
    probe = rng.integers(-80, 80, 500)
    t = Table([build], len(build))
    dense = fresh_index(t, (0,))
    assert isinstance(dense, DenseJoinIndex)
    hashed = JoinIndex((0,))
    hashed.extend(t)
    assert _pairs(dense, probe) == _pairs(hashed, probe)
    want = {(i, j) for i, p in enumerate(probe.tolist()) for j, b in enumerate(build.tolist()) if p == b}
    assert _pairs(dense, probe) == want
    gids = dense.gids(key_matrix([probe], len(probe)))
    assert ((gids >= 0) == np.isin(probe, build)).all()


def test_a_sparse_key_range_keeps_the_hashed_index() -> None:
    col = np.array([0, 10**15], np.int64)
    assert isinstance(fresh_index(Table([col], 2), (0,)), JoinIndex)


@pytest.mark.parametrize("seed", range(3))
def test_a_unique_dense_key_probes_without_chains(seed: int) -> None:
    rng = np.random.default_rng(seed)
    build = rng.permutation(np.arange(-40, 60))[:70]  # unique keys with holes in the range
    probe = rng.integers(-80, 80, 400)
    idx = fresh_index(Table([build], len(build)), (0,))
    assert isinstance(idx, DenseJoinIndex) and idx.unique
    want = {(i, j) for i, p in enumerate(probe.tolist()) for j, b in enumerate(build.tolist()) if p == b}
    assert _pairs(idx, probe) == want
    gids = idx.gids(key_matrix([probe], len(probe)))
    assert ((gids >= 0) == np.isin(probe, build)).all()


def test_a_repeated_key_keeps_the_chains() -> None:
    idx = fresh_index(Table([np.array([3, 5, 3], np.int64)], 3), (0,))
    assert isinstance(idx, DenseJoinIndex) and not idx.unique
    assert _pairs(idx, np.array([3, 4], np.int64)) == {(0, 0), (0, 2)}
