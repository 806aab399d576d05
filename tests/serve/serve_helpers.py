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


class DflServe:
    """`dfl serve PROG --port 0 ARGS` in a subprocess (its own session, so a kill reaches
    only it); `url` once it says where it listens."""

    def __init__(self, program, *args: str, timeout_s: float = 90.0):
        import re
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-m", "dfl", "serve", str(program), "--port", "0", *args],
                                     stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self.url = None
        timer = threading.Timer(timeout_s, self.proc.kill)  # a server that never starts must not hang the test
        timer.start()
        try:
            for line in self.proc.stderr:
                self.lines.append(line)
                m = re.search(r"listening on (http\S+)", line)
                if m:
                    self.url = m.group(1)
                    break
        finally:
            timer.cancel()
        if self.url is None:
            self.proc.wait(10)
            raise RuntimeError("dfl serve did not start:\n" + "".join(self.lines))
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def terminate(self, timeout_s: float = 30.0) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout_s)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            try:
                self.terminate()
            except Exception:
                self.kill()
