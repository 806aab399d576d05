"""Where a program's state lives between ticks: its tables' rows and the rows deferred to
the next tick. The tick step (runtime/ticks.py) reads a store before a tick and commits
the tick's new state to it after, so one-shot runs keep it in memory (`MemoryStore`) and a
long-running service can keep it in a durable store with the same interface.
"""
from __future__ import annotations

from typing import Protocol

from dfl.ir.graph import Graph


class StateStore(Protocol):
    def tables(self) -> dict[str, set[tuple]]:
        """Each table relation's rows now (every table of the program, possibly empty)."""
        ...

    def deferred(self) -> dict[str, list[tuple]]:
        """Rows a non-table relation's `next` rules gave the coming tick."""
        ...

    def commit(self, tables: dict[str, set[tuple]], deferred: dict[str, list[tuple]]) -> None:
        """A tick's outcome, all at once: every table's next rows and the deferred rows."""
        ...


class MemoryStore:
    """The state in this process's memory: what a run from the command line or the API uses."""

    def __init__(self, tables: dict[str, set[tuple]], deferred: dict[str, list[tuple]] | None = None) -> None:
        self._tables = tables
        self._deferred = deferred or {}

    @classmethod
    def initial(cls, graph: Graph) -> "MemoryStore":
        """Before the first tick: each table holds its declared initial rows."""
        return cls({r.name: set(r.init) for r in graph.relations if r.storage == "table"})

    def tables(self) -> dict[str, set[tuple]]:
        return self._tables

    def deferred(self) -> dict[str, list[tuple]]:
        return self._deferred

    def commit(self, tables: dict[str, set[tuple]], deferred: dict[str, list[tuple]]) -> None:
        self._tables, self._deferred = tables, deferred
