"""`dfl serve`'s usage errors (before anything listens) and its loopback test."""
from __future__ import annotations

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from dfl.runtime.serve.server import is_loopback  # noqa: E402
from serve_helpers import KV  # noqa: E402


@pytest.mark.parametrize("host, loop", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                        ("localhost", True), ("0.0.0.0", False), ("::", False),
                                        ("10.1.2.3", False), ("example.org", False)])
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def test_usage_errors(dfl_cli, write, tmp_path):
    kv = str(write("kv.dfl", KV))
    plain = str(write("plain.dfl", "input e(x: int)\noutput o(x: int)\no(x) :- e(x).\n"))
    empty = str(write("empty.tok", "  \n"))
    spaced = str(write("spaced.tok", "two words\n"))
    cases = [
        ([plain], "has no agents"),
        ([kv, "--token-file", str(tmp_path / "none.tok")], "cannot read it"),
        ([kv, "--token-file", empty], "the file is empty"),
        ([kv, "--token-file", spaced], "one word"),
        ([kv, "--ssl-certfile", "c.pem"], "TLS needs both"),
        ([kv, "--port", "70000"], "--port must be"),
        ([kv, "--workers", "0"], "--workers must be"),
        ([kv, "--max-body", "0"], "--max-body must be"),
        ([kv, "--autoscale", "8..2"], "expected --autoscale MIN..MAX"),
        ([kv, "--engine", "nope"], "invalid choice"),
    ]
    for args, needle in cases:
        r = dfl_cli("serve", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
