"""Columnar batches between processes: strings by content, hashing by value, shared
memory files, and the removal of files a killed run left behind."""
from __future__ import annotations

import os

import numpy as np

from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import Table
from dfl.ir.types import Type
from dfl.runtime.dist import batches
from dfl.runtime.dist.batches import Spill, from_batch, partition_of, split, to_batch

TYPES = (Type.INT, Type.STR, Type.FLOAT, Type.BOOL)


def _table(pool: StringPool, n: int = 5000) -> Table:
    rng = np.random.default_rng(0)
    words = [f"w{i}é" for i in range(50)]
    return Table([rng.integers(-5, 5, n), pool.encode([words[i] for i in rng.integers(0, 50, n)]),
                  rng.normal(size=n), rng.integers(0, 2, n).astype(np.bool_)], n)


def _decoded(t: Table, pool: StringPool) -> list[tuple]:
    cols = [pool.decode(c) if ty == Type.STR else c.tolist() for c, ty in zip(t.cols, TYPES)]
    return list(zip(*cols))


def test_a_batch_carries_strings_to_another_pool(tmp_path) -> None:
    a, b = StringPool(), StringPool()
    b.encode(["zzz", "w3é"])  # other codes in the receiving process
    t = _table(a)
    for spill in (None, Spill(str(tmp_path), "dfl_test_", min_bytes=0)):
        got = from_batch(to_batch(t, TYPES, a, spill), b)
        assert _decoded(got, b) == _decoded(t, a)
    assert any(tmp_path.iterdir())  # the spilled columns went through files


def test_rows_hash_to_the_same_partition_whatever_the_codes() -> None:
    a, b = StringPool(), StringPool()
    b.encode([f"x{i}" for i in range(7)])
    t = _table(a)
    moved = from_batch(to_batch(t, TYPES, a), b)
    for keys in ((0,), (1,), (2,), (0, 1, 2, 3)):
        pa = partition_of(t, keys, TYPES, a, 3)
        pb = partition_of(moved, keys, TYPES, b, 3)
        assert (pa == pb).all() and set(pa.tolist()) == {0, 1, 2}


def test_negative_zero_and_nans_hash_alike() -> None:
    pool = StringPool()
    t = Table([np.array([0.0, -0.0, np.nan, -np.nan])], 4)
    p = partition_of(t, (0,), (Type.FLOAT,), pool, 7)
    assert p[0] == p[1] and p[2] == p[3]


def test_split_keeps_every_row_once_in_order() -> None:
    t = Table([np.arange(100)], 100)
    part = np.arange(100) % 3
    pieces = split(t, part, 3)
    assert [x.cols[0].tolist() for x in pieces] == [list(range(p, 100, 3)) for p in range(3)]


def test_files_of_a_killed_driver_are_removed_and_a_live_one_s_are_kept(tmp_path, monkeypatch) -> None:
    """Named dfl_<driver pid>_<run>_<writer pid>_<n>.col: the driver's pid decides, at any
    age (the next run after a SIGKILL removes them), whichever process wrote them."""
    dead = tmp_path / "dfl_999999_aaaaaaaa_999998_0.col"  # no such driver
    mine = tmp_path / f"dfl_{os.getpid()}_bbbbbbbb_999998_0.col"  # a live driver, a dead writer
    other = tmp_path / "notes_999999_a_b_c.col"  # not ours
    for p in (dead, mine, other):
        p.write_bytes(b"\0" * 8)
    monkeypatch.setattr(batches, "_STALE_CHECKED", False)
    batches._remove_stale(str(tmp_path))
    assert not dead.exists() and mine.exists() and other.exists()


def test_spill_files_are_readable_by_their_owner_only(tmp_path) -> None:
    """/dev/shm is shared by every local user: a spilled column is created 0600, whatever
    the umask (0 here, under which a plain open() made it world-readable)."""
    spill = Spill(str(tmp_path), "dfl_test_", min_bytes=0)
    old = os.umask(0)
    try:
        written = spill.write(np.arange(1000, dtype=np.int64))
        empty = spill.new_file(8 * 1000)
    finally:
        os.umask(old)
    assert isinstance(written, batches.Spilled)
    for path in (written.path, empty):
        assert os.stat(path).st_mode & 0o777 == 0o600
    assert batches.mapped_file(written.path, np.int64, 1000).tolist() == list(range(1000))
    assert os.path.getsize(empty) == 8000
    spill.cleanup()
    assert not os.listdir(tmp_path)
