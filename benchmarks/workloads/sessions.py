"""Per-user sessions by a 30-minute gap: a correlated body aggregate over events,
`p = max t : { event(u, t), t < ts }` (the previous event of the same user)."""
import numpy as np

from .common import Cell, load_cols
from .relations import dfl_program_cell, duckdb_query_cell, save_relations

NAME = "sessions"
OUT = "session"
SCHEMA = {"event": ("u", "ts")}
GAP = 1800

DFL_SRC = f"""
input event(u: int, ts: int)
output session(u: int, start: int)
session(u, ts) :- event(u, ts), p = max t : {{ event(u, t), t < ts }}, ts - p > {GAP}.
session(u, ts) :- event(u, ts), m = min t : event(u, t), ts = m.
"""


def configs(quick):
    if quick:
        return [dict(label="5k lines / 20 users", lines=5_000, users=20)]
    return [dict(label="200k lines / 100 users", lines=200_000, users=100)]


def relations(cfg, seed):
    rng = np.random.default_rng(seed)
    n = cfg["lines"]
    u = rng.integers(0, cfg["users"], n, dtype=np.int64)
    # 20 bursts per user 2 hours apart, lines within a burst seconds apart (so ~20 sessions a user)
    ts = rng.integers(0, 20, n, dtype=np.int64) * 7200 + rng.integers(0, 1500, n, dtype=np.int64)
    return {"event": {"u": u, "ts": ts}}


def generate(cfg, dir, seed):
    save_relations(dir, relations(cfg, seed))


def sql(src):
    return f"""SELECT u, ts AS start FROM (
                 SELECT u, ts, lag(ts) OVER (PARTITION BY u ORDER BY ts) AS p
                 FROM (SELECT DISTINCT u, ts FROM {src['event']}))
               WHERE p IS NULL OR ts - p > {GAP}"""


def dfl(cfg, dir):
    return dfl_program_cell(DFL_SRC, SCHEMA, dir, OUT)


def duckdb(cfg, dir):
    return duckdb_query_cell(sql, SCHEMA, dir, ("u", "start"), "window function lag() over distinct events")


def python(cfg, dir):
    u, ts = load_cols(dir, "event", "u", "ts")
    rows = list(zip(u.tolist(), ts.tolist()))

    def run():
        out, prev = [], None
        for e in sorted(set(rows)):
            if prev is None or e[0] != prev[0] or e[1] - prev[1] > GAP:
                out.append(e)
            prev = e
        return out

    def columns(r):
        return [np.array([x for x, _ in r], dtype=np.int64), np.array([t for _, t in r], dtype=np.int64)]

    return Cell(run, columns, notes=["sorted(set(rows)) and one scan"])


def numba(cfg, dir):
    from . import recursion_kernels

    u, ts = load_cols(dir, "event", "u", "ts")
    return Cell(lambda: recursion_kernels.sessions(u, ts, GAP), lambda r: list(r), has_jit=True,
                notes=["argsort by (user, time) + one scan"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "python": python, "numba": numba}
