"""Helpers of the serve tests: a small fake host (the app's tests do not depend on the
real one) and an app served by Uvicorn on 127.0.0.1, port 0, in a thread of the test."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import threading
import time

KV = """
agent Kv {
  @public channel put(key: str, val: str)
  @public channel get(key: str, client: addr)
  channel internal(x: int)
  @public channel typed(i: int, f: float, b: bool, s: str)
  table store(key: str, val: str)
  output seen(key: str)
  next   store(k, v) :- put(k, v).
  delete store(k, old) :- put(k, _), store(k, old).
  seen(k) :- get(k, _).
}
"""


class FakeHost:
    """Kv's behaviour by hand: put stores, get replies ("got", (k, v)) to the row's addr."""

    def __init__(self, events=None):
        self.posts: list[tuple] = []
        self.store: dict[str, dict[str, str]] = {}
        self.boxes: dict[str, list] = {}
        self.ids = itertools.count(1)
        self.events = events
        self.started = self.stopped = False

    async def start(self):
        self.started = True

    async def stop(self):
        self.stopped = True

    async def post(self, agent, key, channel, rows, reply_to=None):
        self.posts.append((agent, key, channel, list(rows), reply_to))
        if self.events:
            self.events.message_in(len(rows))
            self.events.tick(0.001)
        inst = self.store.setdefault(key, {})
        for row in rows:
            if channel == "put":
                inst[row[0]] = row[1]
            elif channel == "get" and row[0] in inst:
                self.boxes.setdefault(row[1], []).append(("got", (row[0], inst[row[0]])))

    def reply_address(self):
        return f"@client/{next(self.ids)}"

    async def replies(self, reply_to, timeout_s):
        deadline = time.monotonic() + timeout_s
        while not self.boxes.get(reply_to) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return self.boxes.pop(reply_to, [])

    def read(self, agent, key, relation):
        return sorted(self.store.get(key, {}).items()) if relation == "store" else []

    def instances(self):
        return {"Kv": sorted(self.store)}

    def status(self):
        return {"workers": 1, "active_instances": len(self.store)}


@contextlib.contextmanager
def serving(app, ssl_certfile=None, ssl_keyfile=None):
    """Serve `app` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="error", lifespan="on", ssl_certfile=ssl_certfile,
                            ssl_keyfile=ssl_keyfile)
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not t.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"{'https' if ssl_certfile else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(15)
        sock.close()
