"""The `dfl` command end to end (LANGUAGE.md §7): exit codes, outputs, `check`, `compile --emit ast`.

A few tests run a real `python -m dfl` process (what a user sees: exit status, no traceback);
the rest call the CLI's `main` in-process, which is the same code and much faster.
"""
from __future__ import annotations

import csv
import io
import re

import pytest

from dfl.lang.parser import parse

REACH = """
input  edge(src: int, dst: int)
output path(src: int, dst: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""

UNDECLARED = """
input  edge(src: int, dst: int)
output path(src: int, dst: int)
path(x, y) :- edeg(x, y).
"""


# ---------------------------------------------------------------- exit codes, as a real process


def test_success_exit_0_and_sorted_output(dfl_proc, write, tmp_path) -> None:
    prog = write("prog.dfl", REACH)
    write("in/edge.csv", "src,dst\n10,2\n2,9\n1,10\n")
    r = dfl_proc("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert (tmp_path / "out" / "path.csv").read_text() == \
        "src,dst\n1,2\n1,9\n1,10\n2,9\n10,2\n10,9\n"


def test_compile_error_exit_1_without_traceback(dfl_proc, write) -> None:
    prog = write("prog.dfl", UNDECLARED)
    r = dfl_proc("run", prog)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"{prog}:3:15: error: relation 'edeg' is not declared" in r.stderr
    assert "^^^^" in r.stderr and "did you mean 'edge'" in r.stderr
    assert r.stdout == ""


def test_debug_shows_a_traceback(dfl_proc, write) -> None:
    prog = write("prog.dfl", UNDECLARED)
    r = dfl_proc("run", prog, "--debug")
    assert r.returncode == 1
    assert "Traceback" in r.stderr
    assert "relation 'edeg' is not declared" in r.stderr


def test_syntax_error_exit_1(dfl_proc, write) -> None:
    prog = write("prog.dfl", "input e(a: int)\noutput p(a: int)\np(x) :- e(x.\n")
    r = dfl_proc("check", prog)
    assert r.returncode == 1
    assert f"{prog}:3:" in r.stderr and "syntax error" in r.stderr
    assert "Traceback" not in r.stderr and "lark" not in r.stderr.lower()


def test_bad_input_exit_2(dfl_proc, write, tmp_path) -> None:
    prog = write("prog.dfl", REACH)
    bad = write("edge.csv", "src,dst\n1,x\n")
    r = dfl_proc("run", prog, "--in", f"edge={bad}", "-O", tmp_path / "out")
    assert r.returncode == 2
    assert f"{bad}:2:" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_runtime_error_exit_3(dfl_proc, write, tmp_path) -> None:
    prog = write("prog.dfl", "input e(a: int, b: int)\noutput q(c: int)\nq(c) :- e(a, b), c = a // b.\n")
    data = write("e.csv", "a,b\n7,0\n")
    r = dfl_proc("run", prog, "--in", f"e={data}", "-O", tmp_path / "out")
    assert r.returncode == 3
    assert "line 3" in r.stderr and "7 // 0" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_2(dfl_proc) -> None:
    r = dfl_proc("run")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = dfl_proc("frobnicate")
    assert r.returncode == 2
    r = dfl_proc()
    assert r.returncode == 2


def test_version(dfl_proc) -> None:
    r = dfl_proc("--version")
    assert r.returncode == 0 and r.stdout.startswith("dfl ")


# ---------------------------------------------------------------- the same, in-process


@pytest.mark.parametrize("src, code", [
    (REACH, 0),
    (UNDECLARED, 1),
    ("input edge(src: int, dst: int)\noutput p(a: int)\np(x) :- edge(x, _), !p(x).\n", 1),
    ("input edge(src: int, dst: int)\noutput p(a: int)\np(y) :- edge(x, _).\n", 1),
    ("input edge(src: int, dst: int)\noutput p(a: int)\np(x) :- edge(x, _), x = \"a\".\n", 1),
    ("input edge(src: int, dst: int)\noutput p(a: int)\np(x // 0) :- edge(x, _).\n", 3),
])
def test_exit_codes(dfl_cli, write, tmp_path, src: str, code: int) -> None:
    prog = write("prog.dfl", src)
    write("in/edge.csv", "src,dst\n1,2\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == code, r.stderr
    assert "Traceback" not in r.stderr
    if code:
        assert r.stderr.startswith(f"{prog}:")
        assert not (tmp_path / "out").exists()


def test_missing_program_file_exit_2(dfl_cli, tmp_path) -> None:
    r = dfl_cli("run", tmp_path / "nope.dfl")
    assert r.returncode == 2
    assert "nope.dfl" in r.stderr and "Traceback" not in r.stderr


def test_program_file_not_utf8_exit_2(dfl_cli, write) -> None:
    prog = write("prog.dfl", b"input e(a: int)\n# caf\xe9\n")
    r = dfl_cli("check", prog)
    assert r.returncode == 2
    assert "UTF-8" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------- output files


VALUES = """
input  v(i: int, f: float, s: str, b: bool)
output o(i: int, f: float, s: str, b: bool)
output flags(b: bool)
output none_here(i: int)
rel    hidden(i: int)
o(i, f, s, b) :- v(i, f, s, b).
flags(b) :- v(_, _, _, b).
hidden(i) :- v(i, _, _, _).
none_here(i) :- hidden(i), i > 1000.
"""


def read_rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def test_outputs_sorted_with_header_floats_repr_bools_words(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", VALUES)
    write("in/v.csv", "i,f,s,b\n"
                      "10,0.1,b,true\n"
                      "9,1e-5,a,false\n"
                      "-3,2.5e20,B,TRUE\n"
                      "9,1,\"x,y\",false\n"
                      "9,1.0,\"say \"\"hi\"\"\",false\n"
                      "0,-0.5,,true\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["flags.csv", "none_here.csv", "o.csv"]
    assert (tmp_path / "out" / "o.csv").read_text() == (
        "i,f,s,b\n"
        "-3,2.5e+20,B,true\n"
        "0,-0.5,,true\n"
        "9,1e-05,a,false\n"
        "9,1.0,\"say \"\"hi\"\"\",false\n"
        "9,1.0,\"x,y\",false\n"
        "10,0.1,b,true\n"
    )
    assert (tmp_path / "out" / "flags.csv").read_text() == "b\nfalse\ntrue\n"
    assert (tmp_path / "out" / "none_here.csv").read_text() == "i\n"
    assert r.stdout == ""


def test_numbers_sort_numerically_and_strings_by_code_point(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", "input v(s: str, n: float)\noutput o(s: str, n: float)\no(s, n) :- v(s, n).\n")
    write("in/v.csv", "s,n\nb,10\nb,9.5\nB,1\na,-1\nä,0\nZ,2\n_,3\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    rows = read_rows(tmp_path / "out" / "o.csv")
    assert rows == [["s", "n"], ["B", "1.0"], ["Z", "2.0"], ["_", "3.0"], ["a", "-1.0"], ["b", "9.5"],
                    ["b", "10.0"], ["ä", "0.0"]]


def test_zero_column_output(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", "input e(a: int)\noutput yes()\noutput no()\nyes() :- e(1).\nno() :- e(2).\n")
    write("in/e.csv", "a\n1\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "yes.csv").read_text() == "\n\n"
    assert (tmp_path / "out" / "no.csv").read_text() == "\n"


def test_input_output_relation_is_read_and_written(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", "input output base(a: int)\nbase(x + 10) :- base(x), x < 5.\nbase(100).\n")
    write("in/base.csv", "a\n1\n7\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "base.csv").read_text() == "a\n1\n7\n11\n100\n"


def test_facts_in_the_program_are_added_to_the_file(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", REACH + "edge(2, 3).\n")
    write("in/edge.csv", "src,dst\n1,2\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "path.csv").read_text() == "src,dst\n1,2\n1,3\n2,3\n"


def test_input_file_may_be_missing_when_the_program_gives_facts(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", REACH + "edge(2, 3).\n")
    r = dfl_cli("run", prog, "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "path.csv").read_text() == "src,dst\n2,3\n"


def test_facts_file_and_csv_preferred(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", REACH)
    write("in/edge.facts", "1\t2\n2\t3\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "path.csv").read_text() == "src,dst\n1,2\n1,3\n2,3\n"
    write("in/edge.csv", "src,dst\n5,6\n")  # DIR/r.csv comes before DIR/r.facts
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out2")
    assert (tmp_path / "out2" / "path.csv").read_text() == "src,dst\n5,6\n"


def test_in_overrides_the_input_dir(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", REACH)
    write("in/edge.csv", "src,dst\n5,6\n")
    other = write("other.facts", "7\t8\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--in", f"edge={other}", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "path.csv").read_text() == "src,dst\n7,8\n"


def test_empty_files_are_empty_relations(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", REACH)
    for name in ("edge.csv", "edge.facts"):
        f = write(name, "")
        out = tmp_path / ("out_" + name)
        r = dfl_cli("run", prog, "--in", f"edge={f}", "-O", out)
        assert r.returncode == 0, r.stderr
        assert (out / "path.csv").read_text() == "src,dst\n"


def test_output_dir_is_created_and_existing_files_kept(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", REACH + "edge(1, 2).\n")
    keep = write("out/deep/er/keep.txt", "x")
    r = dfl_cli("run", prog, "-O", tmp_path / "out" / "deep" / "er")
    assert r.returncode == 0, r.stderr
    assert keep.read_text() == "x"
    assert (tmp_path / "out" / "deep" / "er" / "path.csv").exists()


# ---------------------------------------------------------------- printed tables


def test_without_output_dir_a_table_is_printed(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", VALUES)
    write("in/v.csv", "i,f,s,b\n10,0.1,hello,true\n9,1e-5,a,false\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in")
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())  # a narrow table wraps its title
    for word in ("o (2 rows)", "i: int", "f: float", "s: str", "b: bool", "hello", "1e-05", "0.1", "true",
                 "false", "flags (2 rows)", "none_here (0 rows)"):
        assert word in out, out
    assert "hidden" not in out  # only output relations
    assert out.index("9") < out.index("10")  # rows in sorted order
    assert not list(tmp_path.glob("*.csv"))


def test_printed_tables_respect_max_rows(dfl_cli, write) -> None:
    prog = write("prog.dfl", "output n(i: int)\nn(i) :- i in range(0, 50).\n")
    r = dfl_cli("run", prog, "--max-rows", "5")
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "n (50 rows)" in out and "45 more rows" in out
    assert "│ 4 │" in out and "│ 5 │" not in out


def test_zero_column_relation_printed_in_words(dfl_cli, write) -> None:
    prog = write("prog.dfl", "output yes()\noutput no()\nyes() :- 1 < 2.\nno() :- 1 > 2.\n")
    r = dfl_cli("run", prog)
    assert r.returncode == 0, r.stderr
    assert "yes() holds" in r.stdout and "no() does not hold" in r.stdout


# ---------------------------------------------------------------- check and compile


def test_check_prints_a_summary(dfl_cli, write) -> None:
    prog = write("prog.dfl", REACH + "rel unreached(n: int)\noutput lonely(n: int)\n"
                                     "unreached(y) :- edge(_, y), !path(1, y).\n"
                                     "lonely(n) :- unreached(n).\n"
                                     "fn twice(x: int) -> int = 2 * x\nedge(1, 2).\n")
    r = dfl_cli("check", prog)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"{prog}: ok" in out
    assert "relations (4)" in out
    assert "path(src: int, dst: int)" in out and "2 rule(s), 0 fact(s)" in out
    assert "1 rule(s), 1 fact(s)" not in out
    assert "0 rule(s), 1 fact(s)" in out  # edge
    assert "functions (1): twice" in out
    assert "strata (" in out and "(recursive)" in out
    assert "recursive components: 1" in out
    assert "ticked" not in out
    lines = out.splitlines()
    strata = [l for l in lines if l.strip()[:1].isdigit() and ":" in l]
    order = [l.split(":", 1)[1] for l in strata]
    assert [i for i, l in enumerate(order) if "path" in l][0] < [i for i, l in enumerate(order) if "unreached" in l][0]


def test_check_says_ticked(dfl_cli, write) -> None:
    prog = write("prog.dfl", "table t(a: int)\nchannel c(a: int)\nnext t(x) :- c(x).\n")
    r = dfl_cli("check", prog)
    assert r.returncode == 0, r.stderr
    assert "ticked: yes" in r.stdout


def test_check_reports_errors(dfl_cli, write) -> None:
    prog = write("prog.dfl", UNDECLARED + "path(y, y) :- edge(x, _).\n")
    r = dfl_cli("check", prog)
    assert r.returncode == 1
    assert "edeg" in r.stderr and "'y'" in r.stderr
    assert re.search(r"^[23] errors$", r.stderr, re.M)
    assert r.stdout == ""


def test_check_accepts_annotations_and_placement_uses_them(dfl_cli, write) -> None:
    prog = write("prog.dfl", "@partition(src)\n" + REACH.lstrip())
    r = dfl_cli("check", prog)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr and "error" not in r.stderr
    r = dfl_cli("explain", prog, "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "@partition(src)" in r.stdout


def test_compile_emit_ast(dfl_cli, write, tmp_path) -> None:
    src = REACH + "p2(x) :- edge(x, _), (x > 1 ; x < -1).\noutput p2(a: int)\n"
    prog = write("prog.dfl", src)
    r = dfl_cli("compile", prog, "--emit", "ast")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "path(x, z) :- path(x, y), edge(y, z)." in text
    assert "p2(x) :- edge(x, _), x > 1." in text and "p2(x) :- edge(x, _), x < -1." in text
    again = parse(text)
    assert len(again.rules) == 4 and {d.name for d in again.decls} == {"edge", "path", "p2"}
    r = dfl_cli("compile", prog, "--emit", "ast", "-o", tmp_path / "ast.dfl")
    assert r.returncode == 0 and r.stdout == ""
    assert (tmp_path / "ast.dfl").read_text() == text


def test_compile_error_from_compile_command(dfl_cli, write) -> None:
    prog = write("prog.dfl", UNDECLARED)
    r = dfl_cli("compile", prog, "--emit", "ast")
    assert r.returncode == 1 and "edeg" in r.stderr


@pytest.mark.parametrize("target", ["interp", "auto"])
def test_targets_that_always_exist(dfl_cli, write, tmp_path, target: str) -> None:
    prog = write("prog.dfl", REACH + "edge(1, 2).\n")
    r = dfl_cli("run", prog, "--target", target, "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "path.csv").read_text() == "src,dst\n1,2\n"


def test_unknown_target_is_a_usage_error(dfl_cli, write) -> None:
    prog = write("prog.dfl", REACH)
    r = dfl_cli("run", prog, "--target", "tpu")
    assert r.returncode == 2
