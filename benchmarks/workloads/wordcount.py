"""Word count over a text file: for each word, the number of lines it occurs in (DFL
counts distinct (line, word) pairs, and so do the peers here)."""
import os

import numpy as np

from .common import Cell, dfl_cell, duck, parquet

NAME = "wordcount"

DFL_SRC = """
input line(id: int, text: str)
output wc(w: str, n: int)
wc(w, count()) :- line(i, t), w in split(t, " ").
"""


def configs(quick):
    if quick:
        return [dict(label="20k lines / 5k-word vocabulary", lines=20_000, vocab=5_000)]
    return [dict(label="1M lines / 50k-word vocabulary", lines=1_000_000, vocab=50_000)]


def generate(cfg, dir, seed):
    import polars as pl

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = set()
    while len(vocab) < cfg["vocab"]:
        ln = int(rng.integers(2, 11))
        vocab.add("".join(rng.choice(letters, ln)))
    vocab = sorted(vocab)
    rng.shuffle(vocab)
    p = 1.0 / np.arange(1, len(vocab) + 1)  # Zipf-like word frequencies
    p /= p.sum()
    nl = cfg["lines"]
    lens = rng.integers(1, 21, nl)  # 1..20 words a line, single spaces, no empty words
    words = rng.choice(len(vocab), int(lens.sum()), p=p)
    ends = np.cumsum(lens)
    va = np.array(vocab, dtype=object)
    lines = [" ".join(va[words[e - n:e]]) for e, n in zip(ends.tolist(), lens.tolist())]
    with open(os.path.join(dir, "text.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    pl.DataFrame({"id": np.arange(nl, dtype=np.int64), "text": lines}).write_parquet(parquet(dir, "line"))


def _lines(dir):
    with open(os.path.join(dir, "text.txt")) as f:
        return f.read().split("\n")[:-1]


def dfl(cfg, dir):
    lines = _lines(dir)
    return dfl_cell(DFL_SRC, {"line": [np.arange(len(lines), dtype=np.int64), lines]}, "wc",
                    notes=["lines given as a list of str"])


def duckdb(cfg, dir):
    con = duck({"line": parquet(dir, "line")})
    sql = """SELECT w, count(*) AS n FROM (
               SELECT DISTINCT id, unnest(string_split(text, ' ')) AS w FROM line) GROUP BY w"""
    return Cell(lambda: con.execute(sql).fetchnumpy(), lambda r: [list(r["w"]), r["n"]])


def polars(cfg, dir):
    import polars as pl

    df = pl.read_parquet(parquet(dir, "line"))

    def run():
        return (df.lazy().select("id", pl.col("text").str.split(" ").alias("w")).explode("w")
                .unique().group_by("w").agg(pl.len().alias("n")).collect())

    return Cell(run, lambda r: [r["w"].to_list(), r["n"].to_numpy().astype(np.int64)], notes=["lazy"])


def python(cfg, dir):
    from collections import Counter

    lines = _lines(dir)

    def run():
        c = Counter()
        for t in lines:
            c.update(set(t.split(" ")))
        return c

    return Cell(run, lambda r: [list(r.keys()), np.fromiter(r.values(), np.int64, len(r))],
                notes=["collections.Counter of set(line.split(' '))"])


def numba(cfg, dir):
    from . import kernels

    buf = np.fromfile(os.path.join(dir, "text.txt"), dtype=np.uint8)
    return Cell(lambda: kernels.wordcount(buf), lambda r: [r[0], r[1]], has_jit=True,
                notes=["one pass over the file's bytes, open-addressing table, 1 thread"])


SYSTEMS = {"dfl": dfl, "duckdb": duckdb, "polars": polars, "python": python, "numba": numba}
