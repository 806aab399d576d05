"""Addresses at run time (LANGUAGE.md §8): an `addr` value is the string "Name/key", the agent
type's name, a slash and the instance's key (which may hold slashes: split at the first).

An outside sender (a `--messages` row, an HTTP request, the Python client) gets a reply
address whose agent part is `@client`, which no agent name can be, so rows sent to it are
told apart from rows sent to instances without a table of clients.
"""
from __future__ import annotations

CLIENT = "@client"


def make(agent: str, key: str) -> str:
    return f"{agent}/{key}"


def split(a: str) -> tuple[str, str]:
    """(agent, key) of an address; ValueError when `a` is not one."""
    agent, sep, key = a.partition("/")
    if not sep or not agent:
        raise ValueError(f"not an address (Name/key): {a!r}")
    return agent, key


def is_client(a: str) -> bool:
    return a.startswith(CLIENT + "/")


def client(ident: str) -> str:
    """The reply address of outside sender `ident`."""
    return make(CLIENT, ident)
