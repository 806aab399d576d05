"""The local worker pool: worker processes on this machine, leased to runs, resized by the
autoscaler (runtime/pools/autoscale.py) or fixed.

Processes come from a fork server that has imported the cpu backend once, so a new
worker starts in milliseconds and finds numba's compiled kernels on disk. Each worker
serves requests on a pipe: a list of (method, args) for its PartitionWorker, answered
with a list of results. A run leases some workers for a tick and spreads its partitions
over them; a run that waits for a worker counts as backlog for the autoscaler.

A worker that dies (killed, out of memory) shows up as WorkerLost from `call`; the pool
replaces the process and the driver re-runs that worker's partitions (runtime/dist/partitioned.py).
A worker that hangs (stopped, deadlocked: no heartbeat and no CPU time for
$DFL_WORKER_TIMEOUT seconds, runtime/dist/liveness.py) is killed and shows up the same way.
"""
from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler

from dfl.backends import registry
from dfl.runtime.dist import liveness
from dfl.runtime.pools import shutdown
from dfl.runtime.pools.autoscale import AutoscaleLoop, Autoscaler, Decision, Load, Policy

_CTX = None


def _context():
    """A fork server preloaded with the worker code: fast, and safe with numba's threads
    (a plain fork of a process whose kernel threads run can deadlock)."""
    global _CTX
    if _CTX is None:
        shutdown.own_temp_dir()
        _CTX = mp.get_context("forkserver")
        _CTX.set_forkserver_preload(["dfl.runtime.dist.worker", "dfl.runtime.pools.pool", *registry.pool_modules()])
    return _CTX


@contextlib.contextmanager
def _main_hidden():
    """multiprocessing re-runs the parent's main script in every new process (to find
    functions defined there); a worker needs nothing from it, and a user's script without
    an `if __name__ == "__main__"` guard would start its whole run again. So the main
    module's file and spec are hidden while a worker starts."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    for k in saved:
        delattr(main, k) if k == "__file__" else setattr(main, k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


_LIVE: "weakref.WeakSet[SlotPool]" = weakref.WeakSet()  # pools not closed yet, closed at exit


def _close_live() -> None:
    for pool in list(_LIVE):
        pool.close()


class WorkerLost(Exception):
    def __init__(self, slot: int, exitcode: int | None, hung_s: float | None = None) -> None:
        why = f"died (exit code {exitcode})" if hung_s is None else \
            f"stopped answering for {hung_s:.1f} s and was killed"
        super().__init__(f"worker {slot} {why}")
        self.slot = slot
        self.exitcode = exitcode
        self.hung_s = hung_s


def _serve(conn: Connection, beats: Connection | None = None, interval_s: float = 1.0) -> None:
    """A worker process: answer requests until told to stop or the pipe closes; a
    heartbeat on `beats` while it works (runtime/dist/liveness.py)."""
    from dfl.runtime.dist.worker import PartitionWorker, error_payload

    liveness.die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver handles ^C and stops us
    # numba's threading layer takes a named semaphore as a lock between processes when the
    # start method has "fork" in its name ("forkserver" has); a worker shares it with
    # nobody, and a worker killed (hung, abandoned) would leave it to the resource
    # tracker, which warns of it on the user's terminal. A worker starts no processes.
    mp.set_start_method("spawn", force=True)
    heart = liveness.Heartbeat(beats.fileno(), interval_s) if beats is not None else None
    worker = PartitionWorker()
    while True:
        try:
            req = conn.recv()
        except Exception:  # noqa: BLE001 - closed, or cut short by a driver that is gone
            return
        if req is None:
            return
        if heart is not None:
            heart.busy.set()
        results = []
        try:
            for method, args in req:
                results.append(getattr(worker, method)(*args))
            reply = ("ok", results)
        except BaseException as e:  # noqa: BLE001 - every failure goes back to the driver
            reply = ("err", error_payload(e))
        try:
            _answer(conn, reply, error_payload)
        except (OSError, EOFError):
            return  # the driver is gone: nobody to answer, nothing to say
        finally:
            if heart is not None:
                heart.busy.clear()


def _answer(conn: Connection, reply: tuple, error_payload) -> None:
    """Sends a reply; one that does not pickle goes back as that error. An OSError (the
    driver is gone) is the caller's."""
    try:
        data = ForkingPickler.dumps(reply)
    except Exception as e:  # noqa: BLE001 - the driver reports it like any worker error
        data = ForkingPickler.dumps(("err", error_payload(e)))
    conn.send_bytes(data)


@dataclass
class _Proc:
    process: object
    conn: Connection
    started: float
    beats: Connection | None = None  # the worker's heartbeats (runtime/dist/liveness.py)
    loaded: object = None  # key of the graph this worker has loaded
    busy_s: float = 0.0
    billed_s: float = 0.0
    calls: int = 0


@dataclass
class PoolStats:
    started: int = 0
    stopped: int = 0
    replaced: int = 0
    hung: int = 0  # workers killed for showing no sign of life (runtime/dist/liveness.py)
    held_s: float = 0.0  # worker-seconds the processes were alive
    busy_s: float = 0.0
    billed_s: float = 0.0  # busy time billed per call, rounded up to the millisecond as FaaS bills
    decisions: list[Decision] = field(default_factory=list)
    created: float = field(default_factory=time.monotonic)  # decisions' times are read from here


class SlotPool:
    """What every worker pool shares: slots leased to runs, sizing (fixed, or driven by an
    autoscale Policy through AutoscaleLoop), and billing. A subclass says how a worker
    starts (`_start`), ends (`_end`), and answers (`call`, `kill`, `pid`)."""

    def __init__(self, size: int | None, policy: Policy | None, log, interval_s: float,
                 threads_per_worker: int | None = None) -> None:
        if size is None and policy is None:
            size = os.cpu_count() or 1
        self.policy = policy
        # kernel threads in each worker; None: the cores shared out among the workers
        self.threads_per_worker = threads_per_worker
        self.lock = threading.Condition()
        self.procs: dict = {}
        self.free: set[int] = set()
        self.waiting = 0  # partitions of runs waiting for a worker: the autoscaler's backlog
        self.next_slot = 0
        self.stats = PoolStats()
        self.latencies: list[float] = []
        self.target = size if size is not None else policy.min_workers
        self.loop: AutoscaleLoop | None = None
        self.closed = False
        self.sent: dict[int, tuple] = {}  # slot -> (sent at, an answer known at once) for requests out

    def _begin(self, log, interval_s: float) -> None:
        """Starts the first workers and the autoscaler (after the subclass is ready)."""
        if self.policy is not None:
            self.autoscaler = Autoscaler(self.policy, log=self._logged(log))
            self.loop = AutoscaleLoop(self, self.autoscaler, interval_s).start()
        with self.lock:
            self._resize(self.target)

    def _logged(self, log):
        def record(d: Decision) -> None:
            self.stats.decisions.append(d)
            if log is not None:
                log(d)
        return record

    # ---------------------------------------------------------------- Scalable
    def load(self) -> Load:
        with self.lock:
            lat = sorted(self.latencies[-50:])
            p99 = lat[min(len(lat) - 1, math.ceil(0.99 * len(lat)) - 1)] if lat else None
            n = len(self.procs)
            return Load(time.monotonic(), n, n - len(self.free), self.waiting, p99)

    def resize(self, n: int) -> None:
        with self.lock:
            self.target = n
            self._resize(n)
            self.lock.notify_all()

    def _resize(self, n: int) -> None:
        if self.closed:
            return
        while len(self.procs) < n:
            self._spawn()
        # shrink by stopping free workers only; busy ones stop when they come back
        for slot in sorted(self.free, reverse=True):
            if len(self.procs) <= n:
                break
            self._stop(slot)

    def _spawn(self, slot: int | None = None) -> int:
        if slot is None:
            slot = self.next_slot
            self.next_slot += 1
        self.procs[slot] = self._start(slot)
        self.free.add(slot)
        self.stats.started += 1
        return slot

    def _stop(self, slot: int) -> None:
        proc = self.procs.pop(slot)
        self.free.discard(slot)
        self._end(proc, dead=slot in self.sent)  # one still working would not read "stop"
        self.stats.stopped += 1
        self._account(proc)

    def _account(self, proc) -> None:
        self.stats.held_s += time.monotonic() - proc.started
        self.stats.busy_s += proc.busy_s
        self.stats.billed_s += proc.billed_s

    # ---------------------------------------------------------------- leases
    def acquire(self, want: int, grace_s: float = 0.2) -> list[int]:
        """At least one worker, and up to `want` of them: waits for the first, then a short
        grace for more (while the autoscaler may be starting them)."""
        with self.lock:
            if self.closed:
                raise RuntimeError("the pool is closed")
            self.waiting += want
            try:
                while not self.free:
                    if self.policy is None and not self.procs:
                        self._spawn()
                    self.lock.wait(0.05)
                deadline = time.monotonic() + grace_s
                while len(self.free) < want and time.monotonic() < deadline and self.policy is not None:
                    self.lock.wait(0.02)
                slots = sorted(self.free)[:want]
                self.free -= set(slots)
                return slots
            finally:
                self.waiting -= want

    def release(self, slots: list[int]) -> None:
        with self.lock:
            for s in slots:
                if s in self.procs:
                    self.free.add(s)
            self._resize(self.target)
            self.lock.notify_all()

    def replace(self, slot: int) -> None:
        """A new worker in a dead worker's slot (still leased by the caller)."""
        with self.lock:
            old = self.procs.pop(slot, None)
            if old is not None:
                self._end(old, dead=True)
                self._account(old)
            self._spawn(slot)
            self.free.discard(slot)
            self.stats.replaced += 1

    def abandon(self, slots) -> None:
        """Workers whose answers nobody will read (a run interrupted by ^C or SIGTERM): new
        processes in their slots, so no stale answer waits in a pipe for the next run."""
        with self.lock:
            for slot in slots:
                self.sent.pop(slot, None)
                if slot in self.procs and not self.closed:
                    self.replace(slot)

    def _bill(self, slot: int, t0: float) -> None:
        proc = self.procs.get(slot)
        if proc is None:
            return
        spent = time.monotonic() - t0
        proc.busy_s += spent
        proc.billed_s += math.ceil(spent * 1000) / 1000
        proc.calls += 1

    def _latency(self, t0: float) -> None:
        with self.lock:
            self.latencies.append(time.monotonic() - t0)
            del self.latencies[:-200]

    # ---------------------------------------------------------------- requests
    def call(self, requests: dict[int, list[tuple[str, tuple]]]) -> dict[int, object]:
        """Sends each leased worker its list of (method, args), all at once, and waits for
        all answers: a list of results, an ("err", payload) tuple, or a WorkerLost."""
        t0 = time.monotonic()
        for slot, reqs in requests.items():
            self.submit(slot, reqs)
        out: dict[int, object] = {}
        pending = set(requests)
        try:
            while pending:
                for slot, res in self.answers(pending):
                    out[slot] = res
                    pending.discard(slot)
        except BaseException:
            self.abandon(pending)
            raise
        self._latency(t0)
        return out

    def devices(self) -> dict[int, dict]:
        """Each worker's report of its devices (runtime/dist/worker.PartitionWorker.devices),
        by slot: which workers have a usable GPU. Leases the free workers for the question."""
        slots = self.acquire(max(1, len(self.procs)))
        try:
            res = self.call({s: [("devices", ())] for s in slots})
        finally:
            self.release(slots)
        return {s: r[0] for s, r in res.items() if isinstance(r, list)}

    def gpu_slots(self) -> list[int]:
        """The workers that reported a usable GPU: where cuda strata would go (docs/placement.md)."""
        return sorted(s for s, d in self.devices().items() if d.get("gpu"))

    # ---------------------------------------------------------------- lifetime
    def close(self) -> None:
        if self.loop is not None:
            try:
                self.loop.stop()
            except Exception:  # noqa: BLE001 - closing must not fail on a policy error
                pass
        with self.lock:
            if self.closed:
                return
            self.closed = True
            for slot in list(self.procs):
                self._stop(slot)

    def size(self) -> int:
        return len(self.procs)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalPool(SlotPool):
    """Worker processes on this machine. `size` fixed, or an autoscale Policy.
    `worker_timeout_s`: seconds without a sign of life after which a worker with a request
    out is hung and killed (default $DFL_WORKER_TIMEOUT, else 10; None: never)."""

    def __init__(self, size: int | None = None, policy: Policy | None = None,
                 log=None, interval_s: float = 0.05, threads_per_worker: int | None = None,
                 worker_timeout_s: float | None | str = "env") -> None:
        super().__init__(size, policy, log, interval_s, threads_per_worker)
        self.watch = liveness.Watch(liveness.worker_timeout_s() if worker_timeout_s == "env" else worker_timeout_s)
        self.beat_s = liveness.heartbeat_interval(self.watch.timeout_s)
        shutdown.reclaim_temp_dirs()
        _LIVE.add(self)
        shutdown.at_exit(_close_live)
        self._begin(log, interval_s)

    def _start(self, slot: int) -> _Proc:
        parent, child = _context().Pipe()
        beats_r, beats_w = _context().Pipe(duplex=False)
        p = _context().Process(target=_serve, args=(child, beats_w, self.beat_s), daemon=True,
                               name=f"dfl-worker-{slot}")
        with _main_hidden():
            p.start()
        child.close()
        beats_w.close()
        return _Proc(p, parent, time.monotonic(), beats=beats_r)

    def _end(self, proc: _Proc, dead: bool) -> None:
        if dead:  # lost, hung or abandoned: nothing it does matters any more
            with contextlib.suppress(OSError):
                proc.process.kill()
        else:
            try:
                proc.conn.send(None)
            except OSError:
                pass
        proc.conn.close()
        if proc.beats is not None:
            proc.beats.close()
        proc.process.join(timeout=1 if dead else 2)
        if proc.process.is_alive():
            proc.process.kill()
            proc.process.join(timeout=1)

    def pid(self, slot: int) -> int:
        return self.procs[slot].process.pid

    def submit(self, slot: int, reqs: list[tuple[str, tuple]]) -> None:
        """Sends a leased worker its list of (method, args) without waiting; its answer
        comes from `answers`. One request per worker at a time."""
        proc = self.procs[slot]
        data = ForkingPickler.dumps(reqs)
        self.sent[slot] = (time.monotonic(), None)
        self.watch.start(slot, proc.process.pid)
        if len(data) <= _DIRECT_SEND:
            try:
                proc.conn.send_bytes(data)
            except (OSError, ValueError):
                self.sent[slot] = (time.monotonic(), WorkerLost(slot, proc.process.exitcode))
            return
        # a large request fills the socket: a hung worker would block the driver in the
        # send, before `answers` can notice; a thread sends it (and fails when it is killed)
        threading.Thread(target=_send_quietly, args=(proc.conn, data), daemon=True,
                         name=f"dfl-send-{slot}").start()

    def answers(self, slots) -> list[tuple[int, object]]:
        """Waits until at least one of `slots` (each with a request out) has answered:
        (slot, a list of results | an ("err", payload) tuple | a WorkerLost) for each. A
        worker silent for the timeout is killed: a WorkerLost too."""
        out: list[tuple[int, object]] = []
        for slot in slots:  # a request that could not even be sent
            if self.sent[slot][1] is not None:
                self.watch.stop(slot)
                out.append((slot, self.sent.pop(slot)[1]))
        if out:
            return out
        by_conn = {self.procs[s].conn: s for s in slots}
        by_beats = {self.procs[s].beats: s for s in slots if self.procs[s].beats is not None}
        tick = min(1.0, self.beat_s)
        while not out:
            ready = wait(list(by_conn) + list(by_beats) + [self.procs[s].process.sentinel for s in slots],
                         timeout=tick)
            for r in ready:
                if r in by_beats:
                    slot = by_beats[r]
                    beats = liveness.drain(r.fileno())
                    if beats is None:
                        by_beats.pop(r)  # closed: its sentinel says the rest
                    elif beats:
                        self.watch.beat(slot)
                elif isinstance(r, Connection) and r in by_conn:
                    slot = by_conn.pop(r)
                    try:
                        tag, payload = r.recv()
                        res = payload if tag == "ok" else ("err", payload)
                    except (EOFError, OSError):
                        res = WorkerLost(slot, self.procs[slot].process.exitcode)
                    out.append((slot, res))
            for conn, slot in list(by_conn.items()):
                p = self.procs[slot].process
                if not p.is_alive() and not conn.poll():  # died without answering
                    by_conn.pop(conn)
                    p.join(timeout=1)
                    out.append((slot, WorkerLost(slot, p.exitcode)))
                elif (silent := self.watch.hung(slot, p.pid)) is not None and not conn.poll():
                    by_conn.pop(conn)
                    out.append((slot, self._kill_hung(slot, silent)))
        for slot, _ in out:
            self.watch.stop(slot)
            self._bill(slot, self.sent.pop(slot)[0])
        return out

    def _kill_hung(self, slot: int, silent_s: float) -> WorkerLost:
        """SIGKILL a worker that shows no sign of life (a stopped process too: SIGKILL
        needs no cooperation); the caller replaces it as a dead one."""
        p = self.procs[slot].process
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)
        p.join(timeout=5)
        self.stats.hung += 1
        return WorkerLost(slot, p.exitcode, hung_s=silent_s)

    def kill(self, slot: int) -> None:
        """SIGKILL a worker (for fault-injection tests and `dfl` chaos checks)."""
        os.kill(self.pid(slot), signal.SIGKILL)


_DIRECT_SEND = 32 * 1024  # fits an empty socket buffer: the send cannot block


def _send_quietly(conn: Connection, data: bytes) -> None:
    try:
        conn.send_bytes(data)
    except (OSError, ValueError):
        pass  # the worker died or was replaced: `answers` reports it from its process
