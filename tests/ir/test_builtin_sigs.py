"""Builtin signatures: one list of what can fail at run time, read by the checker and the IR.

Before, lang/safety.py and compiler/passes/pushdown.py kept lists of their own, and they
disagreed (split); both now read ir/builtin_sigs.py.
"""
from __future__ import annotations

import pytest

from dfl.errors import Span
from dfl.ir.builtin_sigs import FAILING_OPERATORS, MAY_FAIL, SIGS, may_fail
from dfl.ir.expr import ARITH_OPS, Col, Fn, Lit
from dfl.ir.types import Type
from dfl.lang import ast
from dfl.lang.safety import may_fail as checker_may_fail
from dfl.stdlib.builtins import BUILTINS

I, F = Type.INT, Type.FLOAT
AT = Span("t.dfl", 1, 1, 1, 2)


def test_every_signature_has_its_implementation() -> None:
    assert BUILTINS.keys() == SIGS.keys()
    assert all(BUILTINS[n].sig is SIGS[n] for n in SIGS)


@pytest.mark.parametrize("name", sorted(SIGS))
def test_the_checker_and_the_ir_agree_on_each_builtin(name: str) -> None:
    sig = SIGS[name]
    call = ast.Call(name, tuple(ast.Var(f"x{k}", AT) for k in range(sig.arities[0])), AT)
    fn = Fn(name, tuple(Col(k, I) for k in range(sig.arities[0])), I)
    assert checker_may_fail(call) == may_fail(fn) == sig.may_fail


@pytest.mark.parametrize("symbol", ["+", "-", "*", "/", "//", "%"])
def test_the_checker_and_the_ir_agree_on_each_operator(symbol: str) -> None:
    ir_name = {"+": "add", "-": "sub", "*": "mul"}.get(symbol) or FAILING_OPERATORS[symbol]
    assert ir_name in ARITH_OPS
    e = ast.BinOp(symbol, ast.Var("x", AT), ast.Var("y", AT), AT)
    assert checker_may_fail(e) == may_fail(Fn(ir_name, (Col(0, I), Col(1, I)), I))


def test_failure_is_found_inside_an_expression() -> None:
    inner = Fn("sqrt", (Col(0, F),), F)
    assert may_fail(Fn("add", (Lit(1.0, F), inner), F))
    assert not may_fail(Fn("add", (Lit(1.0, F), Col(0, F)), F))
    assert not may_fail(Col(0, F))


def test_user_functions_count_as_failing_in_the_checker() -> None:
    # they are inlined before the IR, where their bodies are checked function by function
    assert checker_may_fail(ast.Call("my_fn", (ast.Var("x", AT),), AT))


def test_the_list_names_real_functions() -> None:
    assert MAY_FAIL <= set(SIGS) | set(ARITH_OPS)
