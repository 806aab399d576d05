"""An internal error of the cpu target: visible fallback when no target was asked for."""
from __future__ import annotations

import pytest

from dfl.backends.cpu import plan as cpu_plan
from dfl.cli import main
from dfl.compiler import engine_choice

PROG = "input e(a: int, b: int)\noutput p(a: int, b: int)\np(x, y) :- e(x, y).\n"


@pytest.fixture
def broken_cpu(monkeypatch):
    def boom(self, inputs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(cpu_plan.CpuPlan, "_run", boom)
    # without --target, inputs this small run on the interpreter: make them count as large
    monkeypatch.setattr(engine_choice, "INTERP_MAX_BYTES", 0)


def _files(tmp_path):
    prog = tmp_path / "p.dfl"
    prog.write_text(PROG)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "e.csv").write_text("a,b\n1,2\n")
    return prog


def test_default_target_falls_back_visibly(broken_cpu, tmp_path, capsys):
    prog = _files(tmp_path)
    code = main(["run", str(prog), "-I", str(tmp_path / "in"), "-O", str(tmp_path / "out")])
    assert code == 0
    assert "simulated bug" in capsys.readouterr().err
    assert (tmp_path / "out" / "p.csv").read_text() == "a,b\n1,2\n"


def test_explicit_cpu_target_fails(broken_cpu, tmp_path, capsys):
    prog = _files(tmp_path)
    code = main(["run", str(prog), "-I", str(tmp_path / "in"), "-O", str(tmp_path / "out"), "--target", "cpu"])
    assert code == 3  # an internal error during `run` is a run-time error: §7 has no other code
    err = capsys.readouterr().err
    assert "internal error" in err and "please report" in err
    assert not (tmp_path / "out").exists()
