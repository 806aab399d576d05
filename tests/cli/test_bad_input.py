"""Bad input and usage (LANGUAGE.md §7): exit status 2, the message names the file, the line
(as counted in the file) and the column, and no output file is left behind."""
from __future__ import annotations

import re

import dfl

import pytest

PROG = """
input  e(a: int, b: str)
input  w(x: float, y: bool)
output o(a: int, b: str)
output p(x: float, y: bool)
o(a, b) :- e(a, b).
p(x, y) :- w(x, y).
"""

GOOD_E = "a,b\n1,x\n2,y\n"
GOOD_W = "x,y\n1.5,true\n"


def located(stderr: str, path, line: int, col: int | None = None) -> None:
    """The first line is `FILE:LINE:COL: input error: ...`; the source line and a caret follow."""
    first = stderr.splitlines()[0]
    if col is None:
        assert re.match(rf"{re.escape(str(path))}:{line}:\d+: input error: ", first), stderr
    else:
        assert first.startswith(f"{path}:{line}:{col}: input error: "), stderr
    assert "^" in stderr
    assert "Traceback" not in stderr


@pytest.fixture
def case(write, tmp_path, dfl_cli):
    """Writes PROG and good inputs, lets a test replace one input, runs with -O, checks exit 2 and no output."""

    def run(rel: str, name: str, content: str | bytes, *extra: str, program: str = PROG):
        prog = write("prog.dfl", program)
        write("in/e.csv", GOOD_E)
        write("in/w.csv", GOOD_W)
        bad = write(f"bad/{name}", content)
        out = tmp_path / "out"
        r = dfl_cli("run", prog, "-I", tmp_path / "in", "--in", f"{rel}={bad}", "-O", out, *extra)
        assert r.returncode == 2, r.stderr
        assert not out.exists(), "no output may be written when the input is bad"
        assert r.stdout == ""
        return r, bad

    return run


# ---------------------------------------------------------------- missing files


def test_missing_input_file_in_the_input_dir(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    write("in/e.csv", GOOD_E)
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 2
    assert "relation w" in r.stderr or "'w'" in r.stderr
    assert str(tmp_path / "in" / "w.csv") in r.stderr and str(tmp_path / "in" / "w.facts") in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_missing_input_without_any_dir(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    r = dfl_cli("run", prog, "-O", tmp_path / "out")
    assert r.returncode == 2
    assert "--in" in r.stderr and "-I" in r.stderr


def test_missing_file_given_with_in(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    write("in/w.csv", GOOD_W)
    missing = tmp_path / "nowhere" / "e.csv"
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--in", f"e={missing}", "-O", tmp_path / "out")
    assert r.returncode == 2
    assert str(missing) in r.stderr and "not found" in r.stderr
    assert not (tmp_path / "out").exists()


def test_missing_input_dir(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    r = dfl_cli("run", prog, "-I", tmp_path / "no_such_dir", "-O", tmp_path / "out")
    assert r.returncode == 2
    assert "no_such_dir" in r.stderr


# ---------------------------------------------------------------- column counts


def test_too_few_columns_csv(case) -> None:
    r, bad = case("e", "e.csv", "a,b\n1,x\n2\n")
    located(r.stderr, bad, 3, 2)
    assert "column 2 (b)" in r.stderr and "expected 2" in r.stderr and "found 1" in r.stderr


def test_too_many_columns_csv(case) -> None:
    r, bad = case("e", "e.csv", "a,b\n1,x\n\n2,y,z\n")
    located(r.stderr, bad, 4, 5)
    assert "column 3" in r.stderr and "found 3" in r.stderr


def test_wrong_column_count_facts(case) -> None:
    r, bad = case("e", "e.facts", "1\tx\n2\ty\tz\n")
    located(r.stderr, bad, 2, 5)
    assert "found 3" in r.stderr


def test_comma_separated_facts_file_gets_a_hint(case) -> None:
    r, bad = case("e", "e.facts", "1,x\n")
    located(r.stderr, bad, 1)
    assert "tab-separated" in r.stderr


def test_line_numbers_count_quoted_newlines(case) -> None:
    r, bad = case("e", "e.csv", 'a,b\n1,"two\nlines"\n2,"ok"\nthree\n')
    located(r.stderr, bad, 5)


# ---------------------------------------------------------------- values of the wrong type


@pytest.mark.parametrize("rel, name, content, line, col, words", [
    ("e", "e.csv", "a,b\n1,x\nzz,y\n", 3, 1, ["column 1 (a)", "int", '"zz"']),
    ("e", "e.csv", "a,b\n1.5,x\n", 2, 1, ["int", '"1.5"']),
    ("e", "e.csv", "a,b\n99999999999999999999,x\n", 2, 1, ["64-bit"]),
    ("e", "e.facts", "1\tx\n\n3x\ty\n", 3, 1, ["column 1 (a)", '"3x"']),
    ("w", "w.csv", "x,y\n1.5,true\nabc,false\n", 3, 1, ["column 1 (x)", "float", '"abc"']),
    ("w", "w.csv", "x,y\n1.5,yes\n", 2, 5, ["column 2 (y)", "bool", '"yes"']),
])
def test_value_of_the_wrong_type(case, rel, name, content, line, col, words) -> None:
    r, bad = case(rel, name, content)
    located(r.stderr, bad, line, col)
    for w in words:
        assert w in r.stderr, r.stderr


def test_values_that_are_accepted(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    write("in/e.csv", "a,b\n -3 ,\" spaced \"\n+4,\n")
    write("in/w.csv", "x,y\n1e-3, TRUE\n2,False\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "o.csv").read_text() == 'a,b\n-3, spaced \n4,\n'
    assert (tmp_path / "out" / "p.csv").read_text() == "x,y\n0.001,true\n2.0,false\n"


# ---------------------------------------------------------------- encodings and headers


def test_invalid_utf8(case) -> None:
    r, bad = case("e", "e.csv", b"a,b\n1,ok\n2,caf\xe9\n")
    located(r.stderr, bad, 3, 6)
    assert "UTF-8" in r.stderr


def test_utf8_byte_order_mark_is_ignored(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    write("in/e.csv", "\ufeffa,b\n1,x\n".encode("utf-8"))
    write("in/w.csv", GOOD_W)
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("header, col, words", [
    ("a,c", 3, ['"c"', "expected b", "a,b"]),
    ("b,a", 1, ['"b"', "expected a"]),
    ("a", 2, ["column 2 (b)", "missing"]),
    ("a,b,c", 5, ["one too many"]),
    ("1,x", 1, ["header"]),
])
def test_bad_header(case, header: str, col: int, words: list[str]) -> None:
    r, bad = case("e", "e.csv", f"{header}\n1,x\n")
    located(r.stderr, bad, 1, col)
    assert "header" in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


def test_unknown_file_extension(case) -> None:
    r, bad = case("e", "e.txt", "a,b\n1,x\n")
    assert str(bad) in r.stderr and ".csv" in r.stderr and ".facts" in r.stderr


# ---------------------------------------------------------------- --in


def test_in_names_an_unknown_relation(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    f = write("x.csv", "a,b\n")
    r = dfl_cli("run", prog, "--in", f"nosuch={f}", "-O", tmp_path / "out")
    assert r.returncode == 2
    assert "nosuch" in r.stderr and "usage error" in r.stderr
    assert "e, w" in r.stderr  # the hint lists the inputs
    assert not (tmp_path / "out").exists()


def test_in_names_an_output_relation(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    f = write("x.csv", "a,b\n")
    r = dfl_cli("run", prog, "--in", f"o={f}")
    assert r.returncode == 2 and "'o'" in r.stderr


@pytest.mark.parametrize("arg", ["e", "e=", "=file.csv", ""])
def test_in_malformed(dfl_cli, write, tmp_path, arg: str) -> None:
    prog = write("prog.dfl", PROG)
    r = dfl_cli("run", prog, "--in", arg, "-O", tmp_path / "out")
    assert r.returncode == 2
    assert "NAME=FILE" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_option_is_a_usage_error(dfl_cli, write) -> None:
    prog = write("prog.dfl", PROG)
    r = dfl_cli("run", prog, "--frobnicate")
    assert r.returncode == 2


# ---------------------------------------------------------------- nothing written unless the whole run succeeds


def test_no_outputs_when_a_later_input_is_bad(dfl_cli, write, tmp_path) -> None:
    # `e` and its output `o` are fine; only `w` is bad: still nothing at all is written.
    prog = write("prog.dfl", PROG)
    write("in/e.csv", GOOD_E)
    write("in/w.csv", "x,y\n1.5,true\n2.5,maybe\n")
    out = tmp_path / "out"
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", out)
    assert r.returncode == 2
    located(r.stderr, tmp_path / "in" / "w.csv", 3, 5)
    assert not out.exists()


def test_existing_output_dir_stays_as_it_was(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    write("in/e.csv", GOOD_E)
    write("in/w.csv", "x,y\nnope,true\n")
    keep = write("out/old.txt", "keep me")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["old.txt"]
    assert keep.read_text() == "keep me"


def test_bad_input_in_a_real_process(dfl_proc, write, tmp_path) -> None:
    prog = write("prog.dfl", PROG)
    write("in/e.csv", GOOD_E)
    write("in/w.csv", "x,y\n1.5\n")
    r = dfl_proc("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 2
    located(r.stderr, tmp_path / "in" / "w.csv", 2)
    assert not (tmp_path / "out").exists()


def test_python_rows_of_exact_types_pass_and_others_convert_or_fail() -> None:
    import numpy as np

    prog = dfl.compile("input e(a: int, x: float, s: str, b: bool)\noutput o(a: int, x: float, s: str, b: bool)\n"
                       "o(a, x, s, b) :- e(a, x, s, b).\n")
    exact = [(1, 2.0, "s", True), (-(1 << 63), float("nan"), "", False)]
    assert len(prog.run(e=exact)["o"]) == 2
    # an int for a float, numpy scalars and lists are converted, as before
    got = prog.run(e=[[np.int64(3), 4, "t", np.bool_(False)]])["o"]
    assert got == [(3, 4.0, "t", False)] and type(got[0][1]) is float
    for bad, where in (([(True, 1.0, "s", True)], "column 1 (a)"), ([(1 << 63, 1.0, "s", True)], "column 1 (a)"),
                       ([(1, "x", "s", True)], "column 2 (x)"), ([(1, 1.0, "s", 1)], "column 4 (b)"),
                       ([(1, 1.0, "s")], "expected 4 column(s)")):
        with pytest.raises(dfl.DflError) as e:
            prog.run(e=bad)
        assert e.value.kind == "input" and where in e.value.message, e.value.message
