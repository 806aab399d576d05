"""The general recursive workloads of issue 14 (benchmarks/workloads/{andersen,cc,sg,cspa,
sessions}.py) at tiny sizes: the generators are deterministic, DFL's cell and a peer's
agree by run.py's checksum, the hand-written kernels agree too, and the whole-run script
(benchmarks/recursion.py) runs and compares its outputs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

from workloads import RECURSIVE  # noqa: E402
from workloads.common import checksum  # noqa: E402

# tiny sizes (a fraction of --quick's): seconds for the whole file
TINY = {"andersen": dict(label="t", vars=120), "cc": dict(label="t", nodes=300, edges=400),
        "sg": dict(label="t", edges=60, nodes=25), "cspa": dict(label="t", vars=150),
        "sessions": dict(label="t", lines=400, users=4)}
# the peer each is checked against (one that is installed with the test extras)
PEER = {"andersen": "duckdb", "cc": "scipy", "sg": "python", "cspa": "duckdb", "sessions": "python"}


def _result(mod, system: str, cfg: dict, d: str) -> tuple[int, str]:
    cell = mod.SYSTEMS[system](cfg, d)
    return checksum(cell.columns(cell.run()))


@pytest.mark.parametrize("name", sorted(RECURSIVE))
def test_dfl_agrees_with_a_peer_and_the_kernel(name: str, tmp_path: Path) -> None:
    mod = RECURSIVE[name]
    cfg = TINY[name]
    pytest.importorskip("polars")  # the generators write each relation's Parquet file with it
    if PEER[name] == "duckdb":
        pytest.importorskip("duckdb")
    mod.generate(cfg, str(tmp_path), seed=11)
    want = _result(mod, PEER[name], cfg, str(tmp_path))
    assert want[0] > 0, "the tiny data set derives nothing: the comparison would be empty"
    assert _result(mod, "dfl", cfg, str(tmp_path)) == want
    assert _result(mod, "numba", cfg, str(tmp_path)) == want


@pytest.mark.parametrize("name", sorted(RECURSIVE))
def test_generators_are_deterministic(name: str) -> None:
    mod = RECURSIVE[name]
    a, b, c = (mod.relations(TINY[name], seed) for seed in (3, 3, 4))
    assert a.keys() == b.keys() == set(mod.SCHEMA)
    for rel, cols in a.items():
        assert list(cols) == list(mod.SCHEMA[rel])
        assert all(np.array_equal(cols[k], b[rel][k]) for k in cols)
    assert any(not np.array_equal(a[r][k], c[r][k]) for r in a for k in a[r])  # the seed matters


def test_checksum_tells_a_wrong_component_label() -> None:
    """The agreement check itself: one wrong label is a different checksum."""
    xs, ls = np.array([1, 2, 3]), np.array([1, 1, 3])
    assert checksum([xs, ls]) == checksum([xs[::-1], ls[::-1]])
    assert checksum([xs, ls]) != checksum([xs, np.array([1, 1, 1])])


def test_whole_runs_quick(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, str(BENCH / "recursion.py"), "--quick", "--repeat", "1",
                        "--only", "cc,sessions", "--json", str(out)], capture_output=True, text=True, timeout=600,
                       cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    cells = json.loads(out.read_text())["cells"]
    want = {(w, s) for w in ("cc", "sessions") for s in ("dfl", "duckdb")}
    assert {(c["workload"], c["system"]) for c in cells} == want
    assert all(c["status"] == "ok" and c["agree"] == "yes" and c["rows"] > 0 and c["rss_mib"] > 5 for c in cells), cells
