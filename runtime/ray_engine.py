"""The Ray engine: the worker pool of a partitioned run (runtime/partitioned.py) as Ray
actors, one actor per worker slot, on a local Ray or on a Ray cluster (`dfl run --engine
ray [--address ADDR]`).

`RayPool` has the interface the driver uses of the local process pool (runtime/pool.py):
leases of slots for a tick (`acquire`/`release`), `call` with a list of (method, args) per
slot, `procs` whose entries remember which graph their worker loaded, `replace`/`kill` for
faults, billing stats, and `load`/`resize` for the autoscaler. Each actor hosts the same
`PartitionWorker` as a local worker process; an actor that dies (killed, its node lost, out
of memory) shows up as `WorkerLost` from `call`, and the driver re-runs its partitions on a
fresh actor in the same slot.

Ray is imported lazily, so this module imports without it; making a pool without Ray
installed is a usage error naming the extra to install.
"""
from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

from dfl.errors import DflError
from dfl.runtime.autoscale import AutoscaleLoop, Autoscaler, Decision, Load, Policy
from dfl.runtime.pool import PoolStats, WorkerLost

RAY_MISSING = "--engine ray needs Ray: pip install 'dfl[ray]'"

_ACTOR = None  # the ray.remote actor class, made once Ray is imported


def _ray():
    try:
        import ray
    except ImportError:
        raise DflError(RAY_MISSING, kind="usage") from None
    return ray


class _RayWorker:
    """The body of a worker actor: a PartitionWorker answering lists of requests."""

    def __init__(self) -> None:
        from dfl.runtime.worker import PartitionWorker

        self.worker = PartitionWorker()

    def handle(self, requests: list[tuple[str, tuple]]) -> tuple:
        from dfl.runtime.worker import error_payload

        results = []
        try:
            for method, args in requests:
                results.append(getattr(self.worker, method)(*args))
            return ("ok", results)
        except BaseException as e:  # noqa: BLE001 - every failure goes back to the driver
            return ("err", error_payload(e))

    def pid(self) -> int:
        return os.getpid()


def _actor_class():
    global _ACTOR
    if _ACTOR is None:
        _ACTOR = _ray().remote(num_cpus=1, max_restarts=0)(_RayWorker)
    return _ACTOR


@dataclass
class _Actor:
    actor: object  # the Ray actor handle
    started: float
    loaded: object = None  # key of the graph this worker has loaded
    busy_s: float = 0.0
    billed_s: float = 0.0
    calls: int = 0


def _lost_errors(ray) -> tuple[type, ...]:
    ex = ray.exceptions
    return tuple(c for c in (getattr(ex, n, None) for n in ("RayActorError", "ActorDiedError",
                                                             "ActorUnavailableError", "WorkerCrashedError"))
                 if c is not None)


class RayPool:
    """Ray actors as the worker pool: `size` fixed, or an autoscale Policy.

    With an `address`, connects to that Ray cluster; else starts a local Ray with at least
    one CPU per worker. A Ray already initialized in this process is used as it is.
    `close()` kills the pool's actors and leaves Ray running (see `shutdown()`)."""

    def __init__(self, size: int | None = 2, address: str | None = None, policy: Policy | None = None,
                 log=None, interval_s: float = 0.05) -> None:
        ray = _ray()
        self._ray = ray
        self._lost = _lost_errors(ray)
        if size is None and policy is None:
            size = os.cpu_count() or 1
        target = size if policy is None else policy.min_workers
        if not ray.is_initialized():
            if address is not None:
                ray.init(address=address, log_to_driver=False)
            else:
                want = max(target, policy.max_workers if policy is not None else 0)
                ray.init(num_cpus=max(os.cpu_count() or 1, want), include_dashboard=False,
                         ignore_reinit_error=True, log_to_driver=False)
        self.policy = policy
        self.lock = threading.Condition()
        self.procs: dict[int, _Actor] = {}
        self.free: set[int] = set()
        self.waiting = 0  # runs waiting for a worker
        self.next_slot = 0
        self.stats = PoolStats()
        self.latencies: list[float] = []
        self.target = target
        self.loop: AutoscaleLoop | None = None
        self.closed = False
        if policy is not None:
            self.autoscaler = Autoscaler(policy, log=self._logged(log))
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
        actor = _actor_class().remote()  # starts in the background
        self.procs[slot] = _Actor(actor, time.monotonic())
        self.free.add(slot)
        self.stats.started += 1
        return slot

    def _stop(self, slot: int) -> None:
        proc = self.procs.pop(slot)
        self.free.discard(slot)
        self._kill_actor(proc.actor)
        self.stats.stopped += 1
        self._account(proc)

    def _kill_actor(self, actor) -> None:
        try:
            self._ray.kill(actor, no_restart=True)
        except Exception:  # noqa: BLE001 - already dead, or Ray gone: nothing left to stop
            pass

    def _account(self, proc: _Actor) -> None:
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
        """A new actor in a dead worker's slot (still leased by the caller)."""
        with self.lock:
            old = self.procs.pop(slot, None)
            if old is not None:
                self._kill_actor(old.actor)  # it may be unreachable rather than dead
                self._account(old)
            self._spawn(slot)
            self.free.discard(slot)
            self.stats.replaced += 1

    def pid(self, slot: int) -> int:
        """The process id of a slot's actor (on whichever node it runs)."""
        return self._ray.get(self.procs[slot].actor.pid.remote())

    def call(self, requests: dict[int, list[tuple[str, tuple]]]) -> dict[int, object]:
        """Sends each leased worker its list of (method, args), all at once, and waits for
        all answers: a list of results, an ("err", payload) tuple, or a WorkerLost."""
        ray = self._ray
        t0 = time.monotonic()
        out: dict[int, object] = {}
        pending: dict[object, int] = {}
        for slot, reqs in requests.items():
            try:
                pending[self.procs[slot].actor.handle.remote(reqs)] = slot
            except self._lost:
                out[slot] = WorkerLost(slot, None)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                slot = pending.pop(ref)
                out[slot] = self._answer(ray, ref, slot)
                self._bill(slot, t0)
        with self.lock:
            self.latencies.append(time.monotonic() - t0)
            del self.latencies[:-200]
        return out

    def _answer(self, ray, ref, slot: int) -> object:
        try:
            tag, payload = ray.get(ref)
        except self._lost:
            return WorkerLost(slot, None)
        except ray.exceptions.RayError as e:  # e.g. the request could not be unpickled there
            return ("err", ("internal", f"{type(e).__name__}: {e}", None, None, "runtime"))
        return payload if tag == "ok" else ("err", payload)

    def _bill(self, slot: int, t0: float) -> None:
        proc = self.procs.get(slot)
        if proc is None:
            return
        spent = time.monotonic() - t0
        proc.busy_s += spent
        proc.billed_s += math.ceil(spent * 1000) / 1000
        proc.calls += 1

    def kill(self, slot: int, wait_s: float = 30.0) -> None:
        """Kill a worker's actor (fault-injection tests and chaos checks); returns once
        Ray reports it dead, so the next call to it surely finds it lost."""
        ray = self._ray
        actor = self.procs[slot].actor
        ray.kill(actor, no_restart=True)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                ray.get(actor.pid.remote(), timeout=max(0.1, min(2.0, deadline - time.monotonic())))
            except self._lost:
                return
            except ray.exceptions.GetTimeoutError:
                continue
            time.sleep(0.02)

    # ---------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Kills the pool's actors; Ray itself keeps running (see `shutdown()`)."""
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

    def __enter__(self) -> "RayPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def shutdown() -> None:
    """Stops the Ray this process started or connected to (a no-op without one)."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
