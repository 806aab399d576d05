"""HTTPS through Uvicorn's certificate options, and the client over it."""
from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

import dfl  # noqa: E402
from dfl.runtime.serve.app import build_app  # noqa: E402
from dfl.runtime.serve.metrics import Metrics  # noqa: E402
from serve_helpers import KV, FakeHost, serving  # noqa: E402


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a self-signed certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    return str(d / "cert.pem"), str(d / "key.pem")


def test_https(cert):
    certfile, keyfile = cert
    app = build_app(FakeHost(), dfl.compile(KV).agents, Metrics())
    with serving(app, ssl_certfile=certfile, ssl_keyfile=keyfile) as url:
        assert url.startswith("https://")
        with pytest.raises(httpx.ConnectError):  # an unknown issuer is refused by default
            httpx.get(url + "/healthz")
        ctx = ssl.create_default_context(cafile=certfile)
        assert httpx.get(url + "/healthz", verify=ctx).json()["status"] == "ok"
        c = dfl.connect(url, verify=ctx)
        assert c.send("Kv", "k", "put", [("a", "1")]) == 1
        assert c.read("Kv", "k", "store") == [("a", "1")]
        c.close()
