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
        """The relations `--messages` writes, per instance: every table and output (not the
        hidden relations of `self` and of sends, lang/addresses.py and lang/sends.py)."""
        return {r.name: r.schema for r in self.program.graph.relations
                if (r.storage == "table" or "output" in r.kinds) and not r.name.startswith("__")}

    def fill_reply(self, channel: str, row: tuple, reply_to: str) -> tuple:
        """An outside message's row, its omitted last `addr` column filled with the sender's
        reply address (§8); ValueError when the row has neither the channel's width nor one
        less with an `addr` last."""
        schema = self.channels()[channel]
        if len(row) == schema.arity:
            return row
        if len(row) == schema.arity - 1 and schema.types[-1] == Type.ADDR:
            return (*row, reply_to)
        omit = " (or one less: the last column is an addr, filled with the reply address)" \
            if schema.arity and schema.types[-1] == Type.ADDR else ""
        raise ValueError(f"{self.name}.{channel} has {schema.arity} column(s){omit}, this row {len(row)}")

    def inputs(self) -> dict[str, Schema]:
        """The top-level inputs the agent reads (not its own address, which the runtime gives)."""
        return {rel: s for rel, s in self.program.inputs.items() if not rel.startswith("__")}


def keyed(schema: Schema) -> Schema:
    """A result's schema in files: the instance key first (§8)."""
    return Schema((Column("instance", Type.STR),) + schema.columns)
