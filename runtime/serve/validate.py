"""JSON request bodies -> typed rows of a channel (docs/serve.md, "Rows in JSON").

A body is one row or a list of rows; a row is an array (positional) or an object (by
column name). When a channel's LAST column has type `addr`, a row from outside may leave
it out: it is filled with the request's reply address. Every fault is a `BadRequest`
naming the row, the column and what was expected, raised before anything is enqueued.
"""
from __future__ import annotations

import json
import math
from typing import Any

from dfl.ir.types import Schema, Type
from dfl.ir.values import INT_MAX, INT_MIN
from dfl.runtime.agents import addr


class BadRequest(Exception):
    """A request the server refuses: `status` (4xx), a message, and details for the JSON body."""

    def __init__(self, status: int, message: str, **detail: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


def parse_json(body: bytes) -> Any:
    """The body as JSON; NaN and Infinity are not JSON and are refused."""
    def no_constant(name: str):
        raise ValueError(f"{name} is not a JSON value")

    try:
        return json.loads(body, parse_constant=no_constant)
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise BadRequest(400, f"malformed JSON: {e}") from None


def takes_reply(schema: Schema) -> bool:
    """Does the channel's last column take the sender's reply address when left out?"""
    return bool(schema.columns) and schema.columns[-1].type == Type.ADDR


def rows_of(body: Any, channel: str, schema: Schema, reply_to: str | None) -> list[tuple]:
    """The typed rows of `body` for `channel`. `reply_to` fills a left-out trailing addr
    column (None: the caller has no reply address yet and `needs_reply` says whether to
    make one)."""
    if _is_row_list(body, schema):
        rows = body
    elif isinstance(body, (list, dict)):
        rows = [body]
    else:
        raise BadRequest(422, f"a body is a row (an array or an object) or a list of rows, got {_kind(body)}",
                         channel=channel)
    if not rows:
        raise BadRequest(422, "the body has no rows", channel=channel)
    return [_row(r, n, channel, schema, reply_to) for n, r in enumerate(rows, start=1)]


def needs_reply(body: Any, schema: Schema) -> bool:
    """Does some row of `body` leave out the trailing addr column (so a reply address is needed)?"""
    if not takes_reply(schema):
        return False
    rows = body if _is_row_list(body, schema) else [body]
    last = schema.columns[-1].name
    return any((isinstance(r, list) and len(r) == schema.arity - 1) or (isinstance(r, dict) and last not in r)
               for r in rows)


def _is_row_list(body: Any, schema: Schema) -> bool:
    """A list of rows, rather than one row given as an array? A list whose items are all
    arrays or objects is a list of rows (a row's values are never arrays or objects). The
    empty list is one row when the channel accepts an empty row (no columns, or just the
    reply address), else a list of no rows."""
    if not isinstance(body, list):
        return False
    if not body:
        return _min_arity(schema) != 0
    return all(isinstance(r, (list, dict)) for r in body)


def _min_arity(schema: Schema) -> int:
    return schema.arity - 1 if takes_reply(schema) else schema.arity


def _row(raw: Any, n: int, channel: str, schema: Schema, reply_to: str | None) -> tuple:
    cols = schema.columns
    fill = takes_reply(schema)
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - set(schema.names))
        if unknown:
            raise BadRequest(422, f"row {n}: {channel} has no column {unknown[0]!r}", channel=channel, row=n,
                             columns=list(schema.names))
        missing = [c.name for c in cols if c.name not in raw and not (fill and c is cols[-1])]
        if missing:
            raise BadRequest(422, f"row {n}: column {missing[0]!r} is missing", channel=channel, row=n,
                             columns=list(schema.names))
        values = [raw[c.name] for c in cols if c.name in raw]
    elif isinstance(raw, list):
        if len(raw) not in (schema.arity, _min_arity(schema)):
            want = f"{schema.arity}" if not fill else f"{schema.arity - 1} or {schema.arity}"
            raise BadRequest(422, f"row {n}: {channel} has {want} column(s), this row gives {len(raw)}",
                             channel=channel, row=n, columns=list(schema.names))
        values = list(raw)
    else:
        raise BadRequest(422, f"row {n}: a row is an array or an object, got {_kind(raw)}", channel=channel, row=n)
    out = [_value(v, c.type, n, c.name, channel) for v, c in zip(values, cols)]
    if len(out) < schema.arity:
        if reply_to is None:  # the caller asked needs_reply() first; this is a bug of ours
            raise RuntimeError("a reply address is needed to fill the row")
        out.append(reply_to)
    return tuple(out)


def _value(v: Any, t: Type, n: int, col: str, channel: str) -> Any:
    ok = True
    if t == Type.INT:
        ok = type(v) is int and INT_MIN <= v <= INT_MAX
    elif t == Type.FLOAT:
        ok = type(v) in (int, float)
        if ok and type(v) is int:
            v = float(v)
        ok = ok and math.isfinite(v)
    elif t == Type.STR:
        ok = type(v) is str
    elif t == Type.BOOL:
        ok = type(v) is bool
    elif t == Type.ADDR:
        ok = type(v) is str and _addr_ok(v)
        if not ok and type(v) is str:
            raise BadRequest(422, f"row {n}: column {col!r}: an addr is \"Agent/key\" naming an agent "
                                  f"(reply addresses are filled in by the server), got {v!r}",
                             channel=channel, row=n, column=col)
    if not ok:
        raise BadRequest(422, f"row {n}: column {col!r}: expected {t}, got {_kind(v)} {json.dumps(v)[:80]}",
                         channel=channel, row=n, column=col, expected=str(t))
    return v


def _addr_ok(v: str) -> bool:
    """An agent's address; never a client's (`@client/...`): only the server makes those."""
    try:
        agent, _ = addr.split(v)
    except ValueError:
        return False
    return not agent.startswith("@")


def _kind(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def to_json(v: Any) -> Any:
    """A value for a JSON body (addr values are already "Agent/key" strings)."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)  # JSON has no NaN/Infinity: "nan", "inf", "-inf"
    return v
