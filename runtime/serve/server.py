"""`dfl serve`: load the program, build the host and the app, and run them on Uvicorn.

The listening socket is bound here, before Uvicorn starts, so the banner can say the real
port (`--port 0` picks a free one, as tests do). Uvicorn handles SIGTERM and ^C: it stops
taking requests, finishes those in flight, and the app's lifespan stops the host (which
drains and saves) before the process exits.
"""
from __future__ import annotations

import ipaddress
import socket
import sys
from dataclasses import dataclass

from dfl.errors import DflError


@dataclass
class ServeOptions:
    program: str
    host: str = "127.0.0.1"
    port: int = 8080
    state: str | None = None  # a directory for the SQLite store; None: in memory
    workers: int = 1
    autoscale: str | None = None  # "MIN..MAX", or "program" for the program's @replicas/@slo
    engine: str = "local"
    target: str = "interp"
    input_dir: str | None = None
    files: dict | None = None
    token_file: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    max_body: int = 1 << 20
    idle_s: float = 60.0
    log_level: str = "warning"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY (Linux): without it Nagle holds a response's
    # second write (h11 sends headers and body apart) for the client's delayed ACK, ~40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise DflError(f"cannot listen on {host}:{port}: {e.strerror or e}", kind="usage") from None
    sock.set_inheritable(True)
    return sock


def build(opts: ServeOptions, prog, on_ready=None):
    """(app, token) for a loaded program: the Starlette app over a new Host; `on_ready()` runs
    once the host has started."""
    from dfl.runtime.serve.app import Settings, build_app
    from dfl.runtime.serve.auth import read_token
    from dfl.runtime.serve.metrics import Metrics

    if not prog.agents:
        raise DflError(f"{opts.program} has no agents: dfl serve hosts a program's agents", kind="usage",
                       hint="declare one with `agent Name { @public channel ... }` (docs/agents.md)")
    token = read_token(opts.token_file) if opts.token_file else None
    policy = _policy(opts.autoscale, prog)
    from dfl.runtime.agents.host import Host
    from dfl.runtime.agents.run import read_agent_inputs

    store = None
    if opts.state is not None:
        from dfl.runtime.agents.store_sqlite import SqliteAgentStore

        store = SqliteAgentStore(opts.state)
    metrics = Metrics()
    host = Host(prog.agents, read_agent_inputs(prog, opts.input_dir, opts.files or {}, opts.target), target=opts.target,
                store=store,
                workers=opts.workers, autoscale=policy, engine=opts.engine, idle_s=opts.idle_s,
                events=metrics)
    return build_app(host, prog.agents, metrics, Settings(token=token, max_body=opts.max_body),
                     on_ready=on_ready), token


def _policy(autoscale: str | None, prog):
    """--autoscale MIN..MAX as a Policy; bare --autoscale: the agents' @replicas/@slo, else
    0..cores (as `dfl run --autoscale` does)."""
    if autoscale is None:
        return None
    from dfl.runtime.pools.autoscale import Policy

    if autoscale == "program":
        from dfl.runtime.agents.scaling import policy_for

        return policy_for(prog) or Policy()
    try:
        return Policy.parse_range(autoscale)
    except ValueError as e:
        raise DflError(str(e), kind="usage") from None


def serve(opts: ServeOptions, prog) -> int:
    import uvicorn

    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if (opts.ssl_certfile is None) != (opts.ssl_keyfile is None):
        raise DflError("TLS needs both --ssl-certfile and --ssl-keyfile", kind="usage")
    app, token = build(opts, prog, on_ready=lambda: ready())  # ready() is defined below; it runs later
    if not is_loopback(opts.host) and token is None:
        say(f"dfl serve: warning: listening on {opts.host}, which is not a loopback address, without a token: "
            f"anyone who can reach it can send to the @public channels and read every table "
            f"(use --token-file FILE, and TLS with --ssl-certfile/--ssl-keyfile)")
    sock = bind(opts.host, opts.port)
    port = sock.getsockname()[1]
    scheme = "https" if opts.ssl_certfile else "http"
    shown = f"[{opts.host}]" if ":" in opts.host else opts.host

    def ready():
        where = f"state in {opts.state} (SQLite)" if opts.state else "state in memory: lost at exit"
        agents = ", ".join(sorted(prog.agents))
        say(f"dfl serve: {opts.program}: agents {agents}; {where}; workers {opts.workers}"
            f"{'' if opts.autoscale is None else f' (autoscale {opts.autoscale})'}; engine {opts.engine}"
            f"{'; bearer token required' if token else ''}")
        say(f"dfl serve: listening on {scheme}://{shown}:{port}")

    config = uvicorn.Config(app, log_level=opts.log_level, ssl_certfile=opts.ssl_certfile,
                            ssl_keyfile=opts.ssl_keyfile, lifespan="on", access_log=False,
                            timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if server.started is False:
        raise DflError("the server did not start (see the messages above)", kind="runtime")
    say("dfl serve: stopped")
    return 0

