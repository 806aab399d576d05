"""The memory limit of a run: operators check the size of a result before they build it.

A run fails with a run-time error (exit 3) naming the operator and its row count when the
rows it is about to materialize, at an estimated size per row, would take the process past
the limit; the check is cheap (a multiplication, and a read of /proc/self/statm once per
operator), so a run that fits pays nothing noticeable. The limit is per process: a worker
on the pool checks against its share (runtime/dist/worker.py).

The limit comes from `dfl run --memory-limit SIZE`, else `run(memory_limit=...)` in Python,
else the DFL_MEMORY_LIMIT environment variable, else DEFAULT_SHARE of the machine's memory.
`0` or `none` turns it off.
"""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from dfl.errors import DflError

ENV = "DFL_MEMORY_LIMIT"
DEFAULT_SHARE = 0.6  # of the machine's memory: room for the OS and the other processes
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", re.IGNORECASE)

# bytes per row of the cpu backend: 8 per column, and 16 for the (left, right) row numbers of
# a join; of the interpreter: a tuple (56 bytes + 8 per value), its slot in a list or set,
# and a share of new value objects
CPU_COLUMN_BYTES = 8
PY_ROW_BYTES = 72
PY_VALUE_BYTES = 16

SMALL = 64  # a result under 1/SMALL of the limit passes without reading the resident set

_limit: int | None = None  # bytes; None: no limit


class LimitExceeded(Exception):
    """Raised where rows are about to be built; the backend's node evaluation turns it into
    a DflError naming the node (backends/cpu/plan.py, backends/interp/plan.py)."""

    def __init__(self, rows: int, row_bytes: int, limit: int, used: int, at_least: bool = False) -> None:
        super().__init__(f"{rows:,} rows")
        self.rows, self.row_bytes, self.limit, self.used = rows, row_bytes, limit, used
        self.at_least = at_least  # counted while the rows were made (the interpreter), not before

    def error(self, op: str, node_id: str, span) -> DflError:
        where = f" (the rule at line {span.line})" if span is not None else ""
        more = "at least " if self.at_least else ""
        return DflError(
            f"the {op} {node_id}{where} would produce {more}{self.rows:,} rows, "
            f"about {size_text(self.rows * self.row_bytes)}, "
            f"past the memory limit of {size_text(self.limit)} ({size_text(self.used)} in use)",
            span, kind="runtime",
            hint="raise the limit with --memory-limit SIZE (or DFL_MEMORY_LIMIT), or make the rule more "
                 "selective (a join with no shared variable is a cross product)")


def parse_size(text: str) -> int | None:
    """'4G', '500M', '1.5g', '123456' (bytes) -> bytes; '0' or 'none' -> None (no limit)."""
    t = text.strip().lower()
    if t in ("none", "off", "0"):
        return None
    m = _SIZE.fullmatch(t)
    if m is None:
        raise DflError(f"a memory limit is a size like 4G, 500M or 0 (none), got '{text}'", kind="usage")
    n = int(float(m.group(1)) * _UNITS[m.group(2)])
    return n or None


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def machine_memory() -> int | None:
    """Bytes of physical memory (MemTotal), or None where it cannot be known."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def resolve(given: int | str | None) -> int | None:
    """The limit in bytes for a run: `given` (bytes, or a size text), else the environment
    variable, else the default share of the machine's memory. None: no limit."""
    if given is None:
        env = os.environ.get(ENV)
        if env is not None and env.strip():
            try:
                return parse_size(env)
            except DflError as e:
                raise DflError(f"{ENV}: {e.message}", kind="usage") from None
        total = machine_memory()
        return int(total * DEFAULT_SHARE) if total else None
    if isinstance(given, str):
        return parse_size(given)
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        raise DflError(f"memory_limit is a number of bytes or a size like '4G', got {given!r}", kind="usage")
    return given or None


def current() -> int | None:
    return _limit


@contextlib.contextmanager
def limited(limit: int | None) -> Iterator[None]:
    """Checks run against `limit` (bytes; None: none) inside the block."""
    global _limit
    saved, _limit = _limit, limit
    try:
        yield
    finally:
        _limit = saved


def set_limit(limit: int | None) -> None:
    """For a worker process, which keeps its share for the runs it serves."""
    global _limit
    _limit = limit


def resident() -> int:
    """Bytes this process holds now (its resident set)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def room_rows(row_bytes: int) -> int | None:
    """How many more rows of `row_bytes` fit under the limit now (None: no limit)."""
    if _limit is None:
        return None
    return max(_limit - resident(), 0) // max(row_bytes, 1)


def small_rows(row_bytes: int) -> int | None:
    """Rows of `row_bytes` few enough to pass check_rows at a glance (None: no limit)."""
    if _limit is None:
        return None
    return _limit // SMALL // max(row_bytes, 1)


def check_rows(rows: int, row_bytes: int, small_ok: bool = True) -> None:
    """Raises LimitExceeded when `rows` rows of `row_bytes` would not fit under the limit.
    With `small_ok`, rows small against the limit pass without a look at the resident set."""
    if _limit is None or (small_ok and rows * row_bytes <= _limit // SMALL):
        return
    used = resident()
    if used + rows * row_bytes > _limit:
        raise LimitExceeded(rows, row_bytes, _limit, used)


def exceeded(rows: int, row_bytes: int, at_least: bool = False) -> LimitExceeded:
    """The error for `rows` rows found not to fit (the limit is set)."""
    return LimitExceeded(rows, row_bytes, _limit or 0, resident(), at_least)


def cpu_row_bytes(columns: int, extra: int = 0) -> int:
    return CPU_COLUMN_BYTES * max(columns, 1) + extra


def py_row_bytes(arity: int) -> int:
    return PY_ROW_BYTES + PY_VALUE_BYTES * arity


# ---------------------------------------------------------------- worker processes

WORKERS_PER_CORE = 4  # past this, more processes only add memory and start-up time


def max_workers() -> int:
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def check_workers(workers: int | None, autoscale=None, force: bool = False) -> None:
    """A pool of more than WORKERS_PER_CORE x the cores is a usage error unless forced:
    each worker is a process of its own (`--workers 100000` would fork until the machine
    gives out). `autoscale`: a "MIN..MAX" range, whose MAX is checked alike."""
    if force:
        return
    asked = [("--workers", workers)] if workers is not None else []
    if isinstance(autoscale, str) and autoscale != "program":
        m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", autoscale)  # N or MIN..MAX
        if m is not None:  # a malformed range is Policy.parse_range's to report
            asked.append(("--autoscale", int(m.group(2) or m.group(1))))
    for flag, n in asked:
        check_worker_count(flag, n)


def check_worker_count(what: str, n: int, force: bool = False) -> None:
    """One asked-for pool size (`what` names where it came from: a flag, `@replicas(max)`)."""
    if n > max_workers() and not force:
        raise DflError(f"{what} {n} is more than {WORKERS_PER_CORE} worker processes per core "
                       f"({max_workers()} on this machine's {os.cpu_count() or 1} core(s))", kind="usage",
                       hint="use fewer workers, or add --force-workers (force_workers=True) if you mean it")
