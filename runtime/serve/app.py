"""The HTTP API of `dfl serve` (docs/serve.md) as a Starlette app over a `Host`
(runtime/agents/host.py): routes, request checks, JSON errors.

Every refusal happens before the host is called, so a refused request enqueues nothing;
each is a JSON body `{"error": ..., "detail": {...}}` and counts in `dfl_refused_total`.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dfl.runtime.serve.auth import authorized
from dfl.runtime.serve.metrics import Metrics
from dfl.runtime.serve.validate import BadRequest, needs_reply, parse_json, rows_of, to_json

log = logging.getLogger("dfl.serve")

MAX_WAIT_MS = 60_000  # ?wait beyond a minute is a mistake, not a use
DEFAULT_MAX_BODY = 1 << 20
_REASONS = {400: "bad_request", 401: "unauthorized", 403: "not_public", 404: "not_found", 405: "bad_method",
            413: "too_large", 415: "not_json", 422: "invalid_rows"}


@dataclass
class Settings:
    token: str | None = None  # None: no authentication
    max_body: int = DEFAULT_MAX_BODY


def build_app(host: Any, agents: dict, metrics: Metrics, settings: Settings | None = None,
              on_ready=None) -> Starlette:
    """`host`: a started-on-lifespan Host; `agents`: name -> AgentType; `on_ready()` runs once
    the host has started (the CLI prints its banner there)."""
    settings = settings or Settings()
    api = _Api(host, agents, metrics, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await host.start()
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await host.stop()

    routes = [
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/metrics", api.prometheus, methods=["GET"]),
        Route("/v1/agents", api.list_agents, methods=["GET"]),
        Route("/v1/agents/{agent}/{rest:path}", api.agent_post, methods=["POST"]),
        Route("/v1/agents/{agent}/{rest:path}", api.agent_get, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: api.http_error, BadRequest: api.bad_request,
                                        Exception: api.internal_error})
    app.add_middleware(_Auth, settings=settings, metrics=metrics)
    return app


def error(status: int, message: str, **detail: Any) -> JSONResponse:
    return JSONResponse({"error": message, "detail": detail}, status_code=status)


class _Auth:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware): with a token configured,
    every HTTP request carries `Authorization: Bearer <token>`, else 401."""

    def __init__(self, app, settings: Settings, metrics: Metrics):
        self.app, self.settings, self.metrics = app, settings, metrics

    async def __call__(self, scope, receive, send):
        token = self.settings.token
        if token is not None and scope["type"] == "http":
            header = None
            for k, v in scope["headers"]:
                if k == b"authorization":
                    header = v.decode("latin-1")
                    break
            if not authorized(header, token):
                self.metrics.refused("unauthorized")
                resp = error(401, "missing or wrong bearer token",
                             hint="send the header 'Authorization: Bearer <token>' (dfl serve --token-file)")
                resp.headers["WWW-Authenticate"] = 'Bearer realm="dfl"'
                await resp(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Api:
    def __init__(self, host, agents: dict, metrics: Metrics, settings: Settings):
        self.host, self.agents, self.metrics, self.settings = host, agents, metrics, settings

    # ------------------------------------------------------------ errors
    async def bad_request(self, request: Request, exc: BadRequest) -> Response:
        self.metrics.refused(_REASONS.get(exc.status, str(exc.status)))
        return error(exc.status, exc.message, **exc.detail)

    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        self.metrics.refused(_REASONS.get(exc.status_code, str(exc.status_code)))
        message = {404: f"no such route: {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, exc.detail)
        return error(exc.status_code, message)

    async def internal_error(self, request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error(500, f"internal error: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------ routes
    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", **_jsonable(self.host.status())})

    async def prometheus(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=self.metrics.content_type)

    async def list_agents(self, request: Request) -> Response:
        active = self.host.instances()
        out = {}
        for name in sorted(self.agents):
            at = self.agents[name]
            out[name] = {
                "channels": {ch: _schema_json(s) for ch, s in sorted(at.channels().items()) if ch in at.public},
                "relations": {r: _schema_json(s) for r, s in sorted(at.results().items())},
                "instances": sorted(active.get(name, [])),
            }
        return JSONResponse({"agents": out})

    async def agent_post(self, request: Request) -> Response:
        agent, key, channel = self._target(request)
        at = self.agents[agent]
        schema = at.channels().get(channel)
        if schema is None:
            raise BadRequest(404, f"agent {agent} has no channel {channel!r}", agent=agent, channel=channel,
                             channels=sorted(at.public))
        if channel not in at.public:
            raise BadRequest(403, f"{agent}.{channel} is not @public: it accepts messages from agents only",
                             agent=agent, channel=channel, channels=sorted(at.public))
        wait_ms = _wait(request)
        _check_json(request)
        body = parse_json(await self._body(request))
        reply_to = self.host.reply_address() if wait_ms is not None or needs_reply(body, schema) else None
        rows = rows_of(body, channel, schema, reply_to)
        try:
            await self.host.post(agent, key, channel, rows, reply_to=reply_to)
        except ValueError as e:  # the host's own refusal (runtime/agents/host.Refused); counted there
            return error(422, f"refused: {e}", agent=agent, channel=channel)
        if wait_ms is None:
            return JSONResponse({"accepted": len(rows)}, status_code=202)
        got = await self.host.replies(reply_to, wait_ms / 1000)
        if not got:
            return error(504, f"no reply within {wait_ms} ms (the {len(rows)} row(s) were accepted)",
                         accepted=len(rows), wait_ms=wait_ms)
        return JSONResponse({"replies": [{"channel": ch, "row": [to_json(v) for v in row]} for ch, row in got]})

    async def agent_get(self, request: Request) -> Response:
        agent, key, relation = self._target(request)
        at = self.agents[agent]
        schema = at.results().get(relation)
        if schema is None:
            raise BadRequest(404, f"agent {agent} has no table or output {relation!r}", agent=agent,
                             relation=relation, relations=sorted(at.results()))
        rows = self.host.read(agent, key, relation)
        return JSONResponse({"agent": agent, "key": key, "relation": relation, "columns": list(schema.names),
                             "rows": [[to_json(v) for v in r] for r in rows]})

    # ------------------------------------------------------------ parts
    def _target(self, request: Request) -> tuple[str, str, str]:
        """(agent, key, name) of /v1/agents/{agent}/{key}/{name}; the key may hold slashes
        (the name never does), so the path splits at its last slash."""
        agent = request.path_params["agent"]
        key, sep, name = request.path_params["rest"].rpartition("/")
        if agent not in self.agents:
            raise BadRequest(404, f"there is no agent {agent!r}", agent=agent, agents=sorted(self.agents))
        if not sep or not key or not name:
            raise BadRequest(404, f"expected /v1/agents/{agent}/<key>/<channel or relation>, got {request.url.path}")
        return agent, key, name

    async def _body(self, request: Request) -> bytes:
        """The body, refused past the size limit without reading it all (413)."""
        limit = self.settings.max_body
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BadRequest(413, f"the body is {declared} bytes, over the limit of {limit}", limit=limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadRequest(413, f"the body is over the limit of {limit} bytes", limit=limit)
            chunks.append(chunk)
        return b"".join(chunks)


def _check_json(request: Request) -> None:
    ctype = request.headers.get("content-type", "")
    media = ctype.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise BadRequest(415, f"the body must be JSON (Content-Type: application/json), got {ctype or 'none'!r}")


def _wait(request: Request) -> int | None:
    text = request.query_params.get("wait")
    if text is None:
        return None
    if not text.isdigit() or not 0 < int(text) <= MAX_WAIT_MS:
        raise BadRequest(400, f"?wait takes milliseconds, 1 to {MAX_WAIT_MS}, got {text!r}")
    return int(text)


def _schema_json(schema) -> dict:
    return {"columns": list(schema.names), "types": [str(t) for t in schema.types]}


def _jsonable(d: Any) -> Any:
    if isinstance(d, dict):
        return {str(k): _jsonable(v) for k, v in d.items()}
    if isinstance(d, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in d]
    if d is None or isinstance(d, (str, int, float, bool)):
        return d
    return str(d)
