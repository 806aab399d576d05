"""Columnar batches as they travel between processes, and hash partitioning.

Inside a process a string is a code of that process's StringPool; codes mean nothing
elsewhere. A batch therefore carries each string column as (indices into a list of the
distinct strings it holds, that list), as Arrow's dictionary batches do, and the receiver
encodes the list with its own pool once. Numbers travel as the numpy arrays they are.

Rows hash to partitions by value, never by code, so the same string goes to the same
partition from every process: ints by their value, floats by their bits (with -0.0 and
NaN normalised, as set equality has them), strings by stable_hash of their text.
"""
from __future__ import annotations

import glob
import itertools
import mmap
import os
import shutil
import threading
import uuid
from dataclasses import dataclass

import numpy as np

from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import Table
from dfl.ir.types import Type
from dfl.runtime.pools import shutdown
from dfl.stdlib.hashing import stable_hash


@dataclass(frozen=True)
class Spilled:
    """A column written to a file in shared memory (tmpfs): the receiver maps it, no copy."""
    path: str
    dtype: str
    n: int

    @property
    def nbytes(self) -> int:
        return self.n * np.dtype(self.dtype).itemsize


def _create(path: str) -> int:
    """A new file only its owner can read: /dev/shm is shared by every local user, and a
    column of the run's data must not be readable by them (O_EXCL: never a file or link
    someone else put there)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


@dataclass(frozen=True)
class Spill:
    """Where a run's large columns go between processes: files named `prefix*` in `dir`
    (/dev/shm), removed by the driver at the end of each tick (`cleanup`)."""
    dir: str
    prefix: str
    min_bytes: int = 1 << 20  # smaller columns travel in the pipe message itself

    def write(self, c: np.ndarray) -> Spilled | np.ndarray:
        if c.nbytes < self.min_bytes or shutil.disk_usage(self.dir).free < 4 * c.nbytes:
            return c  # tmpfs nearly full: writing past it would kill the process (SIGBUS)
        path = self._path()
        with os.fdopen(_create(path), "wb") as f:
            np.ascontiguousarray(c).tofile(f)
        return Spilled(path, c.dtype.str, len(c))

    def _path(self) -> str:
        """A new file name of this run: the writer's pid in it, so no two processes pick the same."""
        return os.path.join(self.dir, f"{self.prefix}{os.getpid()}_{next(_COUNTER)}.col")

    def new_file(self, nbytes: int) -> str:
        """An empty file of nbytes for this run, to be written at offsets."""
        path = self._path()
        fd = _create(path)
        try:
            os.ftruncate(fd, nbytes)
        finally:
            os.close(fd)
        return path

    def write_at(self, paths: list[str], t: Table, offset: int) -> None:
        for path, c in zip(paths, t.cols):
            c = np.ascontiguousarray(c)
            fd = os.open(path, os.O_WRONLY)
            try:
                os.pwrite(fd, memoryview(c).cast("B"), offset * c.itemsize)
            finally:
                os.close(fd)

    def cleanup(self, background: bool = False) -> None:
        """Removes this run's files; in the background when asked (unlinking a large tmpfs
        file frees its pages, which takes time the caller need not wait for)."""
        paths = glob.glob(os.path.join(self.dir, glob.escape(self.prefix) + "*"))

        def unlink() -> None:
            for path in paths:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        if background and paths:
            threading.Thread(target=unlink, name="dfl-spill-cleanup", daemon=False).start()
        else:
            unlink()


def spill_for_run() -> Spill | None:
    """Shared memory for this run's batches, where the machine has it. Its files are
    named `dfl_<driver pid>_<run>_<writer pid>_<n>.col`: what is left at exit is removed
    then, and what a killed driver left is removed by the next run."""
    if not os.path.isdir(SHM_DIR) or not os.access(SHM_DIR, os.W_OK):
        return None
    _remove_stale(SHM_DIR)
    shutdown.at_exit(_remove_own, order=1)  # after the pools, whose workers write them
    return Spill(SHM_DIR, f"dfl_{os.getpid()}_{uuid.uuid4().hex[:8]}_", SHM_MIN_BYTES)


SHM_DIR = "/dev/shm"
_STALE_CHECKED = False


def _remove_stale(dir: str) -> None:
    """Files a killed run left behind (its driver cleans them at each tick's end and at
    exit; a driver killed mid-tick cannot): those whose driver is gone. Once per process."""
    global _STALE_CHECKED
    if _STALE_CHECKED:
        return
    _STALE_CHECKED = True
    for path in glob.glob(os.path.join(dir, "dfl_*_*_*_*.col")):
        try:
            if not shutdown.pid_alive(int(os.path.basename(path).split("_")[1])):
                os.unlink(path)
        except (ValueError, OSError):
            continue


def _remove_own() -> None:
    """This driver's files still there at exit (a background cleanup cut short, a run
    interrupted mid-tick)."""
    for path in glob.glob(os.path.join(SHM_DIR, f"dfl_{os.getpid()}_*.col")):
        try:
            os.unlink(path)
        except OSError:
            pass


def mapped_file(path: str, dtype, n: int) -> np.ndarray:
    return _mapped(Spilled(path, np.dtype(dtype).str, n))


def _mapped(s: Spilled) -> np.ndarray:
    if s.n == 0:
        return np.empty(0, np.dtype(s.dtype))
    with open(s.path, "rb") as f:
        # copy-on-write: the pages are tmpfs's, shared with the writer, and the array is
        # writable (numba compiles read-only arrays as another type, so a second kernel)
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    return np.frombuffer(m, dtype=np.dtype(s.dtype), count=s.n)


_COUNTER = itertools.count()
SHM_MIN_BYTES = 1 << 20  # columns from this size go through shared memory (tests set 0: all do)


@dataclass
class Batch:
    cols: list  # np.ndarray or Spilled per column; a str column is (int64 indices, list[str])
    n: int
    distinct: bool = False

    @property
    def nbytes(self) -> int:
        total = 0
        for c in self.cols:
            if isinstance(c, tuple):
                total += c[0].nbytes + sum(len(s) for s in c[1])
            else:
                total += c.nbytes
        return total


def to_batch(t: Table, types: tuple[Type, ...], pool: StringPool, spill: Spill | None = None) -> Batch:
    cols: list = []
    for c, ty in zip(t.cols, types):
        if ty.text:
            uniq, inv = np.unique(c, return_inverse=True)
            cols.append((inv.astype(np.int64, copy=False).reshape(-1), pool.decode(uniq)))
        else:
            cols.append(spill.write(c) if spill is not None else np.ascontiguousarray(c))
    return Batch(cols, t.n, t.distinct)


def from_batch(b: Batch, pool: StringPool) -> Table:
    cols = []
    for c in b.cols:
        if isinstance(c, tuple):
            idx, strings = c
            codes = pool.encode(strings) if strings else np.empty(0, np.int64)
            cols.append(codes[idx] if len(idx) else np.empty(0, np.int64))
        elif isinstance(c, Spilled):
            cols.append(_mapped(c))
        else:
            cols.append(c)
    return Table(cols, b.n, distinct=b.distinct)


def merge(batches: list[Batch], pool: StringPool, types: tuple[Type, ...]) -> Table:
    from dfl.backends.columnar.table import DTYPES

    tables = [from_batch(b, pool) for b in batches if b.n]
    if not tables:
        return Table([np.empty(0, DTYPES[t]) for t in types], 0)
    if len(tables) == 1:
        return tables[0]
    if not types:
        return Table([], min(1, sum(t.n for t in tables)))
    cols = [np.concatenate([t.cols[j] for t in tables]) for j in range(len(types))]
    return Table(cols, sum(t.n for t in tables))


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 arrays: neighbouring keys land far apart."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def partition_of(t: Table, keys: tuple[int, ...], types: tuple[Type, ...], pool: StringPool,
                 parts: int) -> np.ndarray:
    """The partition (0 .. parts-1) of each row, from a hash of its key columns' values."""
    h = np.zeros(t.n, np.uint64)
    with np.errstate(over="ignore"):
        for k in keys:
            c = t.cols[k]
            ty = types[k]
            if ty.text:
                uniq, inv = np.unique(c, return_inverse=True)
                hs = np.array([stable_hash(s) & 0xFFFFFFFFFFFFFFFF for s in pool.decode(uniq)], np.uint64)
                v = hs[inv.reshape(-1)] if len(uniq) else np.empty(0, np.uint64)
            elif ty == Type.FLOAT:
                f = np.where(np.isnan(c), np.nan, c + 0.0)  # one NaN, and -0.0 as 0.0
                v = f.view(np.uint64)
            else:
                v = c.astype(np.int64, copy=False).view(np.uint64)
            h = _mix(h * _MIX + v)
    return (h % np.uint64(parts)).astype(np.int64)


def split(t: Table, part: np.ndarray, parts: int) -> list[Table]:
    """t's rows grouped by partition, in row order within each."""
    # a stable sort of small ints is a radix sort (linear) when they fit a byte
    small = part.astype(np.uint8) if parts <= 256 else part
    order = np.argsort(small, kind="stable")
    bounds = np.searchsorted(small[order], np.arange(parts + 1))
    out = []
    for p in range(parts):
        idx = order[bounds[p]:bounds[p + 1]]
        out.append(Table([c[idx] for c in t.cols], len(idx), distinct=t.distinct))
    return out
