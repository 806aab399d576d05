"""Run-time errors (exit 3, naming the rule and the values), 64-bit wraparound, and `hash`
(LANGUAGE.md §6, §7)."""
from __future__ import annotations

import pytest

import dfl
from dfl.errors import DflError

INT_MAX = 9223372036854775807
INT_MIN = -9223372036854775808


def wrap(x: int) -> int:
    return ((x + (1 << 63)) % (1 << 64)) - (1 << 63)


# line 1: the input; line 2: the output; line 3: the rule that fails
CASES = [
    ("int floor division by zero", "output q(c: int)", "q(c) :- e(a, b), c = a // b.", (7, 0), ["7 // 0"]),
    ("int modulo by zero", "output q(c: int)", "q(c) :- e(a, b), c = a % b.", (7, 0), ["7 % 0"]),
    ("float division by zero", "output q(c: float)", "q(c) :- e(a, b), c = a / b.", (7, 0), ["/", "0"]),
    ("float modulo by zero", "output q(c: float)", "q(c) :- e(a, b), c = 1.5 % to_float(b).", (7, 0),
     ["1.5 %", "0"]),
    ("log of zero", "output q(c: float)", "q(c) :- e(a, b), c = log(b).", (7, 0), ["log", "0"]),
    ("log of a negative", "output q(c: float)", "q(c) :- e(a, b), c = log(b).", (7, -2), ["log", "-2"]),
    ("sqrt of a negative", "output q(c: float)", "q(c) :- e(a, b), c = sqrt(b).", (7, -4), ["sqrt", "-4"]),
    ("to_int of a non-number", "output q(c: int)", 'q(c) :- e(a, b), c = to_int("abc").', (7, 0),
     ["to_int", "abc"]),
    ("to_float of a non-number", "output q(c: float)", 'q(c) :- e(a, b), c = to_float("x1").', (7, 0),
     ["to_float", "x1"]),
    ("pow with a negative int exponent", "output q(c: int)", "q(c) :- e(a, b), c = pow(a, b).", (2, -1),
     ["pow", "2", "-1"]),
    ("split with an empty separator", "output q(c: str)", 'q(w) :- e(a, b), w in split("a b", "").', (7, 0),
     ["split", "empty"]),
    ("division in a head", "output q(c: int)", "q(a // b) :- e(a, b).", (9, 0), ["9 // 0"]),
    ("division in a filter", "output q(c: int)", "q(a) :- e(a, b), a // b > 0.", (9, 0), ["9 // 0"]),
    ("division inside an aggregate", "output q(c: int)", "q(s) :- s = sum (a // b) : e(a, b).", (9, 0),
     ["9 // 0"]),
]


@pytest.mark.parametrize("what, out, rule, row, words", CASES, ids=[c[0] for c in CASES])
def test_runtime_error_exit_3(dfl_cli, write, tmp_path, what, out, rule, row, words) -> None:
    prog = write("prog.dfl", f"input e(a: int, b: int)\n{out}\n{rule}\n")
    write("in/e.csv", "a,b\n1,1\n{},{}\n".format(*row))
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 3, r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{prog}:3:") and "run-time error" in first, r.stderr
    assert "line 3" in r.stderr
    for w in words:
        assert w in first, r.stderr
    assert rule in r.stderr  # the rule's source line is shown
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_runtime_error_in_a_function_names_the_calling_rule() -> None:
    src = "input e(a: int)\nfn g(x: int) -> int = 10 // x\noutput q(c: int)\nq(g(a)) :- e(a).\n"
    with pytest.raises(DflError) as info:
        dfl.compile(src, "f.dfl").run(e=[(0,)])
    err = info.value
    assert err.kind == "runtime" and err.exit_code == 3
    assert err.span.line == 4 and "10 // 0" in err.message


def test_runtime_error_in_a_fact() -> None:
    with pytest.raises(DflError) as info:
        dfl.compile("output q(c: int)\nq(1 // 0).\n", "f.dfl").run()
    assert info.value.kind == "runtime" and info.value.span.line == 2


def test_runtime_error_in_a_real_process(dfl_proc, write, tmp_path) -> None:
    prog = write("prog.dfl", "input e(a: int, b: int)\noutput q(c: float)\nq(c) :- e(a, b), c = sqrt(b).\n")
    write("in/e.csv", "a,b\n1,-9\n")
    r = dfl_proc("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 3
    assert "line 3" in r.stderr and "-9" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()
    r = dfl_proc("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out", "--debug")
    assert r.returncode == 3 and "Traceback" in r.stderr


def test_no_error_when_the_failing_row_is_filtered_out_first() -> None:
    # `b != 0` guards the division: a rule's meaning does not depend on literal order
    guarded_first = "input e(a: int, b: int)\noutput q(c: int)\nq(c) :- e(a, b), b != 0, c = a // b.\n"
    assert dfl.compile(guarded_first).run(e=[(7, 0), (7, 2)])["q"] == [(3,)]
    guarded_last = "input e(a: int, b: int)\noutput q(c: int)\nq(c) :- e(a, b), c = a // b, b != 0.\n"
    assert dfl.compile(guarded_last).run(e=[(7, 0), (7, 2)])["q"] == [(3,)]


# ---------------------------------------------------------------- arithmetic as §6 says


def run1(expr: str, out_type: str = "int", **rows):
    src = f"input e(a: int, b: int)\noutput q(c: {out_type})\nq({expr}) :- e(a, b).\n"
    res = dfl.compile(src).run(e=rows.get("e", [(1, 2)]))
    (row,) = res["q"]
    return row[0]


@pytest.mark.parametrize("expr, out_type, value", [
    ("7 / 2", "float", 3.5),
    ("6 / 2", "float", 3.0),
    ("-7 // 2", "int", -4),
    ("-7 % 2", "int", 1),
    ("7 % -2", "int", -1),
    ("-7.5 // 2", "float", -4.0),
    ("7.5 % 2", "float", 1.5),
    ("1 + 2.5", "float", 3.5),
    ('"ab" + "cd"', "str", "abcd"),
    ("to_int(-2.7)", "int", -2),
    ("to_int(2.7)", "int", 2),
    ('to_int(" 42 ")', "int", 42),
    ("floor(-2.5)", "int", -3),
    ("ceil(-2.5)", "int", -2),
    ("pow(2, 10)", "int", 1024),
    ("pow(2.0, -1)", "float", 0.5),
    ("abs(-3)", "int", 3),
    ("min(3, 2.5)", "float", 2.5),
    ("max(3, 2)", "int", 3),
    ('to_str(1.0)', "str", "1.0"),
    ('to_str(1e-05)', "str", "1e-05"),
    ('to_str(true)', "str", "true"),
    ('substr("hello", 1, 3)', "str", "ell"),
    ('substr("hello", 3, 10)', "str", "lo"),
    ('len("héllo")', "int", 5),
])
def test_arithmetic_and_builtins(expr: str, out_type: str, value) -> None:
    got = run1(expr, out_type)
    assert got == value and type(got) is type(value)


# ---------------------------------------------------------------- 64-bit wraparound


@pytest.mark.parametrize("expr, rows, value", [
    ("a + 1", [(INT_MAX, 0)], INT_MIN),
    ("a - 1", [(INT_MIN, 0)], INT_MAX),
    ("a * 2", [(INT_MAX, 0)], -2),
    ("a * 3", [(1 << 62, 0)], wrap(3 << 62)),
    ("-a", [(INT_MIN, 0)], INT_MIN),
    ("abs(a)", [(INT_MIN, 0)], INT_MIN),
    ("a // -1", [(INT_MIN, 0)], INT_MIN),
    ("pow(a, 64)", [(2, 0)], 0),
    ("pow(a, 40)", [(3, 0)], wrap(3 ** 40)),
])
def test_int_overflow_wraps(expr: str, rows, value: int) -> None:
    assert run1(expr, e=rows) == value


def test_int_overflow_of_constants_wraps() -> None:
    res = dfl.compile("output q(c: int)\nq(9223372036854775807 + 1).\n").run()
    assert res["q"] == [(INT_MIN,)]


def test_sum_aggregates_wrap() -> None:
    src = ("input e(a: int, b: int)\noutput hs(s: int)\noutput bs(s: int)\noutput gs(g: int, s: int)\n"
           "hs(sum(a)) :- e(a, _).\n"
           "bs(s) :- s = sum a : e(a, _).\n"
           "gs(b, s) :- e(_, b), s = sum a : e(a, b).\n")
    res = dfl.compile(src).run(e=[(INT_MAX, 0), (1, 0), (INT_MAX, 1), (INT_MAX - 1, 1)])
    # head sum over distinct (a, _) rows: MAX + 1 + MAX + (MAX - 1)
    total = wrap(INT_MAX + 1 + INT_MAX + INT_MAX - 1)
    assert res["hs"] == [(total,)]
    assert res["bs"] == [(total,)]
    assert res["gs"] == [(0, INT_MIN), (1, wrap(2 * INT_MAX - 1))]


def test_wraparound_end_to_end(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", "input e(a: int)\noutput q(c: int)\noutput s(c: int)\n"
                             "q(a + 1) :- e(a).\ns(x) :- x = sum a : e(a).\n")
    write("in/e.csv", f"a\n{INT_MAX}\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "q.csv").read_text() == f"c\n{INT_MIN}\n"
    assert (tmp_path / "out" / "s.csv").read_text() == f"c\n{INT_MAX}\n"


# ---------------------------------------------------------------- hash


HASH_PROG = """
input  v(s: str, i: int, f: float, b: bool)
output h(s: int, i: int, f: int, b: int)
h(hash(s), hash(i), hash(f), hash(b)) :- v(s, i, f, b).
"""


def test_hash_is_stable_across_runs(dfl_proc, write, tmp_path) -> None:
    prog = write("prog.dfl", HASH_PROG)
    write("in/v.csv", "s,i,f,b\nhello,42,1.5,true\n,0,-0.0,false\nünï,-1,1e300,true\n")
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"
        r = dfl_proc("run", prog, "-I", tmp_path / "in", "-O", out, env={"PYTHONHASHSEED": seed})
        assert r.returncode == 0, r.stderr
        outs.append((out / "h.csv").read_text())
    assert outs[0] == outs[1]
    # and the same as in this process (the Python API)
    res = dfl.compile(HASH_PROG).run(v=[("hello", 42, 1.5, True), ("", 0, -0.0, False), ("ünï", -1, 1e300, True)])
    lines = outs[0].splitlines()[1:]
    assert sorted(lines) == sorted(",".join(map(str, row)) for row in res["h"])


def test_hash_values_are_64_bit_and_spread() -> None:
    src = "input v(s: str)\noutput h(s: str, x: int)\nh(s, hash(s)) :- v(s).\n"
    words = [(f"w{i}",) for i in range(200)]
    res = dfl.compile(src).run(v=words)
    values = [x for _, x in res["h"]]
    assert len(set(values)) == 200
    assert all(INT_MIN <= x <= INT_MAX for x in values)
    assert any(x < 0 for x in values) and any(x > 0 for x in values)


def test_hash_is_the_same_for_equal_values() -> None:
    src = 'output h(a: int, b: int)\nh(hash("ab"), hash("a" + "b")).\n'
    ((a, b),) = dfl.compile(src).run()["h"]
    assert a == b
