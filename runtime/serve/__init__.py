"""`dfl serve` (docs/serve.md): the agents of a program hosted behind an HTTP API
(Starlette on Uvicorn), with bearer-token auth, TLS and Prometheus metrics."""
