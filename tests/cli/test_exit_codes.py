"""Exit statuses are only §7's (0, 1, 2, 3): internal errors and --stats-json included."""
from __future__ import annotations

import os

import pytest

from dfl.api import Program

PROG = "input e(a: int, b: int)\noutput p(a: int, b: int)\np(x, y) :- e(x, y).\n"


@pytest.fixture
def prog(write):
    write("in/e.csv", "a,b\n1,2\n")
    return write("p.dfl", PROG)


def _boom(*args, **kwargs):
    raise RuntimeError("simulated bug")


def test_internal_error_during_run_is_a_runtime_error(dfl_cli, prog, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(Program, "run_with", _boom)
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--target", "interp")
    assert r.returncode == 3
    assert "internal error: RuntimeError: simulated bug" in r.stderr and "please report" in r.stderr


@pytest.mark.parametrize("command", [["check"], ["compile", "--emit", "ir"], ["ir"]])
def test_internal_error_while_compiling_is_a_compile_error(dfl_cli, prog, monkeypatch, command) -> None:
    monkeypatch.setattr("dfl.commands._load", _boom)
    r = dfl_cli(command[0], prog, *command[1:])
    assert r.returncode == 1
    assert "internal error" in r.stderr and "please report" in r.stderr


def _no_run(*args, **kwargs):
    raise AssertionError("the run started before --stats-json was checked")


def test_stats_json_naming_a_folder_is_a_usage_error_before_the_run(dfl_cli, prog, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(Program, "run_with", _no_run)
    (tmp_path / "stats").mkdir()
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--workers", "2", "--stats-json", tmp_path / "stats")
    assert r.returncode == 2, r.stderr
    assert "usage error: --stats-json" in r.stderr and "is a folder" in r.stderr


def test_stats_json_in_a_missing_folder_is_a_usage_error_before_the_run(dfl_cli, prog, tmp_path,
                                                                        monkeypatch) -> None:
    monkeypatch.setattr(Program, "run_with", _no_run)
    target = tmp_path / "nowhere" / "s.json"
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--workers", "2", "--stats-json", target)
    assert r.returncode == 2, r.stderr
    assert "cannot write it" in r.stderr
    assert not (tmp_path / "nowhere").exists()


def test_stats_json_check_leaves_no_file_when_the_run_fails(dfl_cli, prog, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(Program, "run_with", _boom)
    target = tmp_path / "s.json"
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--workers", "2", "--stats-json", target,
                "--target", "cpu")
    assert r.returncode == 3
    assert not os.path.exists(target)


def test_output_under_a_file_is_an_output_error_exit_2(dfl_cli, prog, tmp_path) -> None:
    (tmp_path / "file").write_text("not a folder")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "file" / "out", "--target", "interp")
    assert r.returncode == 2
    assert r.stderr.startswith("output error: cannot write output"), r.stderr
    assert "input error" not in r.stderr


def test_compile_output_to_a_folder_is_an_output_error(dfl_cli, prog, tmp_path) -> None:
    r = dfl_cli("compile", prog, "--emit", "ir", "-o", tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith(f"output error: cannot write output {tmp_path}"), r.stderr
