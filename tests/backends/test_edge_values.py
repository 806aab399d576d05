"""Edge values through every expression path: the interpreter (the oracle), the cpu
backend's numpy path and its fused native kernels (backends/cpu/fuse.py) agree exactly.

Each operand set holds the values where native and Python semantics part: INT_MIN, -1,
0, INT_MAX, ±inf, nan, -0.0, the smallest subnormal, floats beyond 2**63, the empty
string. Results compare by `repr`, so -0.0 differs from 0.0 and nan equals nan. A few
values are also pinned to LANGUAGE.md (64-bit wraparound, Python's floor rules), so the
three paths cannot agree on a wrong answer.
"""
from __future__ import annotations

import itertools
import math

import pytest

import dfl
from dfl.errors import DflError

INT_MIN = -(1 << 63)
INT_MAX = (1 << 63) - 1
INTS = [INT_MIN, INT_MIN + 1, -7, -1, 0, 1, 2, 7, INT_MAX]
FLOATS = [math.inf, -math.inf, math.nan, -0.0, 0.0, 1.0, -1.0, 2.5, -2.5, 1e308, -1e308, 5e-324, 1e19, -9.3e18]
STRS = ["", "a", " ", ",", "a,b", " a ", "é", "A"]
PATHS = ("interp", "numpy", "fused")

ARITH = "x + y, x - y, x * y, x / y, x // y, x % y, -x, abs(x), min(x, y), max(x, y)"
COMPARE = ["x < y", "x <= y", "x = y", "x != y", "x > y", "x >= y"]


def _outcome(src: str, rows: dict, path: str, monkeypatch) -> object:
    # the numpy path below a million rows, a fused kernel for every chain with 0
    monkeypatch.setenv("DFL_FUSE_MIN_ROWS", "0" if path == "fused" else str(1 << 40))
    try:
        res = dfl.compile(src).run(target="interp" if path == "interp" else "cpu", **rows)
    except DflError as e:
        return f"{e.kind}: {str(e).splitlines()[0]}"
    return sorted(map(repr, res["o"]))


def _close(a: object, b: object) -> bool:
    """Equal outcomes; a float may differ in its last bit (libm's pow against numpy's), but
    not in its sign, so -0.0 != 0.0 still."""
    if a == b or isinstance(a, str) or isinstance(b, str) or len(a) != len(b):
        return a == b
    for ra, rb in zip(a, b):
        ta, tb = eval(ra, {"nan": math.nan, "inf": math.inf}), eval(rb, {"nan": math.nan, "inf": math.inf})
        for x, y in zip(ta, tb):
            if isinstance(x, float) and isinstance(y, float) and math.isfinite(x) and math.isfinite(y):
                if not (math.isclose(x, y, rel_tol=4e-16) and math.copysign(1, x) == math.copysign(1, y)):
                    return False
            elif repr(x) != repr(y):
                return False
    return True


def _same_everywhere(src: str, rows: dict, monkeypatch) -> object:
    got = {p: _outcome(src, rows, p, monkeypatch) for p in PATHS}
    assert _close(got["numpy"], got["interp"]), f"numpy path differs from the interpreter: {got}"
    assert _close(got["fused"], got["interp"]), f"fused kernel differs from the interpreter: {got}"
    return got["interp"]


@pytest.fixture(autouse=True)
def _kernel_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("DFL_CACHE_DIR", str(tmp_path / "cache"))


def _pairs(xs, ys) -> list[tuple]:
    return [(i, x, y) for i, (x, y) in enumerate(itertools.product(xs, ys))]


@pytest.mark.parametrize("tx,ty,xs,ys", [
    ("int", "int", INTS, INTS),
    ("float", "float", FLOATS, FLOATS),
    ("int", "float", INTS, FLOATS),
    ("float", "int", FLOATS, INTS),
], ids=["int-int", "float-float", "int-float", "float-int"])
def test_arithmetic_and_comparisons_agree(tx: str, ty: str, xs, ys, monkeypatch) -> None:
    rt = "int" if tx == ty == "int" else "float"
    # the column order follows ARITH; `/` is always float, `-x` and `abs(x)` keep x's type
    cols = ", ".join(f"q{k}: {t}" for k, t in enumerate([rt, rt, rt, "float", rt, rt, tx, tx, rt, rt]))
    src = (f"input a(i: int, x: {tx}, y: {ty})\noutput o(i: int, {cols})\n"
           f"o(i, {ARITH}) :- a(i, x, y), y != 0, i >= 0.\n")
    _same_everywhere(src, {"a": _pairs(xs, ys)}, monkeypatch)
    for cmp in COMPARE:
        src = f"input a(i: int, x: {tx}, y: {ty})\noutput o(i: int)\no(i) :- a(i, x, y), {cmp}, i >= 0.\n"
        _same_everywhere(src, {"a": _pairs(xs, ys)}, monkeypatch)


def test_int_min_floor_divided_by_minus_one_wraps_in_every_path(monkeypatch) -> None:
    """The fused kernel computed INT_MIN // -1 as 0 (numba's int64 `//`)."""
    src = "input a(x: int, y: int)\noutput o(x: int, q: int)\no(x, q) :- a(x, y), y != 0, q = x // y, x < 0.\n"
    got = _same_everywhere(src, {"a": [(INT_MIN, -1), (INT_MIN, 1), (-7, -1), (-7, 2)]}, monkeypatch)
    assert got == sorted(map(repr, [(INT_MIN, INT_MIN), (-7, 7), (-7, -4)]))


@pytest.mark.parametrize("expr,want", [
    ("INT_MIN // -1", INT_MIN), ("INT_MIN % -1", 0), ("-INT_MIN", INT_MIN), ("abs(INT_MIN)", INT_MIN),
    ("INT_MAX + 1", INT_MIN), ("INT_MIN * -1", INT_MIN), ("pow(2, 64)", 0), ("pow(3, 41)", 3 ** 41 % (1 << 64) - (1 << 64)),
    ("-7 // 2", -4), ("-7 % 2", 1), ("7 % -2", -1),
])
def test_int_edges_follow_the_language(expr: str, want: int, monkeypatch) -> None:
    e = expr.replace("INT_MIN", "m").replace("INT_MAX", "(m - 1)")
    src = f"input a(m: int)\noutput o(q: int)\no(q) :- a(m), q = {e}, m < 0.\n"
    assert _same_everywhere(src, {"a": [(INT_MIN,)]}, monkeypatch) == [repr((want,))]


@pytest.mark.parametrize("expr,want", [
    ("-5.0 // x", -1.0), ("5.0 // x", 0.0), ("-5.0 % x", math.inf), ("5.0 % x", 5.0),
    ("x // 2.0", math.nan), ("-0.0 // 1.0", -0.0), ("-0.0 % 1.0", 0.0), ("-(0.0 * x)", math.nan),
    ("min(0.0 * x, 1.0)", math.nan), ("min(1.0, 0.0 * x)", 1.0),
])
def test_float_edges_follow_python(expr: str, want: float, monkeypatch) -> None:
    src = f"input a(x: float)\noutput o(q: float)\no(q) :- a(x), q = {expr}, x > 0.0.\n"
    assert _same_everywhere(src, {"a": [(math.inf,)]}, monkeypatch) == [repr((want,))]


@pytest.mark.parametrize("expr,t", [
    ("pow(x, y)", "float"), ("hash(x)", "int"), ("to_int(x)", "int"), ("floor(x)", "int"), ("ceil(x)", "int"),
    ("to_str(x)", "str"), ("to_float(x)", "float"), ("sqrt(x)", "float"), ("exp(x)", "float"),
])
def test_float_builtins_agree(expr: str, t: str, monkeypatch) -> None:
    """Each over every float edge value, one row at a time: inf, nan and huge floats give a
    value or the same run-time error everywhere."""
    for i, x in enumerate(FLOATS):
        src = f"input a(i: int, x: float, y: float)\noutput o(i: int, q: {t})\no(i, q) :- a(i, x, y), q = {expr}.\n"
        _same_everywhere(src, {"a": [(i, x, y) for y in (x, 0.5, -1.0)]}, monkeypatch)


@pytest.mark.parametrize("expr,t", [
    ("x + y", "str"), ("lower(x)", "str"), ("upper(x)", "str"), ("len(x)", "int"), ("substr(x, 0, 1)", "str"),
    ("substr(x, -1, 5)", "str"), ("contains(x, y)", "bool"), ("starts_with(x, y)", "bool"),
    ("ends_with(x, y)", "bool"), ("hash(x)", "int"), ("(x < y)", "bool"),
])
def test_string_builtins_on_edge_strings_agree(expr: str, t: str, monkeypatch) -> None:
    src = f"input a(i: int, x: str, y: str)\noutput o(i: int, q: {t})\no(i, q) :- a(i, x, y), q = {expr}, i >= 0.\n"
    _same_everywhere(src, {"a": _pairs(STRS, STRS)}, monkeypatch)


@pytest.mark.parametrize("gen", ['split(x, ",")', 'split(x, " ")', 'split(x, y)', "range(len(x) - 1, len(y))"])
def test_generators_on_edge_values_agree(gen: str, monkeypatch) -> None:
    src = (f"input a(i: int, x: str, y: str)\noutput o(i: int, w: {'int' if 'range' in gen else 'str'})\n"
           f"o(i, w) :- a(i, x, y), y != \"\", w in {gen}, i >= 0.\n")
    _same_everywhere(src, {"a": _pairs(STRS, STRS)}, monkeypatch)


@pytest.mark.parametrize("text", ["", "1", " 2 ", "x", "1e3", "inf", "nan", "-0", "99999999999999999999",
                                  "-9223372036854775808"])
def test_string_conversions_agree(text: str, monkeypatch) -> None:
    for f, t in (("to_int", "int"), ("to_float", "float")):
        src = f"input a(x: str)\noutput o(q: {t})\no(q) :- a(x), q = {f}(x).\n"
        _same_everywhere(src, {"a": [(text,)]}, monkeypatch)


def test_nan_rows_read_from_inputs_dedup_everywhere(monkeypatch, tmp_path) -> None:
    """Each NaN given or read is a float object of its own, which a Python set tells apart:
    the interpreter made every NaN the one `math.nan` only for computed values, so two
    input rows of nan stayed two rows (and counted twice) where the cpu target has one."""
    src = "input a(x: float)\noutput o(x: float, n: int)\no(x, n) :- a(x), n = count : a(_).\n"
    given = [(float("nan"),), (float("nan"),), (1.5,)]
    assert _same_everywhere(src, {"a": given}, monkeypatch) == ["(1.5, 2)", "(nan, 2)"]
    (tmp_path / "a.csv").write_text("x\nnan\nNaN\n1.5\n")
    for target in ("interp", "cpu"):
        res = dfl.compile(src).run(target=target, input_dir=str(tmp_path))
        assert sorted(map(repr, res["o"])) == ["(1.5, 2)", "(nan, 2)"], target
