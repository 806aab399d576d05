"""What the host reports as it runs (docs/service.md, "What is measured"). The serve part turns
these calls into Prometheus metrics; the host itself imports no metrics library. Every
method is called on the host's event loop thread, and must be quick."""
from __future__ import annotations


class HostEvents:
    """The no-op default; subclass and override what you count."""

    def message_in(self, n: int) -> None:
        """n messages from outside were made durable (acknowledged)."""

    def message_out(self, n: int) -> None:
        """n messages were sent by instances (to instances or to outside senders)."""

    def tick(self, seconds: float) -> None:
        """An instance ran a tick that took `seconds`."""

    def tick_error(self) -> None:
        """A tick raised a program error; its messages were dropped (marked failed)."""

    def refused(self, kind: str, why: str = "") -> None:
        """A message was refused: `kind` is one of a few fixed words (no_agent, no_channel,
        arity, allow, not_public, not_an_address: a metric's label, never an address or a
        value); `why` says it in full."""

    def active_instances(self, n: int) -> None:
        """Instances now active on the workers."""

    def workers(self, n: int) -> None:
        """Workers now running."""

    def reactivation(self, seconds: float) -> None:
        """A message that found no worker waited this long for its instance's first tick."""


class CountingEvents(HostEvents):
    """Keeps the last value or a running total of each; what tests and benchmarks read."""

    def __init__(self) -> None:
        self.counts = {"in": 0, "out": 0, "ticks": 0, "errors": 0}
        self.tick_s: list[float] = []
        self.refusals: list[str] = []
        self.active = 0
        self.n_workers = 0
        self.reactivations: list[float] = []

    def message_in(self, n):
        self.counts["in"] += n

    def message_out(self, n):
        self.counts["out"] += n

    def tick(self, seconds):
        self.counts["ticks"] += 1
        self.tick_s.append(seconds)
        del self.tick_s[:-10_000]

    def tick_error(self):
        self.counts["errors"] += 1

    def refused(self, kind, why=""):
        self.refusals.append(why or kind)

    def active_instances(self, n):
        self.active = n

    def workers(self, n):
        self.n_workers = n

    def reactivation(self, seconds):
        self.reactivations.append(seconds)
