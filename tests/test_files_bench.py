"""benchmarks/files.py (whole runs from files, issue 13) in --quick mode: every system runs,
the outputs agree, and the agreement check itself catches a wrong result."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "files.py"


def _bench():
    spec = importlib.util.spec_from_file_location("files_bench", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("files_bench", mod)  # its dataclasses look their module up there
    spec.loader.exec_module(sys.modules["files_bench"])
    return sys.modules["files_bench"]


def test_quick_run_csv_agrees(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("polars")
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--repeat", "1", "--formats", "csv",
                        "--json", str(out), "--data-dir", str(tmp_path / "data")],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    cells = json.loads(out.read_text())["cells"]
    assert {(c["workload"], c["system"]) for c in cells} == \
        {(w, s) for w in ("tc", "groupby", "join", "startup") for s in ("dfl", "duckdb", "polars")}
    assert all(c["status"] == "ok" and len(c["times_s"]) == 1 and c["rss_mib"] > 5 for c in cells), cells
    for c in cells:
        if c["workload"] != "startup":
            assert c["agree"] == "yes" and c["rows"] > 0, c
    assert "Whole runs from files" in r.stdout
    assert (tmp_path / "data").is_dir()  # a given --data-dir is kept for the next run


def test_data_is_deterministic_and_of_the_asked_size() -> None:
    b = _bench()
    a1 = b.relations("join", {"fact": 100, "dim": 10, "groups": 3}, seed=7)
    a2 = b.relations("join", {"fact": 100, "dim": 10, "groups": 3}, seed=7)
    assert all((a1[r][c] == a2[r][c]).all() for r in a1 for c in a1[r])
    assert len(a1["fact"]["k"]) == 100 and len(a1["dim"]["k"]) == 10
    tc = b.relations("tc", {"nodes": 50, "edges": 120}, seed=1)["edge"]
    assert len({(a, c) for a, c in zip(tc["a"], tc["b"])}) == 120  # distinct edges


def test_agreement_catches_a_wrong_row(tmp_path: Path) -> None:
    b = _bench()
    ok = tmp_path / "a.csv"
    ok.write_text("a,b\n1,2\n3,4\n")
    same = tmp_path / "b.csv"
    same.write_text("a,b\n3,4\n1,2\n")  # another order: the same rows
    wrong = tmp_path / "c.csv"
    wrong.write_text("a,b\n1,2\n3,5\n")
    cell = lambda s, p: b.Cell("tc", "csv", s, output=str(p))  # noqa: E731
    assert b.agreement([cell("dfl", ok), cell("duckdb", same)]) == ("yes", 2)
    verdict, _ = b.agreement([cell("dfl", ok), cell("duckdb", same), cell("polars", wrong)])
    assert verdict.startswith("NO: polars")
