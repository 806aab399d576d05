"""Fused filter/map chains (backends/cpu/fuse.py): the same results as node by node.

Fusion normally starts at a million rows; here every chain is fused (DFL_FUSE_MIN_ROWS=0)
and every targeted parity program and run-time error case runs again.
"""
from __future__ import annotations

import os
import sys

import pytest

import dfl
from dfl.backends.cpu import fuse, kernel_cache

sys.path.insert(0, os.path.dirname(__file__))
from test_parity import CASES, RUNTIME_ERRORS, Case, errors_on_both, run_both  # noqa: E402


@pytest.fixture(autouse=True)
def fuse_everything(monkeypatch, tmp_path):
    monkeypatch.setenv("DFL_FUSE_MIN_ROWS", "0")
    monkeypatch.setenv("DFL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_fused_parity(case: Case) -> None:
    run_both(case.src, case.expect, max_ticks=case.max_ticks, each_tick=case.each_tick, **case.rows)


@pytest.mark.parametrize("name,src,rows", RUNTIME_ERRORS, ids=[e[0] for e in RUNTIME_ERRORS])
def test_fused_runtime_errors(name: str, src: str, rows: dict) -> None:
    errors_on_both(src, "runtime", **rows)


def test_a_chain_is_found_and_its_kernel_file_written(tmp_path) -> None:
    src = ("input n(i: int, x: int)\noutput o(i: int, y: int)\n"
           "o(i, y) :- n(i, x), x > 2, y = x * 3 + i, y != 7.")
    prog = dfl.compile(src)
    chains = fuse.chains_of(prog.graph)
    assert chains and all(len(c.nodes) >= 2 for c in chains.values())
    res = prog.run(n=[(i, i % 5) for i in range(50)])
    assert res.stats.get("fused", 0) >= 1
    files = os.listdir(kernel_cache.cache_dir())
    assert any(f.startswith("k_") and f.endswith(".py") for f in files)
    assert res["o"] == prog.run(n=[(i, i % 5) for i in range(50)], target="interp")["o"]


def test_guarded_division_is_not_fused() -> None:
    from dfl.ir.expr import Col, Fn, Lit
    from dfl.ir.types import Type

    x = Col(0, Type.INT)
    div = Fn("floordiv", (Lit(10, Type.INT), x), Type.INT)
    guarded = Fn("if", (Fn("ne", (x, Lit(0, Type.INT)), Type.BOOL), div, Lit(0, Type.INT)), Type.INT)
    assert fuse.fusible(div) and not fuse.fusible(guarded)


def test_division_by_zero_in_a_fused_loop_names_the_values() -> None:
    with pytest.raises(dfl.DflError) as e:
        dfl.compile("input n(x: int)\noutput o(y: int)\no(y) :- n(x), x < 5, y = 7 // x.").run(n=[(3,), (0,)])
    assert "division by zero: 7 // 0" in str(e.value) and e.value.kind == "runtime"


def test_a_cached_kernel_loads_in_a_later_process(tmp_path) -> None:
    """numba files a cached kernel under its module's name and imports it on loading; a
    kernel whose module cannot be found was filed under '<dynamic>', and the second
    process to run it failed with "No module named '<dynamic>'" (an int `%` needs the
    kernel's environment)."""
    import subprocess

    code = ("import dfl, numpy as np\n"
            "p = dfl.compile('input a(x: int, y: int)\\noutput o(x: int)\\no(x) :- a(x, y), x % 7 = y % 7.\\n')\n"
            "x = np.arange(1000); print(len(p.run_columns(a=[x, x * 3])['o']['x']))\n")
    env = {**os.environ, "DFL_FUSE_MIN_ROWS": "0", "DFL_CACHE_DIR": str(tmp_path / "cache")}
    outs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True) for _ in range(2)]
    for r in outs:
        assert r.returncode == 0, r.stderr[-2000:]
    assert outs[0].stdout == outs[1].stdout
    assert list((tmp_path / "cache" / "kernels" / "__pycache__").glob("k_*.nbi"))  # it was cached
