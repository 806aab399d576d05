"""The HTTP API over a fake host: routes, validation, errors (nothing enqueued on a refusal),
auth, metrics. The real host's tests through HTTP are in test_serve_host.py."""
from __future__ import annotations

import pytest

pytest.importorskip("starlette")
pytest.importorskip("prometheus_client")
httpx = pytest.importorskip("httpx")

import dfl  # noqa: E402
from dfl.runtime.serve.app import Settings, build_app  # noqa: E402
from dfl.runtime.serve.metrics import Metrics  # noqa: E402
from serve_helpers import KV, FakeHost, serving  # noqa: E402

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def prog():
    return dfl.compile(KV)


@pytest.fixture
def server(prog):
    metrics = Metrics()
    host = FakeHost(metrics)
    app = build_app(host, prog.agents, metrics, Settings(max_body=2000))
    with serving(app) as url, httpx.Client(base_url=url) as http:
        yield http, host, metrics


def test_post_put_then_read(server):
    http, host, _ = server
    r = http.post("/v1/agents/Kv/k1/put", json=[["a", "1"], {"key": "b", "val": "2"}])
    assert r.status_code == 202 and r.json() == {"accepted": 2}
    assert host.posts == [("Kv", "k1", "put", [("a", "1"), ("b", "2")], None)]
    r = http.get("/v1/agents/Kv/k1/store")
    assert r.status_code == 200
    assert r.json() == {"agent": "Kv", "key": "k1", "relation": "store", "columns": ["key", "val"],
                        "rows": [["a", "1"], ["b", "2"]]}


def test_one_row_bodies(server):
    http, host, _ = server
    assert http.post("/v1/agents/Kv/k/put", json=["a", "1"]).status_code == 202
    assert http.post("/v1/agents/Kv/k/put", json={"key": "b", "val": "2"}).status_code == 202
    assert [p[3] for p in host.posts] == [[("a", "1")], [("b", "2")]]


def test_key_with_slashes_and_escapes(server):
    http, host, _ = server
    assert http.post("/v1/agents/Kv/a/b%2Fc/put", json=["x", "y"]).status_code == 202
    assert host.posts[0][1] == "a/b/c"


def test_reply_address_filled_and_wait(server):
    http, host, _ = server
    http.post("/v1/agents/Kv/k/put", json=["a", "1"])
    r = http.post("/v1/agents/Kv/k/get", params={"wait": 2000}, json=["a"])
    assert r.status_code == 200
    assert r.json() == {"replies": [{"channel": "got", "row": ["a", "1"]}]}
    reply_to = host.posts[-1][4]
    assert reply_to.startswith("@client/") and host.posts[-1][3] == [("a", reply_to)]


def test_wait_without_reply_is_504(server):
    http, host, _ = server
    r = http.post("/v1/agents/Kv/k/get", params={"wait": 50}, json=["missing"])
    assert r.status_code == 504 and "no reply within 50 ms" in r.json()["error"]
    assert len(host.posts) == 1  # accepted all the same


@pytest.mark.parametrize("path, body, status, needle", [
    ("/v1/agents/Nope/k/put", ["a", "1"], 404, "no agent 'Nope'"),
    ("/v1/agents/Kv/k/nope", ["a", "1"], 404, "no channel 'nope'"),
    ("/v1/agents/Kv/k/internal", [1], 403, "not @public"),
    ("/v1/agents/Kv/put", ["a", "1"], 404, "expected /v1/agents/Kv/<key>"),
    ("/v1/agents/Kv/k/put", ["a"], 422, "2 column(s), this row gives 1"),
    ("/v1/agents/Kv/k/put", ["a", "1", "2"], 422, "this row gives 3"),
    ("/v1/agents/Kv/k/put", ["a", 1], 422, "column 'val': expected str, got an integer 1"),
    ("/v1/agents/Kv/k/put", [["a", "1"], ["b", 2]], 422, "row 2: column 'val'"),
    ("/v1/agents/Kv/k/put", {"key": "a"}, 422, "column 'val' is missing"),
    ("/v1/agents/Kv/k/put", {"key": "a", "val": "1", "x": 1}, 422, "no column 'x'"),
    ("/v1/agents/Kv/k/put", [], 422, "no rows"),
    ("/v1/agents/Kv/k/put", "a", 422, "got a string"),
    ("/v1/agents/Kv/k/get", ["a", "@client/7"], 422, "reply addresses are filled in by the server"),
    ("/v1/agents/Kv/k/get", ["a", "noslash"], 422, "an addr is"),
    ("/v1/agents/Kv/k/typed", [1.5, 1.0, True, "s"], 422, "column 'i': expected int"),
    ("/v1/agents/Kv/k/typed", [1, 1.0, 1, "s"], 422, "column 'b': expected bool"),
    ("/v1/agents/Kv/k/typed", [True, 1.0, True, "s"], 422, "column 'i': expected int"),
    ("/v1/agents/Kv/k/typed", [2 ** 63, 1.0, True, "s"], 422, "column 'i': expected int"),
])
def test_bad_requests_enqueue_nothing(server, path, body, status, needle):
    http, host, metrics = server
    r = http.post(path, json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"], r.json()
    assert "detail" in r.json()
    assert host.posts == []
    assert b"dfl_refused_total" in metrics.render()


def test_typed_row_accepted(server):
    http, host, _ = server
    assert http.post("/v1/agents/Kv/k/typed", json=[1, 2, False, "s"]).status_code == 202
    assert host.posts[0][3] == [(1, 2.0, False, "s")] and type(host.posts[0][3][0][1]) is float


@pytest.mark.parametrize("content, ctype, status, needle", [
    (b"[1, 2", "application/json", 400, "malformed JSON"),
    (b'["a", NaN]', "application/json", 400, "NaN is not a JSON value"),
    (b"\xff\xfe", "application/json", 400, "malformed JSON"),
    (b'["a", "1"]', "text/plain", 415, "must be JSON"),
    (b'["a", "1"]', None, 415, "must be JSON"),
    (b'["' + b"x" * 3000 + b'", "1"]', "application/json", 413, "over the limit of 2000"),
])
def test_malformed_bodies(server, content, ctype, status, needle):
    http, host, _ = server
    headers = {"content-type": ctype} if ctype else {}
    r = http.post("/v1/agents/Kv/k/put", content=content, headers=headers)
    assert r.status_code == status and needle in r.json()["error"]
    assert host.posts == []


def test_chunked_body_over_limit(server):
    http, host, _ = server
    def chunks():
        for _ in range(10):
            yield b" " * 500
    r = http.post("/v1/agents/Kv/k/put", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and host.posts == []


def test_bad_wait(server):
    http, host, _ = server
    for w in ("x", "0", "-5", "99999999"):
        r = http.post("/v1/agents/Kv/k/put", params={"wait": w}, json=["a", "1"])
        assert r.status_code == 400 and "?wait" in r.json()["error"]
    assert host.posts == []


def test_get_unknown_relation_and_channel_not_readable(server):
    http, _, _ = server
    r = http.get("/v1/agents/Kv/k/nope")
    assert r.status_code == 404 and r.json()["detail"]["relations"] == ["seen", "store"]
    assert http.get("/v1/agents/Kv/k/put").status_code == 404


def test_unknown_route_and_method(server):
    http, _, _ = server
    assert http.get("/nope").json()["error"].startswith("no such route")
    r = http.delete("/v1/agents/Kv/k/store")
    assert r.status_code == 405 and "not allowed" in r.json()["error"]


def test_list_agents_health_metrics(server):
    http, _, _ = server
    http.post("/v1/agents/Kv/k1/put", json=["a", "1"])
    agents = http.get("/v1/agents").json()["agents"]
    assert set(agents["Kv"]["channels"]) == {"put", "get", "typed"}  # internal is not public
    assert agents["Kv"]["channels"]["get"] == {"columns": ["key", "client"], "types": ["str", "addr"]}
    assert agents["Kv"]["instances"] == ["k1"]
    assert http.get("/healthz").json()["status"] == "ok"
    r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    for name in ("dfl_messages_in_total 1.0", "dfl_ticks_total 1.0", "dfl_tick_seconds_bucket",
                 "dfl_active_instances", "dfl_workers", "dfl_messages_out_total"):
        assert name in text


def test_token(prog):
    metrics = Metrics()
    host = FakeHost()
    app = build_app(host, prog.agents, metrics, Settings(token=TOKEN))
    with serving(app) as url:
        with httpx.Client(base_url=url) as http:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
                r = http.post("/v1/agents/Kv/k/put", json=["a", "1"], headers=headers)
                assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
                assert "bearer token" in r.json()["error"]
            assert http.get("/metrics").status_code == 401
            assert host.posts == []
            ok = {"Authorization": f"Bearer {TOKEN}"}
            assert http.post("/v1/agents/Kv/k/put", json=["a", "1"], headers=ok).status_code == 202
            assert 'dfl_refused_total{reason="unauthorized"} 4.0' in http.get("/metrics", headers=ok).text
        c = dfl.connect(url, token=TOKEN)
        assert c.read("Kv", "k", "store") == [("a", "1")]
        from dfl.client import ServeError

        with pytest.raises(ServeError) as e:
            dfl.connect(url).read("Kv", "k", "store")
        assert e.value.status == 401
    assert host.started and host.stopped


def test_client(server):
    http, host, _ = server
    from dfl.client import ServeError

    c = dfl.connect(str(http.base_url))
    assert c.send("Kv", "k/1", "put", [("a", "1"), {"key": "b", "val": "2"}]) == 2
    assert c.read("Kv", "k/1", "store") == [("a", "1"), ("b", "2")]
    assert c.call("Kv", "k/1", "get", [("b",)], wait_ms=2000) == [("got", ("b", "2"))]
    with pytest.raises(ServeError) as e:
        c.call("Kv", "k/1", "get", [("zz",)], wait_ms=30)
    assert e.value.status == 504
    with pytest.raises(ServeError) as e:
        c.send("Kv", "k", "put", [("a",)])
    assert e.value.status == 422 and e.value.detail["row"] == 1
    assert "Kv" in c.agents()
    c.close()
