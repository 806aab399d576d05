"""Group-by over dense integer keys uses the packed key as the group id and drops the
empty ids of the range at the end; every aggregate must ignore those empty groups.
Each case runs on both targets (tests/backends/test_parity.py's run_both)."""
from __future__ import annotations

import numpy as np
import pytest

import dfl
from tests.backends.test_parity import run_both

AGGS = """
input r(k: int, j: bool, s: str, x: int, f: float)
output a(k: int, j: bool, n: int, lo: str, hi: str, m: float, mf: float, sx: int, sf: float, mn: int, mx: float)
a(k, j, count(), min(s), max(s), mean(x), mean(f), sum(x), sum(f), min(x), max(f)) :- r(k, j, s, x, f).
"""


@pytest.mark.parametrize("seed", range(4))
def test_sparse_keys_in_a_dense_range_agree_with_the_interpreter(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    keys = rng.choice(np.arange(-500, 500, 7), n)  # a range with many empty ids
    rows = [(int(k), bool(rng.integers(2)), f"w{rng.integers(40)}", int(rng.integers(-9, 9)),
             float(rng.normal())) for k in keys]
    run_both(AGGS, r=rows)


def test_the_dense_path_is_taken_and_gives_the_groups() -> None:
    src = """
input r(k: int, v: int)
output a(k: int, n: int, s: int)
a(k, count(), sum(v)) :- r(k, v).
"""
    rows = [(k * 3, v) for k in range(2000) for v in (1, 2)]  # span 6000 <= 2n + 4096
    res = dfl.compile(src).run(target="cpu", r=rows)
    assert sorted(res["a"]) == [(k * 3, 2, 3) for k in range(2000)]


def test_ints_beyond_the_packing_width_use_hashing() -> None:
    src = """
input r(a: int, b: int)
output c(a: int, n: int)
c(a, count()) :- r(a, b).
"""
    run_both(src, {"c": [(-(1 << 62), 2), ((1 << 62), 1)]},
             r=[(-(1 << 62), 1), (-(1 << 62), 2), ((1 << 62), 5)])
