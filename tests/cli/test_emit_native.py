"""`dfl compile --emit plan|llvm`: the cpu target's physical plan and native code."""
from __future__ import annotations

from dfl.cli import main

TC = "input e(a: int, b: int)\noutput p(a: int, b: int)\np(x, y) :- e(x, y).\np(x, z) :- p(x, y), e(y, z).\n"


def test_emit_plan_names_the_chosen_data_structures(tmp_path, capsys):
    prog = tmp_path / "tc.dfl"
    prog.write_text(TC)
    assert main(["compile", str(prog), "--emit", "plan"]) == 0
    out = capsys.readouterr().out
    assert "linear closure of p over e" in out and "BFS" in out and "closure_bfs" in out


def test_emit_llvm_prints_the_kernels_ir(tmp_path, capsys):
    prog = tmp_path / "f.dfl"
    prog.write_text("input n(i: int, x: int)\noutput o(i: int, y: int)\no(i, y) :- n(i, x), x > 2, y = x * 3.\n")
    assert main(["compile", str(prog), "--emit", "llvm"]) == 0
    out = capsys.readouterr().out
    assert "; ---- kernel factorize" in out and "define " in out
    assert "; ---- fused chain" in out
