"""Join + filter + group-by: a fact table (unique row id, a foreign key, a value) joined
with a dimension table (unique key, a category, a weight), filtered on both sides,
counted and summed per category."""
import numpy as np

from .common import Cell, dfl_cell, duck, load_cols, parquet, save_cols

NAME = "join"
VMIN, WMAX, CATS = 300, 70, 1000

DFL_SRC = f"""
input fact(id: int, d: int, v: int)
input dim(d: int, c: int, w: int)
output agg(c: int, n: int, s: int)
agg(c, count(), sum(v)) :- fact(_, d, v), dim(d, c, w), v >= {VMIN}, w < {WMAX}.
"""


def configs(quick):
    if quick:
        return [dict(label="200k fact / 10k dim", fact=200_000, dim=10_000)]
    return [dict(label="5M fact / 100k dim", fact=5_000_000, dim=100_000)]


def generate(cfg, dir, seed):
    rng = np.random.default_rng(seed)
    nd, nf = cfg["dim"], cfg["fact"]
    keys = rng.choice(10 * nd, nd, replace=False).astype(np.int64)  # sparse-ish unique keys
    save_cols(dir, "dim", d=keys, c=rng.integers(0, CATS, nd, dtype=np.int64),
              w=rng.integers(0, 100, nd, dtype=np.int64))
    save_cols(dir, "fact", id=np.arange(nf, dtype=np.int64), d=keys[rng.integers(0, nd, nf)],
              v=rng.integers(0, 1000, nf, dtype=np.int64))


def dfl(cfg, dir):
    f = load_cols(dir, "fact", "id", "d", "v")
    d = load_cols(dir, "dim", "d", "c", "w")
    return dfl_cell(DFL_SRC, {"fact": f, "dim": d}, "agg")


def duckdb(cfg, dir):
    con = duck({"fact": parquet(dir, "fact"), "dim": parquet(dir, "dim")})
    sql = f"""SELECT dim.c AS c, count(*) AS n, sum(fact.v)::BIGINT AS s
              FROM fact JOIN dim ON fact.d = dim.d
              WHERE fact.v >= {VMIN} AND dim.w < {WMAX} GROUP BY dim.c"""
    return Cell(lambda: con.execute(sql).fetchnumpy(), lambda r: [r["c"], r["n"], r["s"]])


def polars(cfg, dir):
    import polars as pl

    fact = pl.read_parquet(parquet(dir, "fact"))
    dim = pl.read_parquet(parquet(dir, "dim"))

    def run():
        return (fact.lazy().filter(pl.col("v") >= VMIN)
                .join(dim.lazy().filter(pl.col("w") < WMAX), on="d")
                .group_by("c").agg(pl.len().alias("n"), pl.col("v").sum().alias("s")).collect())

    return Cell(run, lambda r: [r["c"].to_numpy(), r["n"].to_numpy().astype(np.int64), r["s"].to_numpy()],
                notes=["lazy"])


def numpy(cfg, dir):
    fd, fv = load_cols(dir, "fact", "d", "v")
    dd, dc, dw = load_cols(dir, "dim", "d", "c", "w")

    def run():
        keep = dw < WMAX
        kd, kc = dd[keep], dc[keep]
        order = np.argsort(kd)
        kd, kc = kd[order], kc[order]
        m = fv >= VMIN
        d, v = fd[m], fv[m]
        pos = np.minimum(np.searchsorted(kd, d), len(kd) - 1)
        hit = kd[pos] == d
        c, v = kc[pos[hit]], v[hit]
        n = np.bincount(c, minlength=CATS)
        s = np.bincount(c, weights=v, minlength=CATS)
        cats = np.flatnonzero(n)
        return cats, n[cats], s[cats].astype(np.int64)

    return Cell(run, lambda r: list(r), notes=["sort + searchsorted join, bincount"])


def numba(cfg, dir):
    from . import kernels

    fd, fv = load_cols(dir, "fact", "d", "v")
    dd, dc, dw = load_cols(dir, "dim", "d", "c", "w")
    return Cell(lambda: kernels.join(fd, fv, dd, dc, dw, VMIN, WMAX), lambda r: list(r), has_jit=True,
                notes=["dense join index over the key range, per-thread arrays"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "polars": polars, "numpy": numpy, "numba": numba}
