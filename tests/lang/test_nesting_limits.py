"""Programs that nest deeply or inline big (lang/limits.py, docs/semantics.md "Limits").

Each of these once ended in an internal error (exit 70) or never finished: a float literal
that overflows in a fused kernel, deep expressions in the interpreter's generated code
(Python refuses 200 nested parentheses) and in fused kernels, RecursionError in the parser
and the checker, and user functions inlined exponentially. Up to the documented depth
they run on every path (interp, cpu numpy, cpu fused); beyond it, a compile error (exit 1)
points at the expression.
"""
from __future__ import annotations

import time

import pytest

import dfl
from dfl.errors import DflError
from dfl.lang.limits import MAX_DEPTH, MAX_NODES

H = "input a(x: int)\noutput o(y: int)\n"
PATHS = [("interp", None), ("cpu", str(1 << 40)), ("cpu", "0")]  # the last fuses every chain


def run_everywhere(src: str, rows: list[tuple], monkeypatch, tmp_path) -> list:
    monkeypatch.setenv("DFL_CACHE_DIR", str(tmp_path / "cache"))
    results = []
    for target, fuse_rows in PATHS:
        if fuse_rows is not None:
            monkeypatch.setenv("DFL_FUSE_MIN_ROWS", fuse_rows)
        results.append(sorted(dfl.compile(src).run(a=rows, target=target)["o"]))
    assert results[0] == results[1] == results[2]
    return results[0]


def compile_error(src: str) -> DflError:
    with pytest.raises(DflError) as info:
        dfl.compile(src, "f.dfl")
    assert info.value.kind == "compile" and info.value.exit_code == 1 and info.value.span is not None
    return info.value


def nested(n: int, fmt: str, seed: str = "x") -> str:
    e = seed
    for i in range(n):
        e = fmt.format(e=e, i=i)
    return e


def test_an_overflowing_float_literal_runs_in_a_fused_kernel(monkeypatch, tmp_path) -> None:
    src = "input a(x: float)\noutput o(y: float, z: float)\no(y, z) :- a(x), x < 1e999, y = x * 1e999, z = -1e999.\n"
    monkeypatch.setenv("DFL_CACHE_DIR", str(tmp_path / "cache"))
    want = [(float("inf"), float("-inf"))]
    for target, fuse_rows in PATHS:
        if fuse_rows is not None:
            monkeypatch.setenv("DFL_FUSE_MIN_ROWS", fuse_rows)
        assert dfl.compile(src).run(a=[(1.5,)], target=target)["o"] == want


# nested conditionals: numba takes ~10 s to compile 250 of them in one kernel (they work), so 60
@pytest.mark.parametrize("fmt,levels", [("({e} + {i})", 1), ("{e} + {i}", 1), ("abs({e} - {i})", 2), ("-({e})", 1),
                                        ("(if x > {i} then {e} else {i})", 4)],
                         ids=["parenthesised", "flat", "calls", "negations", "conditionals"])
def test_expressions_nested_up_to_the_limit_run_everywhere(fmt: str, levels: int, monkeypatch, tmp_path) -> None:
    n = (MAX_DEPTH - 6) // levels
    got = run_everywhere(H + f"o(y) :- a(x), x > 0, y = {nested(n, fmt)}.\n", [(3,), (1000,)], monkeypatch, tmp_path)
    assert len(got) == 2
    if levels == 1 and "+" in fmt:
        assert got == [(3 + sum(range(n)),), (1000 + sum(range(n)),)]


def test_many_divisions_in_one_chain_run_everywhere(monkeypatch, tmp_path) -> None:
    e = nested(80, "({e} // 2 + x % 3)")
    got = run_everywhere(H + f"o(y) :- a(x), x > 0, {e} >= 0, y = {e}.\n", [(3,), (77,)], monkeypatch, tmp_path)
    assert len(got) == 2


@pytest.mark.parametrize("body", [
    "y = " + nested(500, "({e} + {i})"),
    "y = " + nested(1000, "{e} + {i}"),
    "y = " + nested(500, "abs({e})"),
    nested(500, "({e})", "a(y)"),
    nested(300, "({e} ; a(y))", "a(y)"),
], ids=["parenthesised", "flat", "calls", "groups", "disjunctions"])
def test_beyond_the_limit_a_compile_error_points_at_the_expression(body: str) -> None:
    err = compile_error(H + f"o(y) :- a(x), x > 0, {body}.\n")
    assert f"more than {MAX_DEPTH} levels deep" in str(err) and err.span.line == 3


def test_a_chain_of_a_thousand_functions_is_a_compile_error_at_the_function() -> None:
    fns = "fn f0(x: int) -> int = x + 1\n" + "".join(f"fn f{i}(x: int) -> int = f{i - 1}(x) + 1\n"
                                                    for i in range(1, 1000))
    err = compile_error(fns + H + "o(y) :- a(x), y = f999(x).\n")
    assert "function 'f" in str(err) and "levels deep" in str(err)


def test_a_chain_of_functions_within_the_limit_runs(monkeypatch, tmp_path) -> None:
    n = MAX_DEPTH - 8
    fns = "fn f0(x: int) -> int = x + 1\n" + "".join(f"fn f{i}(x: int) -> int = f{i - 1}(x) + 1\n" for i in range(1, n))
    assert run_everywhere(fns + H + f"o(y) :- a(x), y = f{n - 1}(x).\n", [(1,)], monkeypatch, tmp_path) == [(1 + n,)]


def test_functions_that_double_at_each_step_fail_fast_with_a_clear_error() -> None:
    """`dfl check` of this 2 KB program did not finish in 60 s: every call was inlined."""
    fns = "fn f0(x: int) -> int = x + 1\n" + "".join(f"fn f{i}(x: int) -> int = f{i - 1}(x) + f{i - 1}(x)\n"
                                                    for i in range(1, 40))
    start = time.perf_counter()
    err = compile_error(fns + H + "o(y) :- a(x), y = f39(x).\n")
    assert time.perf_counter() - start < 5
    assert f"at most {MAX_NODES:,}" in str(err) and "function 'f" in str(err)


def test_an_expression_that_inlines_too_big_is_an_error_at_the_rule() -> None:
    fns = "fn sq(x: int) -> int = x * x\n"
    e = nested(18, "sq({e})")  # each level doubles: 2**18 copies of x
    err = compile_error(fns + H + f"o(y) :- a(x), y = {e}.\n")
    assert "this expression has" in str(err) and err.span.line == 4


def test_functions_that_share_a_parameter_inline_within_the_limit(monkeypatch, tmp_path) -> None:
    fns = "fn f0(x: int) -> int = x + 1\n" + "".join(f"fn f{i}(x: int) -> int = f{i - 1}(x) + f{i - 1}(x)\n"
                                                    for i in range(1, 8))
    got = run_everywhere(fns + H + "o(y) :- a(x), y = f7(x).\n", [(1,)], monkeypatch, tmp_path)
    assert got == [((1 + 1) * 2 ** 7,)]


def test_a_rule_whose_alternatives_expand_exponentially_fails_fast() -> None:
    """24 `(a ; b)` groups in one 400-byte rule made 16 million rules (a minute, a gigabyte)."""
    body = ", ".join(["(a(x) ; a(x))"] * 24)
    start = time.perf_counter()
    err = compile_error(H + f"o(x) :- {body}.\n")
    assert time.perf_counter() - start < 5
    assert "16,777,216 rules" in str(err) and err.span.line == 3


def test_alternatives_within_the_limit_expand(monkeypatch, tmp_path) -> None:
    body = ", ".join(["(a(x) ; a(x))"] * 4)  # 16 rules, one result
    assert run_everywhere(H + f"o(x) :- {body}.\n", [(1,), (2,)], monkeypatch, tmp_path) == [(1,), (2,)]
