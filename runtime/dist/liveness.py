"""Liveness between the driver and its local workers: a hung worker is told from a busy
one, and a worker outlives no driver.

A worker is *silent* while it shows no sign of life: no heartbeat (a byte its heartbeat
thread writes on a pipe every `interval` while it serves a request) and no CPU time spent
(read from /proc). Both are needed: a numba kernel holds the GIL, so a busy worker may
send no heartbeat for minutes, but it spends CPU; a worker blocked in the kernel (I/O,
a lock) spends none, but its heartbeat thread runs. A stopped (SIGSTOP) or deadlocked
worker does neither. The driver kills a worker silent for `timeout` seconds and replays
its partitions, as for a dead one (runtime/pools/pool.py).

The other way round, a worker must not run on when its driver is gone: it asks the
kernel to SIGKILL it when its parent (the fork server, which exits with the driver)
dies, and its heartbeat thread exits the process quietly when the driver's end of the
pipe is closed.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

from dfl.errors import DflError

TIMEOUT_ENV = "DFL_WORKER_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0


def worker_timeout_s() -> float | None:
    """Seconds of silence after which a worker is hung: $DFL_WORKER_TIMEOUT, else 10;
    0 turns the check off (None)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):  # also rejects nan
        raise DflError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds", kind="usage",
                       hint=f"set {TIMEOUT_ENV} to seconds of silence after which a worker is killed "
                            f"(default {DEFAULT_TIMEOUT_S:g}; 0 turns the check off)")
    return value or None


def heartbeat_interval(timeout_s: float | None) -> float:
    """Several beats per timeout, so one late beat is not a hang."""
    return 1.0 if timeout_s is None else max(0.05, min(1.0, timeout_s / 5))


def cpu_ticks(pid: int) -> int | None:
    """CPU time (user + system, all threads, in clock ticks) process pid has used; None
    where /proc cannot tell (not Linux, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2:].split()  # the name may hold spaces and ')'
    try:
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    except (IndexError, ValueError):
        return None


class Watch:
    """The driver's view of its workers' signs of life, per slot with a request out."""

    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self.seen: dict[int, tuple[float, int | None]] = {}  # slot -> (last sign of life, CPU ticks then)

    def start(self, slot: int, pid: int) -> None:
        self.seen[slot] = (time.monotonic(), cpu_ticks(pid))

    def beat(self, slot: int) -> None:
        if slot in self.seen:
            self.seen[slot] = (time.monotonic(), self.seen[slot][1])

    def stop(self, slot: int) -> None:
        self.seen.pop(slot, None)

    def silent_for(self, slot: int, pid: int) -> float:
        """Seconds since the worker in slot last showed a sign of life (0 if it just did)."""
        now = time.monotonic()
        last, ticks = self.seen.get(slot, (now, None))
        current = cpu_ticks(pid)
        if current != ticks:
            self.seen[slot] = (now, current)
            return 0.0
        return now - last

    def hung(self, slot: int, pid: int) -> float | None:
        """The seconds of silence if the worker in slot is hung, else None."""
        if self.timeout_s is None:
            return None
        silent = self.silent_for(slot, pid)
        return silent if silent >= self.timeout_s else None


def drain(fd: int) -> int | None:
    """Reads the heartbeats waiting on fd: how many; None at end of file (the worker is gone)."""
    try:
        data = os.read(fd, 1 << 16)
    except BlockingIOError:
        return 0
    except OSError:
        return None
    return len(data) if data else None


class Heartbeat:
    """A worker's heartbeat thread: a byte on `fd` every `interval` seconds while `busy`
    is set. A closed pipe means the driver is gone: the worker exits at once, quietly
    (a traceback from a worker the user never started helps nobody)."""

    def __init__(self, fd: int, interval: float) -> None:
        self.fd = fd
        self.interval = interval
        self.busy = threading.Event()
        os.set_blocking(fd, False)  # a driver that reads no beats must not block the thread
        threading.Thread(target=self._run, name="dfl-heartbeat", daemon=True).start()

    def _run(self) -> None:
        while True:
            self.busy.wait()
            try:
                os.write(self.fd, b".")
            except BlockingIOError:
                pass  # the pipe is full of beats not read yet: the driver knows we live
            except OSError:
                os._exit(0)
            time.sleep(self.interval)


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Asks Linux to SIGKILL this process when its parent dies (elsewhere the heartbeat
    thread and the request pipe's end of file stop it)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
