"""`dfl serve` over the real host, in a subprocess on 127.0.0.1: the API end to end, the
startup banner, SIGTERM, program errors in ticks, and the non-loopback warning."""
from __future__ import annotations

import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import dfl  # noqa: E402
from dfl.client import ServeError  # noqa: E402
from serve_helpers import DflServe  # noqa: E402

PUTS = """
agent Kv {
  @public channel put(key: str, val: str)
  channel internal(x: int)
  table store(key: str, val: str)
  next   store(k, v) :- put(k, v).
  delete store(k, old) :- put(k, _), store(k, old).
}
agent Div {
  @public channel div(a: int, b: int)
  table q(v: int)
  next q(to_int(a / b)) :- div(a, b).
}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    prog = tmp_path_factory.mktemp("serve") / "kv.dfl"
    prog.write_text(PUTS)
    with DflServe(prog) as srv:
        yield srv


def _eventually(f, want, timeout_s=10.0):
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        got = f()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def test_banner(served):
    assert "state in memory: lost at exit" in served.stderr
    assert "agents Div, Kv" in served.stderr and served.url.startswith("http://127.0.0.1:")
    assert "warning" not in served.stderr


def test_send_read_list(served):
    c = dfl.connect(served.url)
    assert c.send("Kv", "a/b", "put", [("x", "1"), ("y", "2")]) == 2
    assert _eventually(lambda: sorted(c.read("Kv", "a/b", "store")), [("x", "1"), ("y", "2")]) == \
        [("x", "1"), ("y", "2")]
    c.send("Kv", "a/b", "put", [{"key": "x", "val": "3"}])
    assert _eventually(lambda: sorted(c.read("Kv", "a/b", "store")), [("x", "3"), ("y", "2")]) == \
        [("x", "3"), ("y", "2")]
    assert c.read("Kv", "never", "store") == []
    assert "a/b" in c.agents()["Kv"]["instances"]
    with httpx.Client(base_url=served.url) as http:
        health = http.get("/healthz").json()
        assert health["status"] == "ok" and health["workers"] >= 1
        text = http.get("/metrics").text
    assert "dfl_messages_in_total 3.0" in text or "dfl_messages_in_total" in text
    assert "dfl_ticks_total" in text


def test_refusals_enqueue_nothing(served):
    c = dfl.connect(served.url)
    for args, status in [(("Kv", "r", "put", [("x",)]), 422), (("Kv", "r", "internal", [(1,)]), 403),
                         (("Nope", "r", "put", [("x", "1")]), 404), (("Kv", "r", "nope", [("x", "1")]), 404)]:
        with pytest.raises(ServeError) as e:
            c.send(*args)
        assert e.value.status == status
    assert "r" not in c.agents()["Kv"]["instances"]


def test_wait_without_reply(served):
    with pytest.raises(ServeError) as e:
        dfl.connect(served.url).call("Kv", "w", "put", [("x", "1")], wait_ms=100)
    assert e.value.status == 504


def test_program_error_rolls_back_the_tick(served):
    c = dfl.connect(served.url)
    c.send("Div", "d", "div", [(6, 3)])
    assert _eventually(lambda: c.read("Div", "d", "q"), [(2,)]) == [(2,)]
    c.send("Div", "d", "div", [(1, 0)])  # division by zero in that tick
    with httpx.Client(base_url=served.url) as http:
        assert _eventually(lambda: "dfl_tick_errors_total 1.0" in http.get("/metrics").text, True)
    c.send("Div", "d", "div", [(8, 2)])  # the instance goes on from its last good state
    assert _eventually(lambda: sorted(c.read("Div", "d", "q")), [(2,), (4,)]) == [(2,), (4,)]


def test_token_and_sigterm(tmp_path):
    prog = tmp_path / "kv.dfl"
    prog.write_text(PUTS)
    (tmp_path / "tok").write_text("tok-123\n")
    with DflServe(prog, "--token-file", str(tmp_path / "tok"), "--state", str(tmp_path / "st")) as srv:
        assert f"state in {tmp_path / 'st'} (SQLite)" in srv.stderr and "bearer token required" in srv.stderr
        with pytest.raises(ServeError) as e:
            dfl.connect(srv.url).send("Kv", "k", "put", [("a", "1")])
        assert e.value.status == 401
        c = dfl.connect(srv.url, token="tok-123")
        assert c.send("Kv", "k", "put", [("a", "1")]) == 1
        code = srv.terminate()
    assert code in (0, 143), srv.stderr
    assert "Traceback" not in srv.stderr
    with DflServe(prog, "--token-file", str(tmp_path / "tok"), "--state", str(tmp_path / "st")) as srv:
        c = dfl.connect(srv.url, token="tok-123")
        assert _eventually(lambda: c.read("Kv", "k", "store"), [("a", "1")]) == [("a", "1")]


def test_non_loopback_warning(monkeypatch, capsys, tmp_path):
    """The warning comes before the socket is bound; the bind is stubbed so nothing listens
    off loopback."""
    from dfl.errors import DflError
    from dfl.runtime.serve import server

    def no_bind(host, port):
        raise DflError("not binding in a test", kind="usage")

    monkeypatch.setattr(server, "bind", no_bind)
    prog = dfl.compile(PUTS)
    with pytest.raises(DflError):
        server.serve(server.ServeOptions(program="kv.dfl", host="0.0.0.0"), prog)
    assert "not a loopback address, without a token" in capsys.readouterr().err
    (tmp_path / "tok").write_text("t\n")
    with pytest.raises(DflError):
        server.serve(server.ServeOptions(program="kv.dfl", host="0.0.0.0", token_file=str(tmp_path / "tok")), prog)
    assert "warning" not in capsys.readouterr().err


def test_replies_and_direct_sends(tmp_path):
    """The key-value store's get replies to the request (its reply address filled in), and
    ping-pong between two agents over direct channels answers the client at the end."""
    import pathlib

    bench = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "workloads"
    with DflServe(bench / "serve_kv.dfl") as srv:
        c = dfl.connect(srv.url)
        c.send("Kv", "k", "put", [("a", "1")])
        # messages are in no promised order (a get sent right after a put may share its tick):
        # wait until the put's tick has committed
        deadline = time.monotonic() + 20
        while c.read("Kv", "k", "store") != [("a", "1")] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert c.call("Kv", "k", "get", [("a",)], wait_ms=5000) == [("got", ("a", "1"))]
        assert c.call("Kv", "k", "get", [{"key": "a"}], wait_ms=5000) == [("got", ("a", "1"))]
        with pytest.raises(ServeError) as e:
            c.call("Kv", "k", "get", [("missing",)], wait_ms=100)
        assert e.value.status == 504
        with pytest.raises(ServeError) as e:  # a client cannot name another client's reply address
            c.send("Kv", "k", "get", [("a", "@client/1")])
        assert e.value.status == 422
    with DflServe(bench / "serve_pingpong.dfl") as srv:
        c = dfl.connect(srv.url)
        assert c.call("Ping", "a", "serve", [(5,)], wait_ms=5000) == [("done", (0,))]
