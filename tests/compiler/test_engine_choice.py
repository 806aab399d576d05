"""compiler/engine_choice.py: the default engine by input bytes, at and around its limits."""
from __future__ import annotations

import dfl
from dfl.compiler.engine_choice import INTERP_MAX_BYTES, INTERP_MAX_BYTES_RECURSIVE, choose_engine

GROUPBY = dfl.compile("input sale(id: int, k: int, v: int)\noutput total(k: int, n: int)\n"
                      "total(k, count()) :- sale(_, k, _).\n")
TC = dfl.compile("input edge(a: int, b: int)\noutput path(a: int, b: int)\n"
                 "path(a, b) :- edge(a, b).\npath(a, c) :- path(a, b), edge(b, c).\n")


def test_the_limits_are_ordered() -> None:
    assert 0 < INTERP_MAX_BYTES_RECURSIVE < INTERP_MAX_BYTES


def test_at_the_limit_interp_one_byte_over_cpu() -> None:
    assert choose_engine(GROUPBY.graph, {"sale": INTERP_MAX_BYTES}).target == "interp"
    assert choose_engine(GROUPBY.graph, {"sale": INTERP_MAX_BYTES + 1}).target == "cpu"


def test_a_recursive_program_has_the_lower_limit() -> None:
    assert choose_engine(TC.graph, {"edge": INTERP_MAX_BYTES_RECURSIVE}).target == "interp"
    over = choose_engine(TC.graph, {"edge": INTERP_MAX_BYTES_RECURSIVE + 1})
    assert over.target == "cpu" and "recursive" in over.reason
    assert choose_engine(GROUPBY.graph, {"sale": INTERP_MAX_BYTES_RECURSIVE + 1}).target == "interp"


def test_sizes_add_up_over_relations() -> None:
    half = INTERP_MAX_BYTES // 2 + 1
    prog = dfl.compile("input a(x: int)\ninput b(x: int)\noutput c(x: int)\nc(x) :- a(x), b(x).\n")
    assert choose_engine(prog.graph, {"a": half}).target == "interp"
    assert choose_engine(prog.graph, {"a": half, "b": half}).target == "cpu"


def test_no_input_files_is_small() -> None:
    choice = choose_engine(TC.graph, {})
    assert choice.target == "interp" and choice.reason.startswith("inputs 0 B")
