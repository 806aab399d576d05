"""IR files as programs (ir/files.py): `dfl run`, `dfl explain`, `dfl ir` and `dfl compile` on
the optimized IR written as .dfir text and as .json give exactly what they give on the
.dfl program, for every example and every acceptance case that compiles; a mistake in an
IR file is a compile error at file:line:col with the line shown."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_examples import ACCEPTANCE, EXAMPLES, cases

# IR files hold one graph, so programs with agents (a graph per agent type) are left out:
# `dfl ir -o` refuses them (tests/agents/test_agent_cli.py)
CASES = [c for c in cases(EXAMPLES) + cases(ACCEPTANCE)
         if json.loads((c / "expect.json").read_text(encoding="utf-8")).get("exit", 0) == 0
         and "agent " not in (c / "prog.dfl").read_text(encoding="utf-8")]

REACH = """
@partition(dst)
input  edge(src: int, dst: int)
output path(src: int, dst: int)
@device(cuda)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""


def _ir_files(dfl_cli, prog: Path, tmp_path: Path) -> list[Path]:
    """prog's optimized IR written as .dfir and .json (what `dfl ir` prints)."""
    out = []
    for fmt, name in (("text", "prog.dfir"), ("json", "prog.json")):
        r = dfl_cli("ir", prog, "--format", fmt, "-o", tmp_path / name)
        assert r.returncode == 0, r.stderr
        out.append(tmp_path / name)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def _in_dir(case: Path, tmp_path: Path) -> Path:
    indir = case / "in"
    if not indir.is_dir():  # git does not keep an empty in/
        indir = tmp_path / "empty_in"
        indir.mkdir(exist_ok=True)
    return indir


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.parent.name}/{c.name}")
def test_run_on_ir_files_is_byte_for_byte_the_run_on_the_program(case: Path, tmp_path: Path, dfl_cli) -> None:
    prog = case / "prog.dfl"
    indir = _in_dir(case, tmp_path)
    want = dfl_cli("run", prog, "-I", indir, "-O", tmp_path / "out.dfl")
    assert want.returncode == 0, want.stderr
    for ir in _ir_files(dfl_cli, prog, tmp_path):
        got = dfl_cli("run", ir, "-I", indir, "-O", tmp_path / f"out{ir.suffix}")
        assert (got.returncode, got.stdout) == (want.returncode, want.stdout), got.stderr
        assert _files(tmp_path / f"out{ir.suffix}") == _files(tmp_path / "out.dfl"), ir.name
        # without -O: the tables printed to standard output
        printed = dfl_cli("run", ir, "-I", indir)
        assert printed.stdout == dfl_cli("run", prog, "-I", indir).stdout


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.parent.name}/{c.name}")
def test_explain_ir_and_compile_on_ir_files_match_the_program(case: Path, tmp_path: Path, dfl_cli) -> None:
    prog = case / "prog.dfl"
    commands = [("explain", "--workers", "3"), ("ir",), ("ir", "--format", "json"), ("ir", "--format", "dot"),
                ("ir", "--placed"), ("compile", "--emit", "opt"), ("compile", "--emit", "placed"),
                ("compile", "--emit", "plan")]
    for ir in _ir_files(dfl_cli, prog, tmp_path):
        for cmd in commands:
            want = dfl_cli(cmd[0], prog, *cmd[1:])
            got = dfl_cli(cmd[0], ir, *cmd[1:])
            assert got.returncode == want.returncode == 0, (cmd, got.stderr, want.stderr)
            if cmd[0] == "explain":  # its first line names the file it was given
                assert got.stdout.startswith(f"{ir}: ") and want.stdout.startswith(f"{prog}: ")
                got.stdout, want.stdout = (r.stdout.split(": ", 1)[1] for r in (got, want))
            assert got.stdout == want.stdout, (ir.name, cmd)


def test_annotations_travel_through_ir_files(write, tmp_path: Path, dfl_cli) -> None:
    prog = write("reach.dfl", REACH)
    dfir, js = _ir_files(dfl_cli, prog, tmp_path)
    text = dfir.read_text(encoding="utf-8")
    assert "relation edge(src: int, dst: int) kinds=[input] @partition(dst)" in text
    assert "@device(cuda)" in text
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["version"] == 2
    assert {"name": "partition", "args": [[None, "dst"]]} in doc["relations"][0]["annotations"]
    for p in (prog, dfir, js):
        r = dfl_cli("explain", p, "--workers", "2")
        assert "@partition(dst) on edge" in r.stdout, p
        assert "@device(cuda) asked, but cuda is not available here" in r.stdout, p


def test_an_input_the_program_derives_may_lack_its_file_in_an_ir_file_too(write, tmp_path, dfl_cli) -> None:
    prog = write("p.dfl", "input e(a: int)\noutput o(a: int)\ne(1).\no(x) :- e(x).\n")
    for p in [prog, *_ir_files(dfl_cli, prog, tmp_path)]:
        r = dfl_cli("run", p, "-O", tmp_path / f"out{p.suffix}")
        assert r.returncode == 0, (p, r.stderr)
        assert (tmp_path / f"out{p.suffix}" / "o.csv").read_text() == "a\n1\n"


def test_a_syntax_error_in_an_ir_file_points_at_its_line(write, dfl_cli) -> None:
    bad = write("bad.dfir", "dfl-ir 1\nrelation e(a: int) kinds=[input]\nn1 = source() {rel=\"e\" : (a: int)\n")
    r = dfl_cli("run", bad)
    assert r.returncode == 1
    assert f"{bad}:3:" in r.stderr and "malformed IR text" in r.stderr
    assert "n1 = source()" in r.stderr and "^" in r.stderr  # the line and a caret
    assert "Traceback" not in r.stderr


def test_a_broken_invariant_points_at_the_node_that_breaks_it(write, tmp_path, dfl_cli) -> None:
    prog = write("reach.dfl", REACH)
    dfir, js = _ir_files(dfl_cli, prog, tmp_path)
    lines = dfir.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("n") and " = sink(" in line)
    lines[at] = lines[at].replace("sink(", "sink(n999, ", 1)
    broken = write("broken.dfir", "\n".join(lines) + "\n")
    r = dfl_cli("ir", broken)
    assert r.returncode == 1
    assert f"{broken}:{at + 1}:1: error: invalid IR:" in r.stderr and "n999" in r.stderr
    doc = json.loads(js.read_text(encoding="utf-8"))
    doc["relations"][0]["annotations"] = [{"name": "partition", "args": [[None, "nope"]]}]
    bad = write("bad.json", json.dumps(doc, indent=1))
    r = dfl_cli("explain", bad)
    assert r.returncode == 1 and "@partition(nope) takes one column of edge" in r.stderr
    assert f"{bad}:" in r.stderr


def test_malformed_json_is_a_compile_error_at_its_position(write, dfl_cli) -> None:
    bad = write("bad.json", '{"format": "dfl-ir",\n "version": 2,\n "nodes": [}\n')
    r = dfl_cli("run", bad)
    assert r.returncode == 1 and f"{bad}:3:" in r.stderr and "malformed IR JSON" in r.stderr
    r = dfl_cli("run", write("v9.json", '{"format": "dfl-ir", "version": 9, "nodes": []}'))
    assert r.returncode == 1 and "unsupported dfl-ir JSON version 9" in r.stderr


def test_what_needs_the_source_says_so_for_an_ir_file(write, tmp_path, dfl_cli) -> None:
    prog = write("reach.dfl", REACH)
    dfir, _ = _ir_files(dfl_cli, prog, tmp_path)
    for cmd in (("compile", dfir, "--emit", "ast"), ("compile", dfir, "--emit", "ir"), ("ir", dfir, "--unoptimized"),
                ("check", dfir)):
        r = dfl_cli(*cmd)
        assert r.returncode == 2 and "needs a .dfl program" in r.stderr and "is an IR file" in r.stderr, cmd
    assert dfl_cli("check", dfir, "--calm").returncode == 0


def test_a_missing_ir_file_is_a_usage_error(tmp_path, dfl_cli) -> None:
    r = dfl_cli("run", tmp_path / "nope.dfir")
    assert r.returncode == 2 and "no such IR file" in r.stderr


def test_an_ir_file_runs_on_the_pool_within_its_replicas(write, tmp_path: Path, dfl_cli) -> None:
    prog = write("rep.dfl", "@replicas(min = 0, max = 3)\n@slo(p99_ms = 200)\ninput e(a: int, b: int)\n"
                            "output c(a: int, n: int)\nc(a, count()) :- e(a, b).\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "e.csv").write_text("a,b\n1,2\n1,3\n2,2\n")
    for p in _ir_files(dfl_cli, prog, tmp_path):
        out = tmp_path / f"out{p.suffix}"
        r = dfl_cli("run", p, "-I", tmp_path / "in", "-O", out, "--autoscale", "--stats-json", tmp_path / "s.json")
        assert r.returncode == 0, r.stderr
        assert json.loads((tmp_path / "s.json").read_text())["partitions"] == 3  # @replicas max, from the IR
        assert (out / "c.csv").read_text() == "a,n\n1,2\n2,1\n"
        r = dfl_cli("run", p, "-I", tmp_path / "in", "-O", tmp_path / "w2", "--workers", "2")
        assert r.returncode == 0 and (tmp_path / "w2" / "c.csv").read_text() == "a,n\n1,2\n2,1\n", r.stderr
