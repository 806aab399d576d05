"""Start-up that fits the work (issue 13, item 6), seen from real `dfl` processes: what
`--version`, `check` and a small run import (`PYTHONPROFILEIMPORTTIME` lists every module
a process imports, on stderr), and that a large run still gets the compiled engine."""
from __future__ import annotations

import pytest

from dfl.compiler.engine_choice import INTERP_MAX_BYTES_RECURSIVE

TC = """
input  edge(a: int, b: int)
output path(a: int, b: int)
path(a, b) :- edge(a, b).
path(a, c) :- path(a, b), edge(b, c).
"""


def imported(stderr: str) -> set[str]:
    """The top-level packages a process imported, from its import-time report."""
    out = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            out.add(name.split(".")[0])
    return out


def run_timed(dfl_proc, *args):
    r = dfl_proc(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    mods = imported(r.stderr)
    assert "dfl" in mods, "no import-time report: the check would pass vacuously"
    return r, mods


def test_version_imports_no_numba_nor_pyarrow(dfl_proc) -> None:
    r, mods = run_timed(dfl_proc, "--version")
    assert r.returncode == 0 and r.stdout.startswith("dfl ")
    assert not mods & {"numba", "llvmlite", "pyarrow", "numpy"}, mods


def test_check_imports_no_numba_nor_pyarrow(dfl_proc, write) -> None:
    prog = write("tc.dfl", TC)
    r, mods = run_timed(dfl_proc, "check", prog)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout
    assert not mods & {"numba", "llvmlite", "pyarrow", "networkx"}, mods


def test_small_run_uses_the_interpreter_and_imports_no_numba(dfl_proc, write, tmp_path) -> None:
    prog = write("tc.dfl", TC)
    write("in/edge.csv", "a,b\n1,2\n2,3\n3,4\n")
    r, mods = run_timed(dfl_proc, "run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "path.csv").read_text() == "a,b\n1,2\n1,3\n1,4\n2,3\n2,4\n3,4\n"
    assert not mods & {"numba", "llvmlite", "networkx"}, mods


def test_large_run_loads_the_cpu_target(dfl_proc, write, tmp_path) -> None:
    # a chain 0 -> 1 -> ... -> n: just over the recursive limit, so cpu; the closure is n(n+1)/2 rows
    lines, n = ["a,b"], 0
    while sum(len(x) + 1 for x in lines) <= INTERP_MAX_BYTES_RECURSIVE:
        lines.append(f"{n},{n + 1}")
        n += 1
    prog = write("tc.dfl", TC)
    write("in/edge.csv", "\n".join(lines) + "\n")
    r, mods = run_timed(dfl_proc, "run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "numba" in mods
    rows = (tmp_path / "out" / "path.csv").read_text().splitlines()
    assert len(rows) == 1 + n * (n + 1) // 2


@pytest.mark.parametrize("target", ["cpu", "interp"])
def test_an_explicit_target_is_honoured_on_small_inputs(dfl_proc, write, tmp_path, target) -> None:
    prog = write("tc.dfl", TC)
    write("in/edge.csv", "a,b\n1,2\n2,3\n")
    r, mods = run_timed(dfl_proc, "run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out", "--target", target)
    assert r.returncode == 0, r.stderr
    assert ("numba" in mods) == (target == "cpu")
    assert (tmp_path / "out" / "path.csv").read_text() == "a,b\n1,2\n1,3\n2,3\n"


def test_emit_plan_says_which_engine_runs(dfl_cli, write, tmp_path) -> None:
    prog = write("tc.dfl", TC)
    write("in/edge.csv", "a,b\n1,2\n")
    small = dfl_cli("compile", "--emit", "plan", prog, "-I", tmp_path / "in")
    assert small.returncode == 0, small.err
    assert small.out.startswith("# engine: interp (inputs 8 B, at most 8 KiB for a recursive program")
    assert "n11 = fixpoint(" in small.out  # the IR the interpreter runs
    write("big/edge.csv", "a,b\n" + "".join(f"{i},{i + 1}\n" for i in range(2000)))
    big = dfl_cli("compile", "--emit", "plan", prog, "--in", f"edge={tmp_path / 'big' / 'edge.csv'}")
    assert big.returncode == 0, big.err
    first, second = big.out.splitlines()[:2]
    assert first.startswith("# engine: cpu (inputs ") and "over 8 KiB" in first
    assert second == "# dfl physical plan, target cpu"
    plain = dfl_cli("compile", "--emit", "plan", prog)  # without inputs: the cpu plan, as before
    assert plain.out.startswith("# dfl physical plan, target cpu")
