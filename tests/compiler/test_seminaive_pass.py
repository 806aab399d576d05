"""The semi-naive pass: one delta variant per recursive use, same results as naive."""
from __future__ import annotations

import dfl
from dfl.api import Program
from dfl.compiler.lower import lower
from dfl.compiler.passes.seminaive import seminaive
from dfl.ir.verify import verify
from dfl.lang.check import check
from dfl.lang.parser import parse

TC2 = ("input e(a: int, b: int)\noutput tc(a: int, b: int)\ntc(x, y) :- e(x, y).\n"
       "tc(x, y) :- tc(x, z), tc(z, y).")


def _body(g):
    (fix,) = g.by_op("fixpoint")
    return fix.attr("body")


def test_double_recursion_gets_two_variants():
    g = seminaive(lower(check(parse(TC2))))
    verify(g)
    body = _body(g)
    (join,) = [n for n in body.by_op("join")][:1]
    joins = body.by_op("join")
    assert len(joins) == 2
    params = {n.id: n.attr("name") for n in body.by_op("param")}
    reads = sorted(tuple(params[i] for i in j.inputs) for j in joins)
    assert reads == [("delta:tc", "full:tc"), ("full:tc", "delta:tc")]


def test_idempotent():
    g = seminaive(lower(check(parse(TC2))))
    assert seminaive(g) == g


def test_same_result_as_naive():
    checked = check(parse(TC2))
    naive = Program(checked, lower(checked))
    semi = Program(checked, seminaive(lower(checked)))
    edges = [(i, (i * 7 + 3) % 40) for i in range(40)] + [(i, i + 1) for i in range(0, 40, 3)]
    assert naive.run(e=edges)["tc"] == semi.run(e=edges)["tc"]


def test_linear_chain_of_many_iterations_is_fast_enough():
    prog = dfl.compile("rel s(n: int)\noutput c(n: int)\ns(0).\ns(n + 1) :- s(n), n < 20000.\n"
                       "c(k) :- k = count : s(_).")
    assert prog.run()["c"] == [(20001,)]
