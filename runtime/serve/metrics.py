"""Prometheus metrics of `dfl serve` (GET /metrics): a registry of its own (so two servers
in one process, as in tests, do not clash), fed by the host through the `HostEvents`
methods and by the app for the requests it refuses."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from dfl.runtime.agents.events import HostEvents

# Tick latencies are milliseconds for most programs; reactivation can take seconds.
_TICK_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_REACTIVATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics(HostEvents):
    """The host's events (runtime/agents/events.py) as Prometheus metrics."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self._in = Counter("dfl_messages_in", "Rows accepted for delivery to agent instances", registry=r)
        self._out = Counter("dfl_messages_out", "Rows sent by agent instances (to agents and to clients)",
                            registry=r)
        self._ticks = Counter("dfl_ticks", "Ticks committed by agent instances", registry=r)
        self._tick_s = Histogram("dfl_tick_seconds", "Tick latency: compute and commit", buckets=_TICK_BUCKETS,
                                 registry=r)
        self._tick_errors = Counter("dfl_tick_errors", "Ticks rolled back on a program error", registry=r)
        self._refused = Counter("dfl_refused", "Requests and messages refused, by reason", ["reason"], registry=r)
        self._active = Gauge("dfl_active_instances", "Agent instances active now", registry=r)
        self._workers = Gauge("dfl_workers", "Worker processes now", registry=r)
        self._reactivation = Histogram("dfl_reactivation_seconds", "From a message for an instance that was "
                                       "not active to its first tick", buckets=_REACTIVATION_BUCKETS, registry=r)

    # ---- HostEvents
    def message_in(self, n: int) -> None:
        self._in.inc(n)

    def message_out(self, n: int) -> None:
        self._out.inc(n)

    def tick(self, seconds: float) -> None:
        self._ticks.inc()
        self._tick_s.observe(seconds)

    def tick_error(self) -> None:
        self._tick_errors.inc()

    def refused(self, kind: str, why: str = "") -> None:
        self._refused.labels(kind).inc()  # the kind only: a label per address would grow without bound

    def active_instances(self, n: int) -> None:
        self._active.set(n)

    def workers(self, n: int) -> None:
        self._workers.set(n)

    def reactivation(self, seconds: float) -> None:
        self._reactivation.observe(seconds)

    # ----
    def render(self) -> bytes:
        return generate_latest(self.registry)
