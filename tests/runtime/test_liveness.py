"""runtime/dist/liveness.py on real processes: a process blocked without CPU but beating, and
one holding the GIL in a C loop without beating, are alive; a stopped one is silent; a
worker whose driver closed the heartbeat pipe exits at once, quietly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dfl.runtime.dist.liveness import Watch, cpu_ticks, drain

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SLEEPER = """
import os, sys, time
from dfl.runtime.dist.liveness import Heartbeat
h = Heartbeat(int(sys.argv[1]), 0.1)
h.busy.set()
time.sleep(30)  # blocked in the kernel: no CPU time, but the heartbeat thread runs
"""

SPINNER = "sum(range(10**12))"  # one C call: the GIL held, no heartbeat could run


def _watch_for(p: subprocess.Popen, seconds: float, beats: int | None = None) -> float:
    """The longest silence Watch(0.5) saw in `seconds` of polling p."""
    w = Watch(0.5)
    w.start(0, p.pid)
    longest = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.1)
        if beats is not None and drain(beats):
            w.beat(0)
        longest = max(longest, w.silent_for(0, p.pid))
    return longest


def _stop_and_watch(p: subprocess.Popen, beats: int | None = None) -> float | None:
    os.kill(p.pid, signal.SIGSTOP)
    time.sleep(0.3)  # beats already written are not a sign of life after the stop
    if beats is not None:
        drain(beats)
    w = Watch(0.5)
    w.start(0, p.pid)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        time.sleep(0.1)
        if beats is not None and drain(beats):
            w.beat(0)
        if (silent := w.hung(0, p.pid)) is not None:
            return silent
    return None


def test_a_blocked_process_that_beats_is_alive_and_silent_once_stopped() -> None:
    r, w = os.pipe()
    os.set_blocking(r, False)
    p = subprocess.Popen([sys.executable, "-c", SLEEPER, str(w)], pass_fds=(w,))
    os.close(w)
    try:
        assert _watch_for(p, 2.0, beats=r) < 0.5
        assert _stop_and_watch(p, beats=r) is not None
    finally:
        p.kill()
        p.wait()
        os.close(r)


def test_a_process_holding_the_gil_is_alive_by_its_cpu_time_and_silent_once_stopped() -> None:
    p = subprocess.Popen([sys.executable, "-c", SPINNER])
    try:
        time.sleep(0.3)
        assert cpu_ticks(p.pid) is not None
        assert _watch_for(p, 2.0) < 0.5
        assert _stop_and_watch(p) is not None
    finally:
        p.kill()
        p.wait()


def test_a_worker_exits_quietly_when_its_driver_closes_the_heartbeat_pipe() -> None:
    r, w = os.pipe()
    p = subprocess.Popen([sys.executable, "-c", SLEEPER, str(w)], pass_fds=(w,), stderr=subprocess.PIPE)
    os.close(w)
    time.sleep(1.0)  # started and beating
    os.close(r)
    try:
        assert p.wait(timeout=5) == 0
        assert p.stderr.read() == b""
    finally:
        p.kill()
        p.wait()
