"""The Ray engine: the worker pool of a partitioned run (runtime/dist/partitioned.py) as Ray
actors, one actor per worker slot, on a local Ray or on a Ray cluster (`dfl run --engine
ray [--address ADDR]`).

`RayPool` has the interface the driver uses of the local process pool (runtime/pools/pool.py):
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

import logging
import os
import time
from dataclasses import dataclass

from dfl.errors import DflError
from dfl.runtime.pools.autoscale import Policy
from dfl.runtime.pools.pool import SlotPool, WorkerLost

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
        from dfl.runtime.dist.worker import PartitionWorker

        self.worker = PartitionWorker()

    def handle(self, requests: list[tuple[str, tuple]]) -> tuple:
        from dfl.runtime.dist.worker import error_payload

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


class RayPool(SlotPool):
    """Ray actors as the worker pool: `size` fixed, or an autoscale Policy.

    With an `address`, connects to that Ray cluster; else starts a local Ray with at least
    one CPU per worker. A Ray already initialized in this process is used as it is.
    `close()` kills the pool's actors and leaves Ray running (see `shutdown()`);
    `started_ray` says whether this pool started it."""

    def __init__(self, size: int | None = 2, address: str | None = None, policy: Policy | None = None,
                 log=None, interval_s: float = 0.05) -> None:
        ray = _ray()
        self._ray = ray
        self._lost = _lost_errors(ray)
        super().__init__(size, policy, log, interval_s)
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            if address is not None:
                ray.init(address=address, log_to_driver=False)
            else:
                want = max(self.target, policy.max_workers if policy is not None else 0)
                ray.init(num_cpus=max(os.cpu_count() or 1, want), include_dashboard=False,
                         ignore_reinit_error=True, log_to_driver=False, logging_level=logging.WARNING)
        self._begin(log, interval_s)

    def _start(self, slot: int) -> _Actor:
        return _Actor(_actor_class().remote(), time.monotonic())  # starts in the background

    def _end(self, proc: _Actor, dead: bool) -> None:
        try:  # a dead worker may be unreachable rather than dead: kill it either way
            self._ray.kill(proc.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - already dead, or Ray gone: nothing left to stop
            pass

    def pid(self, slot: int) -> int:
        """The process id of a slot's actor (on whichever node it runs)."""
        return self._ray.get(self.procs[slot].actor.pid.remote())

    def submit(self, slot: int, reqs: list[tuple[str, tuple]]) -> None:
        """Sends a leased actor its list of (method, args) without waiting (`answers`)."""
        try:
            self.sent[slot] = (time.monotonic(), self.procs[slot].actor.handle.remote(reqs))
        except self._lost:
            self.sent[slot] = (time.monotonic(), WorkerLost(slot, None))

    def answers(self, slots) -> list[tuple[int, object]]:
        """Waits until at least one of `slots` has answered (as LocalPool.answers)."""
        ray = self._ray
        out = [(s, self.sent[s][1]) for s in slots if isinstance(self.sent[s][1], WorkerLost)]
        if not out:
            refs = {self.sent[s][1]: s for s in slots}
            ready, _ = ray.wait(list(refs), num_returns=1)
            out = [(refs[r], self._answer(ray, r, refs[r])) for r in ready]
        for slot, _ in out:
            self._bill(slot, self.sent.pop(slot)[0])
        return out

    def _answer(self, ray, ref, slot: int) -> object:
        try:
            tag, payload = ray.get(ref)
        except self._lost:
            return WorkerLost(slot, None)
        except ray.exceptions.RayError as e:  # e.g. the request could not be unpickled there
            return ("err", ("internal", f"{type(e).__name__}: {e}", None, None, "runtime"))
        return payload if tag == "ok" else ("err", payload)

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


def shutdown() -> None:
    """Stops the Ray this process started or connected to (a no-op without one)."""
    try:
        import ray
    except ImportError:
        return
    if ray.is_initialized():
        ray.shutdown()
