"""Every folder under examples/ and every case of the public acceptance suite (../shared/acceptance),
run through `dfl run PROG -I in -O OUT` and compared with its expectations.

A case folder holds prog.dfl, in/, out/ (the expected CSVs) and expect.json
(`{"exit": 0}` or `{"exit": N, "stderr_contains": [...]}`).

- examples/: the output files must be exactly the expected ones, byte for byte.
- acceptance: as the suite's runner compares (same files, same header, same rows in order, cells equal,
  floats within 1e-9 relative or 1e-12 absolute), and stderr holds each expected substring
  (case-insensitive).

The CLI runs in-process (`dfl.cli.main`) for speed; set DFL_TEST_SUBPROCESS=1 to run `python -m dfl`.
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
ACCEPTANCE = REPO.parent / "shared" / "acceptance"
ACCEPTANCE_AGENTS = REPO.parent / "shared" / "acceptance-agents"
REL_TOL = 1e-9
ABS_TOL = 1e-12


def cases(suite: Path) -> list[Path]:
    if not suite.is_dir():
        return []
    return sorted(d for d in suite.iterdir() if (d / "prog.dfl").is_file())


def expected_files(case: Path) -> list[str]:
    out = case / "out"
    return sorted(f.name for f in out.iterdir() if not f.name.startswith(".")) if out.is_dir() else []


# `dfl run` without --target picks the engine by input size (the interpreter for every case
# here); `--target cpu` runs the compiled engine on the same cases, which must agree
TARGETS = pytest.mark.parametrize("target", [None, "cpu"], ids=["default", "cpu"])


def run_case(case: Path, tmp_path: Path, dfl_cli, dfl_proc, target: str | None = None):
    indir = case / "in"
    if not indir.is_dir():  # git does not keep an empty in/
        indir = tmp_path / "empty_in"
        indir.mkdir()
    outdir = tmp_path / "out"
    runner = dfl_proc if os.environ.get("DFL_TEST_SUBPROCESS") == "1" else dfl_cli
    expect = json.loads((case / "expect.json").read_text(encoding="utf-8"))
    # extra arguments, as the suite's runner takes them (`{in}`: the case's input folder)
    extra = [a.replace("{in}", str(indir)) for a in expect.get("args", [])]
    chosen = ["--target", target] if target else []
    result = runner("run", case / "prog.dfl", "-I", indir, "-O", outdir, *extra, *chosen)
    return result, expect, outdir


def actual_files(outdir: Path) -> list[str]:
    return sorted(p.name for p in outdir.iterdir()) if outdir.is_dir() else []


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def as_float(cell: str):
    try:
        return float(cell)
    except ValueError:
        return None


def cells_equal(a: str, b: str) -> bool:
    if a == b:
        return True
    fa, fb = as_float(a), as_float(b)
    if fa is None or fb is None:
        return False
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    diff = abs(fa - fb)
    return diff <= ABS_TOL or diff <= REL_TOL * max(abs(fa), abs(fb))


def check_exit_and_stderr(result, expect: dict) -> None:
    want = expect.get("exit", 0)
    assert result.returncode == want, f"exit {result.returncode}, expected {want}; stderr:\n{result.stderr}"
    low = result.stderr.lower()
    for s in expect.get("stderr_contains", []):
        assert s.lower() in low, f"stderr lacks {s!r}:\n{result.stderr}"
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- examples/


@TARGETS
@pytest.mark.parametrize("case", cases(EXAMPLES), ids=lambda c: c.name)
def test_example(case: Path, tmp_path: Path, dfl_cli, dfl_proc, target: str | None) -> None:
    result, expect, outdir = run_case(case, tmp_path, dfl_cli, dfl_proc, target)
    check_exit_and_stderr(result, expect)
    assert actual_files(outdir) == expected_files(case)
    for name in expected_files(case):
        want = (case / "out" / name).read_bytes()
        got = (outdir / name).read_bytes()
        assert got == want, f"{name} differs:\n--- expected\n{want.decode()}\n--- got\n{got.decode()}"


def test_examples_exist() -> None:
    found = cases(EXAMPLES)
    assert len(found) >= 10
    for case in found:
        assert (case / "expect.json").is_file(), case
        assert json.loads((case / "expect.json").read_text()).get("exit", 0) == 0 or not expected_files(case)


def test_examples_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for case in cases(EXAMPLES):
        assert f"[{case.name}]" in readme, f"{case.name} is not listed in examples/README.md"


# ---------------------------------------------------------------- the acceptance suite


@pytest.mark.skipif(not ACCEPTANCE.is_dir(), reason="../shared/acceptance is not here")
@TARGETS
@pytest.mark.parametrize("case", cases(ACCEPTANCE) + cases(ACCEPTANCE_AGENTS), ids=lambda c: c.name)
def test_acceptance(case: Path, tmp_path: Path, dfl_cli, dfl_proc, target: str | None) -> None:
    result, expect, outdir = run_case(case, tmp_path, dfl_cli, dfl_proc, target)
    check_exit_and_stderr(result, expect)
    expected, actual = expected_files(case), actual_files(outdir)
    assert actual == expected, f"output files {actual}, expected {expected}"
    for name in expected:
        exp_rows = read_csv(case / "out" / name)
        act_rows = read_csv(outdir / name)
        assert act_rows, f"{name}: empty file (no header)"
        assert act_rows[0] == exp_rows[0], f"{name}: header {act_rows[0]} != expected {exp_rows[0]}"
        assert len(act_rows) == len(exp_rows), f"{name}: {len(act_rows) - 1} rows, expected {len(exp_rows) - 1}"
        for i, (e, a) in enumerate(zip(exp_rows[1:], act_rows[1:]), start=1):
            assert len(e) == len(a) and all(cells_equal(x, y) for x, y in zip(e, a)), \
                f"{name}: row {i} is {a}, expected {e}"


def test_cell_comparison_is_the_runners() -> None:
    assert cells_equal("1.0", "1.0000000000001")
    assert cells_equal("0", "1e-13")
    assert not cells_equal("1.0", "1.001")
    assert not cells_equal("a", "b")
    assert cells_equal("nan", "nan") and not cells_equal("inf", "-inf")
