"""A Python client of `dfl serve` (docs/serve.md):

    c = dfl.connect("http://127.0.0.1:8080", token=None)
    c.send("Kv", "k1", "put", [("a", "1")])          # -> rows accepted (durable on return)
    c.call("Kv", "k1", "get", [("a",)], wait_ms=1000)  # -> [("got", ("a", "1"))]
    c.read("Kv", "k1", "store")                        # -> [("a", "1")]

Errors the server reports (4xx/5xx) raise `ServeError` with the status and its JSON error.
"""
from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import quote


class ServeError(Exception):
    def __init__(self, status: int, message: str, detail: dict | None = None):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.detail = detail or {}


class Client:
    def __init__(self, url: str, token: str | None = None, timeout_s: float = 30.0, verify: Any = True):
        import httpx  # the `serve` extra: imported when a client is made, so `import dfl` stays light

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s, verify=verify)

    def send(self, agent: str, key: str, channel: str, rows: Iterable) -> int:
        """Deliver rows (tuples, lists or dicts) to `channel` of the instance agent/key; returns
        once the server has made them durable. The number of rows accepted."""
        r = self._http.post(_path(agent, key, channel), json=_rows(rows))
        return self._json(r)["accepted"]

    def call(self, agent: str, key: str, channel: str, rows: Iterable, wait_ms: int = 1000) -> list[tuple[str, tuple]]:
        """send(), then the (channel, row) pairs the program sends to this request's reply
        address within `wait_ms` (a trailing addr column left out of the rows is filled with
        it). No reply in time raises ServeError(504)."""
        r = self._http.post(_path(agent, key, channel), json=_rows(rows), params={"wait": wait_ms},
                            timeout=max(self._http.timeout.read or 0, wait_ms / 1000 + 5))
        return [(x["channel"], tuple(x["row"])) for x in self._json(r)["replies"]]

    def read(self, agent: str, key: str, relation: str) -> list[tuple]:
        """The rows of a table or output of the instance at its last committed tick."""
        return [tuple(row) for row in self._json(self._http.get(_path(agent, key, relation)))["rows"]]

    def agents(self) -> dict:
        """GET /v1/agents: agent types, their public channels, relations and active instances."""
        return self._json(self._http.get("/v1/agents"))["agents"]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _json(r) -> dict:
        try:
            body = r.json()
        except ValueError:
            body = {"error": r.text[:200]}
        if r.status_code >= 400:
            raise ServeError(r.status_code, body.get("error", r.reason_phrase), body.get("detail"))
        return body


def connect(url: str, token: str | None = None, **kw: Any) -> Client:
    return Client(url, token=token, **kw)


def _path(agent: str, key: str, name: str) -> str:
    return f"/v1/agents/{quote(agent, safe='')}/{quote(key, safe='')}/{quote(name, safe='')}"


def _rows(rows: Iterable) -> list:
    """A list of rows as JSON: tuples become arrays; dicts stay objects."""
    if isinstance(rows, (str, bytes, dict)):
        raise TypeError("rows: a list of rows (tuples, lists or dicts)")
    return [r if isinstance(r, dict) else list(r) for r in rows]
