"""Projection push-down below joins (compiler/passes/prune.py): a join's sides are cut to
the columns its key and the rule's head read, only where the rows then reach a dedup
before anything counts them; results never change."""
from __future__ import annotations

import dfl
from dfl.compiler.passes.prune import prune
from dfl.compiler.placement import placement
from dfl.ir.verify import verify

HEAD_READS_FEW = """
input e(x: int, y: int, w: int)
input f(y: int, z: int, v: str)
output p(x: int, z: int)
p(x, z) :- e(x, y, w), f(y, z, v), w > 2.
"""

COUNTS = """
input e(x: int, y: int, w: int)
input f(y: int, z: int, v: str)
output c(x: int, n: int)
c(x, count()) :- e(x, y, w), f(y, z, v).
"""


def _joins(g):
    return [n for n in g.nodes if n.op == "join"]


def test_the_sides_of_a_join_are_cut_to_what_is_read() -> None:
    g = dfl.compile(HEAD_READS_FEW).graph
    verify(g)
    (j,) = _joins(g)
    assert j.schema.arity == 4  # x, y | y, z: w and v are not carried
    for side in j.inputs:
        n = g.node(side)
        assert n.op == "map" and n.schema.arity == 2


def test_a_join_feeding_an_aggregate_keeps_every_column() -> None:
    # count() counts distinct body tuples: cutting w or v would merge some of them
    g = dfl.compile(COUNTS).graph
    (j,) = _joins(g)
    assert j.schema.arity == 6
    assert prune(g) == g


def test_cutting_columns_that_make_rows_equal_gives_the_same_results() -> None:
    e = [(1, 2, w) for w in range(3, 9)] + [(4, 2, 5), (1, 3, 7)]
    f = [(2, 10, "a"), (2, 10, "b"), (3, 11, "c"), (2, 12, "d")]
    prog = dfl.compile(HEAD_READS_FEW)
    want = [(1, 10), (1, 11), (1, 12), (4, 10), (4, 12)]
    assert prog.run(target="interp", e=e, f=f)["p"] == want
    assert prog.run(target="cpu", e=e, f=f)["p"] == want
    assert prog.run(e=e, f=f, workers=2)["p"] == want
    c = dfl.compile(COUNTS)
    assert c.run(target="cpu", e=e, f=f)["c"] == c.run(target="interp", e=e, f=f)["c"] == [(1, 19), (4, 3)]


def test_an_exchange_moves_only_the_kept_columns() -> None:
    prog = dfl.compile(HEAD_READS_FEW)
    g = placement(prog.graph, 2).graph
    verify(g)
    for ex in (n for n in g.nodes if n.op == "exchange"):
        assert ex.schema.arity <= 2, ex


def test_a_join_read_by_a_negation_keeps_its_columns_and_its_results() -> None:
    # only joins read by maps (the rule's head) are cut; a negation in between keeps them
    src = """
input e(x: int, y: int, w: int)
input f(y: int, z: int, v: int)
input bad(x: int, z: int)
output p(x: int, z: int)
p(x, z) :- e(x, y, w), f(y, z, v), !bad(x, z).
"""
    prog = dfl.compile(src)
    (j,) = _joins(prog.graph)
    assert j.schema.arity == 6
    rows = dict(e=[(1, 2, 3), (1, 2, 4), (2, 2, 5)], f=[(2, 7, 0), (2, 8, 1)], bad=[(1, 8)])
    assert prog.run(target="cpu", **rows)["p"] == prog.run(target="interp", **rows)["p"] == [(1, 7), (2, 7), (2, 8)]
