"""Group-by count + sum over a fact table with a unique row id (so DFL's set semantics and
SQL's bag semantics agree)."""
import numpy as np

from .common import Cell, dfl_cell, duck, load_cols, parquet, save_cols

NAME = "groupby"

DFL_SRC = """
input fact(id: int, k: int, v: int)
output agg(k: int, c: int, s: int)
agg(k, count(), sum(v)) :- fact(_, k, v).
"""


def configs(quick):
    if quick:
        return [dict(label="200k rows / 2k keys", rows=200_000, keys=2_000)]
    return [dict(label="1M rows / 10k keys", rows=1_000_000, keys=10_000),
            dict(label="10M rows / 100k keys", rows=10_000_000, keys=100_000)]


def generate(cfg, dir, seed):
    rng = np.random.default_rng(seed)
    n = cfg["rows"]
    save_cols(dir, "fact", id=rng.permutation(n).astype(np.int64),
              k=rng.integers(0, cfg["keys"], n, dtype=np.int64),
              v=rng.integers(0, 1000, n, dtype=np.int64))


def dfl(cfg, dir):
    i, k, v = load_cols(dir, "fact", "id", "k", "v")
    return dfl_cell(DFL_SRC, {"fact": [i, k, v]}, "agg")


def duckdb(cfg, dir):
    con = duck({"fact": parquet(dir, "fact")})
    sql = "SELECT k, count(*) AS c, sum(v)::BIGINT AS s FROM fact GROUP BY k"
    return Cell(lambda: con.execute(sql).fetchnumpy(), lambda r: [r["k"], r["c"], r["s"]])


def polars(cfg, dir):
    import polars as pl

    df = pl.read_parquet(parquet(dir, "fact"))

    def run():
        return df.lazy().group_by("k").agg(pl.len().alias("c"), pl.col("v").sum().alias("s")).collect()

    return Cell(run, lambda r: [r["k"].to_numpy(), r["c"].to_numpy().astype(np.int64), r["s"].to_numpy()],
                notes=["lazy group_by"])


def numpy(cfg, dir):
    k, v = load_cols(dir, "fact", "k", "v")

    def run():
        c = np.bincount(k)
        s = np.bincount(k, weights=v)
        keys = np.flatnonzero(c)
        return keys, c[keys], s[keys].astype(np.int64)

    return Cell(run, lambda r: list(r), notes=["np.bincount (keys known dense, >= 0)"])


def numba(cfg, dir):
    from . import kernels

    k, v = load_cols(dir, "fact", "k", "v")
    return Cell(lambda: kernels.groupby(k, v), lambda r: list(r), has_jit=True,
                notes=["dense per-thread arrays, prange"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "polars": polars, "numpy": numpy, "numba": numba}
