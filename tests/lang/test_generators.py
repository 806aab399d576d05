"""Generators over a variable that is already bound (docs/semantics.md): a membership test.

`w in split(t, " "), w in split(t, ",")` crashed the safety check (AttributeError). As in
Soufflé, where a bound variable anywhere is an equality test, the second generator keeps
the rows whose `w` is one of its elements; it does not bind `w` again.
"""
from __future__ import annotations

import pytest

import dfl

ROWS = [("a b,c d",), ("x,y y",), ("p",), ("q q,q",)]


@pytest.mark.parametrize("target", ["interp", "cpu"])
def test_a_second_generator_of_a_bound_variable_tests_membership(target: str) -> None:
    src = 'input t(s: str)\noutput o(w: str)\no(w) :- t(s), w in split(s, " "), w in split(s, ",").\n'
    got = dfl.compile(src).run(t=ROWS, target=target)["o"]
    want = {(w,) for (s,) in ROWS for w in s.split(" ") if w in s.split(",")}
    assert set(got) == want == {("p",), ("q",)}


@pytest.mark.parametrize("target", ["interp", "cpu"])
def test_a_generator_of_a_variable_bound_by_an_atom_is_a_filter(target: str) -> None:
    src = ("input a(n: int, lo: int, hi: int)\noutput o(n: int)\n"
           "o(n) :- n in range(lo, hi), a(n, lo, hi).\n")
    got = dfl.compile(src).run(a=[(1, 0, 3), (3, 0, 3), (-1, -2, 0), (5, 5, 5)], target=target)["o"]
    assert sorted(got) == [(-1,), (1,)]
