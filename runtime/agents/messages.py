"""The `--messages FILE` of `dfl run` (LANGUAGE.md §8): CSV, a header `time,agent,key,channel`,
then per row those four and the channel's values (rows of different channels have different
lengths). A row may leave out its channel's last column where that is an `addr`: it is the
sender's reply address, `@client/<line>` (the row's line in the file). Every fault is an
input error at file:line:col (exit 2).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from dfl.errors import DflError, Span
from dfl.ir.files import read_source
from dfl.runtime.agents.addr import client
from dfl.runtime.agents.types import AgentType
from dfl.runtime.io.csvio import CONVERTERS, BadValue

HEADER = ["time", "agent", "key", "channel"]


@dataclass(frozen=True)
class Message:
    time: int
    agent: str
    key: str
    channel: str
    values: tuple[Any, ...]
    line: int  # in the file, for messages about it


def read_messages(path: str, agents: dict[str, AgentType]) -> list[Message]:
    text = read_source(path, "messages file", kind="input", newline="")
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text))
    out: list[Message] = []
    header_seen = False
    for fields in reader:
        line = reader.line_num
        if not fields:
            continue  # a blank line
        at = _Where(path, text, line, lines[line - 1] if line <= len(lines) else "", fields)
        if not header_seen:
            if [f.strip() for f in fields] != HEADER:
                at.error(None, f"the header must be {','.join(HEADER)}, got {','.join(fields)}")
            header_seen = True
            continue
        out.append(_message(at, fields, agents))
    if not header_seen:
        raise DflError(f"{path}: empty messages file; it needs the header {','.join(HEADER)}", kind="input")
    return out


def _message(at: "_Where", fields: list[str], agents: dict[str, AgentType]) -> Message:
    if len(fields) < 4:
        at.error(None, f"a message has at least 4 fields ({','.join(HEADER)}), this one {len(fields)}")
    time_text, agent, key, channel = fields[:4]
    try:
        time = int(time_text)
    except ValueError:
        time = -1
    if time < 0:
        at.error(0, f"time: expected an int >= 0, got {time_text!r}")
    if agent not in agents:
        at.error(1, f"agent: there is no agent {agent!r}", f"agents: {', '.join(sorted(agents)) or 'none'}")
    at_type = agents[agent]
    schema = at_type.channels().get(channel)
    if schema is None:
        at.error(3, f"channel: agent {agent} has no channel {channel!r}",
                 f"its channels: {', '.join(sorted(at_type.channels())) or 'none'}")
    if channel not in at_type.public:
        at.error(3, f"channel: {agent}.{channel} is not @public; messages from outside go to public channels",
                 f"write @public before `channel {channel}` in agent {agent}")
    values = fields[4:]
    reply = client(str(at.line))
    try:
        at_type.fill_reply(channel, tuple(values), reply)
    except ValueError as e:
        at.error(None, str(e), f"columns: {', '.join(schema.names)}")
    row = []
    for i, (text, col) in enumerate(zip(values, schema.columns)):
        try:
            row.append(CONVERTERS[col.type](text))
        except BadValue as e:
            at.error(4 + i, f"{col.name}: {e}")
    return Message(time, agent, key, channel, at_type.fill_reply(channel, tuple(row), reply), at.line)


@dataclass
class _Where:
    path: str
    text: str
    line: int
    raw: str
    fields: list[str]

    def error(self, field: int | None, message: str, hint: str | None = None):
        """An input error at this row, at field `field` (0-based) or the whole line. Columns
        are counted on the raw line, assuming the fields before it are not quoted."""
        start, end = 0, len(self.raw)
        if field is not None and field < len(self.fields):
            start = sum(len(f) + 1 for f in self.fields[:field])
            end = start + len(self.fields[field])
        raise DflError(message, span=Span(self.path, self.line, start + 1, self.line, max(end, start + 1) + 1),
                       kind="input", hint=hint, source=self.text)
