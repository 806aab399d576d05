"""An agent type as the runtime sees it: its compiled program (an api.Program of its own,
with one graph and one plan per target) and its channels' policies."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dfl.ir.types import Column, Schema, Type


@dataclass
class AgentType:
    name: str
    program: Any  # dfl.api.Program: the agent's rules over its relations and the top-level inputs
    public: frozenset[str]  # channels that accept messages from outside
    allow: dict[str, frozenset[str]]  # channel -> agent types that may send to it

    def channels(self) -> dict[str, Schema]:
        return self.program.channels

    def results(self) -> dict[str, Schema]:
        """The relations `--messages` writes, per instance: every table and output."""
        return {r.name: r.schema for r in self.program.graph.relations
                if r.storage == "table" or "output" in r.kinds}


def keyed(schema: Schema) -> Schema:
    """A result's schema in files: the instance key first (§8)."""
    return Schema((Column("instance", Type.STR),) + schema.columns)
