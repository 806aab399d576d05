"""The backend interface: `Backend.compile(graph) -> Plan`; `Plan.run(inputs) -> TickResult`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from dfl.ir.graph import Graph


@dataclass
class TickResult:
    """What one tick produced: outputs (sinks), table states (persists), rows for the next tick."""

    sinks: dict[str, list[tuple]] = field(default_factory=dict)
    persists: dict[str, list[tuple]] = field(default_factory=dict)
    defers: dict[tuple[str, str], list[tuple]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)


class Plan(Protocol):
    def run(self, inputs: dict[tuple[str, str], list[tuple]]) -> TickResult: ...


class Backend(Protocol):
    name: str
    devices: tuple[str, ...]

    def compile(self, graph: Graph) -> Plan: ...
