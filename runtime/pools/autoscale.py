"""The autoscaler: a policy that sets a worker pool's size, and the loop that drives it.

DESIGN.md, "Placement and the worker pool": the pool's size follows queue depth, latency
against the SLO and idle time, and goes to zero when there is no work. The policy here
knows nothing about any particular pool (process pool, Ray): a pool reports a `Load`
sample and obeys `resize(n)`; that is the whole `Scalable` protocol. Keeping the policy a
pure function of (samples so far, clock in the sample) makes it testable with a fake
clock, and lets `dfl run --autoscale 0..8` and `@replicas`/`@slo` share one code path.

    >>> scaler = Autoscaler(Policy(min_workers=0, max_workers=8))
    >>> scaler.observe(Load(now=0.0, workers=2, busy=2, queued=20, p99_latency_s=None)).reason
    'backlog 20 tasks on 2 workers > 2.0 per worker: 2 -> 8 (capped at max 8)'
"""
from __future__ import annotations

import logging
import math
import os
import re
import threading
from dataclasses import dataclass
from typing import Callable, Protocol

log = logging.getLogger("dfl.autoscale")

# Evaluated once: the default ceiling is "one worker per CPU" (cpu_count may be None).
_CPUS = os.cpu_count() or 1


@dataclass(frozen=True)
class Policy:
    """The knobs of the autoscaler; all times are in seconds."""

    min_workers: int = 0
    max_workers: int = _CPUS
    target_latency_s: float | None = None  # from `@slo(p99_ms = 50)`
    backlog_per_worker: float = 2.0  # queued tasks per worker above which we scale up
    idle_s: float = 2.0  # spare capacity this long -> one worker fewer
    zero_after_s: float = 5.0  # no work at all this long -> straight to min_workers
    cooldown_s: float = 0.5  # minimum gap between decisions (scale-up from 0 excepted)

    def __post_init__(self) -> None:
        for name in ("min_workers", "max_workers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"autoscale policy: {name} must be an integer, got {value!r}")
        if self.min_workers < 0:
            raise ValueError(f"autoscale policy: min_workers must be >= 0, got {self.min_workers}")
        if self.max_workers < 1:
            raise ValueError(f"autoscale policy: max_workers must be >= 1, got {self.max_workers}")
        if self.min_workers > self.max_workers:
            raise ValueError(f"autoscale policy: min_workers ({self.min_workers}) must be <= "
                             f"max_workers ({self.max_workers})")
        if self.target_latency_s is not None and not self.target_latency_s > 0:
            raise ValueError(f"autoscale policy: target_latency_s must be > 0 or None, "
                             f"got {self.target_latency_s!r}")
        if not self.backlog_per_worker > 0:
            raise ValueError(f"autoscale policy: backlog_per_worker must be > 0, "
                             f"got {self.backlog_per_worker!r}")
        for name in ("idle_s", "zero_after_s", "cooldown_s"):
            value = getattr(self, name)
            # `not value >= 0` also rejects NaN, which would make every comparison False
            if not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"autoscale policy: {name} must be a non-negative number "
                                 f"of seconds, got {value!r}")

    @classmethod
    def parse_range(cls, text: str, **knobs: float) -> Policy:
        """The CLI flag `--autoscale MIN..MAX` (or `N`, meaning N..N) as a Policy.

        >>> Policy.parse_range("0..8").max_workers
        8
        """
        form = "expected --autoscale MIN..MAX (e.g. 0..8) or N, with whole numbers"
        m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", text)
        if m is None:
            raise ValueError(f"{form}; got {text!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        try:
            return cls(min_workers=lo, max_workers=hi, **knobs)
        except ValueError as e:  # e.g. "8..2": say which flag and what form it wants
            raise ValueError(f"{form}; got {text!r}: {e}") from None

    @classmethod
    def from_annotations(cls, replicas: dict | None, slo: dict | None,
                         default_max: int) -> Policy:
        """`@replicas(min = 0, max = 8)` and `@slo(p99_ms = 50)` as a Policy.

        Both arrive as plain dicts of their arguments ({"min": 0, "max": 8},
        {"p99_ms": 50}). A missing `min` is 0; a missing `max` is `default_max` (raised to
        `min` if `min` is larger, since the user asked for at least that many). `@slo`
        keys other than `p99_ms` are the placement pass's business and are ignored here.
        """
        replicas = dict(replicas or {})
        unknown = sorted(set(replicas) - {"min", "max"})
        if unknown:
            raise ValueError(f"@replicas takes min and max, got unknown argument(s) "
                             f"{', '.join(unknown)}")
        lo = _whole(replicas.get("min", 0), "@replicas min")
        hi = (_whole(replicas["max"], "@replicas max") if "max" in replicas
              else max(default_max, lo))
        target = None
        if slo and "p99_ms" in slo:
            p99 = slo["p99_ms"]
            if isinstance(p99, bool) or not isinstance(p99, (int, float)) or not p99 > 0:
                raise ValueError(f"@slo p99_ms must be a positive number of milliseconds, "
                                 f"got {p99!r}")
            target = p99 / 1000.0
        return cls(min_workers=lo, max_workers=hi, target_latency_s=target)


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return value


@dataclass
class Load:
    """One sample a pool reports."""

    now: float  # monotonic seconds; the autoscaler's only clock, so tests can fake it
    workers: int  # current pool size
    busy: int  # workers running a task
    queued: int  # tasks waiting for a worker
    p99_latency_s: float | None = None  # recent task latency, None when unknown


@dataclass(frozen=True)
class Decision:
    """A resize the autoscaler asks for, and why, in a sentence naming the numbers."""

    at: float
    before: int
    after: int
    reason: str

    def __str__(self) -> str:
        return f"[t={self.at:.3f}] {self.reason}"


class Autoscaler:
    """The policy over time: `observe` each load sample, get back a Decision or None.

    Rules, first match wins (all sizes clamped to [min_workers, max_workers]):
      1. outside [min, max] (e.g. a pool started at another size): clamp;
      2. no workers and tasks queued: grow at once, ignoring the cooldown, since otherwise
         nothing ever runs;
      3. within `cooldown_s` of the last decision: nothing;
      4. queued > backlog_per_worker * workers: grow to ceil((queued + busy) /
         backlog_per_worker), so a step load is met in one decision, not one per period;
      5. p99 latency above the SLO while there is work: one worker more;
      6. no work at all for `zero_after_s`: straight to min_workers (scale to zero);
      7. spare capacity (a free worker, nothing queued) for `idle_s`: one worker fewer,
         and the idle clock starts again, so shrinking is one step per idle period.
    """

    def __init__(self, policy: Policy, log: Callable[[Decision], None] | None = None) -> None:
        self.policy = policy
        self.decisions: list[Decision] = []
        self._log = log
        self._last_at: float | None = None  # time of the last decision, for the cooldown
        self._idle_since: float | None = None  # start of the current spare-capacity spell
        self._no_work_since: float | None = None  # start of the current no-work spell

    def observe(self, load: Load) -> Decision | None:
        """Decide a new pool size for this sample, or None to leave it as it is."""
        p, now, n = self.policy, load.now, load.workers
        work = load.busy + load.queued
        # The timers advance even while the cooldown holds decisions back, so an idle
        # spell that began during a cooldown is counted from when it really began.
        if work > 0:
            self._no_work_since = None
        elif self._no_work_since is None:
            self._no_work_since = now
        spare = n > load.busy and load.queued == 0
        if not spare:
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = now

        if n < p.min_workers or n > p.max_workers:
            if n == 0 or not self._cooling(now):  # from 0 is immediate, like rule 2
                side = f"below min {p.min_workers}" if n < p.min_workers else f"above max {p.max_workers}"
                return self._decide(now, n, self._clamp(n), f"{n} workers {side}: {n} -> {self._clamp(n)}")
            return None

        if n == 0 and load.queued > 0:
            wanted = max(1, math.ceil(load.queued / p.backlog_per_worker))
            after = self._clamp(wanted)
            return self._decide(now, n, after, f"{load.queued} tasks queued with no workers: "
                                               f"0 -> {after}{self._capped(after, wanted)}")
        if self._cooling(now):
            return None

        if load.queued > p.backlog_per_worker * n and n < p.max_workers:
            wanted = max(n + 1, math.ceil(work / p.backlog_per_worker))
            after = self._clamp(wanted)
            return self._decide(now, n, after,
                                f"backlog {load.queued} tasks on {n} workers > "
                                f"{float(p.backlog_per_worker)!r} per worker: {n} -> {after}"
                                f"{self._capped(after, wanted)}")

        # A p99 with no work behind it is stale (no task finished lately): ignore it.
        if (p.target_latency_s is not None and load.p99_latency_s is not None and work > 0
                and load.p99_latency_s > p.target_latency_s and n < p.max_workers):
            return self._decide(now, n, n + 1,
                                f"p99 latency {load.p99_latency_s:.3g} s > SLO "
                                f"{p.target_latency_s:.3g} s: {n} -> {n + 1}")

        if (self._no_work_since is not None and n > p.min_workers
                and now - self._no_work_since >= p.zero_after_s):
            to = "zero" if p.min_workers == 0 else f"min {p.min_workers}"
            return self._decide(now, n, p.min_workers,
                                f"no work for {now - self._no_work_since:.1f} s: scale to {to} "
                                f"({n} -> {p.min_workers})")

        if (self._idle_since is not None and n > p.min_workers
                and now - self._idle_since >= p.idle_s):
            idle_for = now - self._idle_since
            self._idle_since = now  # the next step needs a whole idle period of its own
            return self._decide(now, n, n - 1,
                                f"idle {idle_for:.1f} s with {n - load.busy} of {n} workers "
                                f"free: {n} -> {n - 1}")
        return None

    def _cooling(self, now: float) -> bool:
        return self._last_at is not None and now - self._last_at < self.policy.cooldown_s

    def _clamp(self, n: int) -> int:
        return min(self.policy.max_workers, max(self.policy.min_workers, n))

    def _capped(self, after: int, wanted: int) -> str:
        return f" (capped at max {after})" if wanted > after else ""

    def _decide(self, now: float, before: int, after: int, reason: str) -> Decision:
        d = Decision(at=now, before=before, after=after, reason=reason)
        self._last_at = now
        if after > before:
            self._idle_since = None  # new workers are free by construction: not idleness
        self.decisions.append(d)
        log.info("autoscale: %s", reason)
        if self._log is not None:
            self._log(d)
        return d


class Scalable(Protocol):
    """What the autoscaler needs of a pool: a load sample, and a way to resize it."""

    def load(self) -> Load: ...

    def resize(self, n: int) -> None: ...


class AutoscaleLoop:
    """A daemon thread: every `interval_s`, sample the pool, decide, resize.

    An exception from the pool (or the policy) is logged with its traceback, stops the
    loop and is kept in `error`; `stop()` raises it again, so it is never lost.

        with AutoscaleLoop(pool, Autoscaler(policy)):
            run_the_program()
    """

    def __init__(self, pool: Scalable, autoscaler: Autoscaler, interval_s: float = 0.05) -> None:
        if not interval_s > 0:
            raise ValueError(f"autoscale loop: interval_s must be > 0, got {interval_s!r}")
        self.pool = pool
        self.autoscaler = autoscaler
        self.interval_s = interval_s
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AutoscaleLoop:
        if self._thread is not None:
            raise RuntimeError("autoscale loop already started")
        # daemon: a forgotten loop must not keep the interpreter alive at exit
        self._thread = threading.Thread(target=self._run, name="dfl-autoscale", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and join the thread; raise the error that stopped it early, if any."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        if self.error is not None:
            raise self.error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            try:
                d = self.autoscaler.observe(self.pool.load())
                if d is not None:
                    self.pool.resize(d.after)
            except Exception as e:  # noqa: BLE001 - a crashed loop must say why, loudly
                log.exception("autoscale loop stopped: %s", e)
                self.error = e
                return
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> AutoscaleLoop:
        return self.start()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.stop()
        else:
            # The body's exception matters more; the loop's own error was already logged.
            try:
                self.stop()
            except Exception:  # noqa: BLE001
                pass
