"""Shared helpers: the cell description, checksums, data I/O, memory probes."""
from __future__ import annotations

import hashlib
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

# Systems that are the hand-written kernel (not a "peer"), and DFL itself.
HAND = "numba"
DFL = "dfl"


@dataclass
class Cell:
    """One system on one workload size, its data already loaded.

    run():      the timed computation; returns the result in the system's own form
    columns(r): the result as a list of columns (numpy int arrays or sequences of str),
                in the output relation's column order (not timed)
    compile_s:  compile time measured apart (dfl.compile + plan, souffle's C++ build, ...)
    external:   the work runs in a child process (Soufflé): memory is read from RUSAGE_CHILDREN
    """
    run: Callable[[], Any]
    columns: Callable[[Any], list]
    compile_s: float = 0.0
    has_jit: bool = False  # first run includes a JIT compile (numba, DFL's numba kernels)
    external: bool = False
    notes: list[str] = field(default_factory=list)


class SkipCell(Exception):
    """The system is not available here (not installed, no such workload): skipped cleanly."""


# ---------------------------------------------------------------------------- checksums
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, vectorised, wrapping."""
    with np.errstate(over="ignore"):
        x = x + _GOLD
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def _as_u64(col) -> np.ndarray:
    if isinstance(col, np.ndarray) and col.dtype.kind in "iub":
        return col.astype(np.int64, copy=False).view(np.uint64)
    if isinstance(col, np.ndarray) and col.dtype.kind == "f":
        if not np.all(np.isfinite(col)) or not np.all(col == np.round(col)):
            raise ValueError("float column with non-integral values in a checksum")
        return col.astype(np.int64).view(np.uint64)
    # strings: a stable 64-bit hash per distinct value
    vals = list(col)
    memo: dict[str, int] = {}
    out = np.empty(len(vals), dtype=np.uint64)
    for i, s in enumerate(vals):
        h = memo.get(s)
        if h is None:
            h = memo[s] = int.from_bytes(hashlib.blake2b(str(s).encode(), digest_size=8).digest(), "little")
        out[i] = h
    return out


def checksum(cols: list) -> tuple[int, str]:
    """(row count, order-independent hash of the multiset of rows). Equal sets of rows give
    equal checksums whatever their order; a duplicated row changes the count."""
    if not cols:
        return 0, "0"
    n = len(cols[0])
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in cols:
            if len(c) != n:
                raise ValueError("columns of different lengths")
            h = _mix(h * np.uint64(31) + _as_u64(c))
        total = int(np.sum(h, dtype=np.uint64)) if n else 0
    return n, f"{total:016x}"


# ---------------------------------------------------------------------------- data I/O
def save_cols(dir: str, name: str, **cols: np.ndarray) -> None:
    """Writes name.<col>.npy for each column and name.parquet (for DuckDB/Polars)."""
    import polars as pl

    for c, a in cols.items():
        np.save(os.path.join(dir, f"{name}.{c}.npy"), a)
    pl.DataFrame(cols).write_parquet(os.path.join(dir, f"{name}.parquet"))


def load_cols(dir: str, name: str, *cols: str) -> list[np.ndarray]:
    return [np.load(os.path.join(dir, f"{name}.{c}.npy")) for c in cols]


def parquet(dir: str, name: str) -> str:
    return os.path.join(dir, f"{name}.parquet")


def duck(tables: dict[str, str]):
    """A DuckDB connection (threads = cores) with each table loaded from parquet into memory."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count()}")
    for t, path in tables.items():
        con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_parquet('{path}')")
    return con


def dfl_cell(source: str, inputs: dict, out_rel: str, notes=None) -> Cell:
    """DFL's cpu target via run_columns; compile_s = dfl.compile + plan('cpu')."""
    import dfl

    t0 = time.perf_counter()
    prog = dfl.compile(source)
    prog.plan("cpu")
    compile_s = time.perf_counter() - t0
    names = list(prog.outputs[out_rel].names)

    def run():
        return prog.run_columns(target="cpu", **inputs)

    def columns(r):
        return [r[out_rel][n] for n in names]

    return Cell(run, columns, compile_s=compile_s, has_jit=True, notes=list(notes or []))


# ---------------------------------------------------------------------------- memory
def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hwm_kib() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_hwm() -> bool:
    """Resets the process's peak-RSS mark (Linux >= 4.0); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def maxrss_kib(children: bool = False) -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss
