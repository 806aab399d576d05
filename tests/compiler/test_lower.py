"""Lowering AST -> IR: which operators a program becomes."""
from __future__ import annotations

import dfl
from dfl.compiler.lower import lower
from dfl.ir.verify import verify
from dfl.lang.check import check
from dfl.lang.parser import parse


def graph(src: str):
    g = lower(check(parse(src, "t.dfl")))
    verify(g)
    return g


def ops(g) -> list[str]:
    return [n.op for n in g.nodes]


def test_non_recursive_rule_is_a_pipeline():
    g = graph("input e(a: int, b: int)\noutput p(a: int)\np(x) :- e(x, y), y > 2.")
    assert ops(g) == ["source", "distinct", "filter", "map", "distinct", "sink"]


def test_join_on_shared_variable():
    g = graph("input e(a: int, b: int)\noutput p(a: int, c: int)\np(x, z) :- e(x, y), e(y, z).")
    (join,) = g.by_op("join")
    assert join.attr("left_keys") == (1,) and join.attr("right_keys") == (0,)


def test_constant_in_atom_filters_the_scan():
    g = graph('input e(a: str, b: int)\noutput p(b: int)\np(y) :- e("k", y).')
    (f,) = g.by_op("filter")
    assert f.inputs == (g.by_op("distinct")[0].id,)


def test_recursion_becomes_a_fixpoint_with_a_body():
    g = graph("input e(a: int, b: int)\noutput p(a: int, b: int)\np(x, y) :- e(x, y).\n"
              "p(x, z) :- p(x, y), e(y, z).")
    (fix,) = g.by_op("fixpoint")
    assert fix.attr("rels") == ("p",) and fix.attr("exts") == ("e",)
    body = fix.attr("body")
    names = sorted(n.attr("name") for n in body.by_op("param"))
    assert names == ["ext:e", "full:p"]
    assert [n.attr("rel") for n in body.by_op("yield")] == ["p"]
    assert len(g.by_op("result")) == 1


def test_negation_is_an_anti_join_and_not_monotone():
    g = graph("input n(a: int)\ninput e(a: int, b: int)\noutput lone(a: int)\nlone(x) :- n(x), !e(x, _).")
    (aj,) = g.by_op("anti_join")
    assert aj.attr("left_keys") == (0,) and aj.attr("right_keys") == (0,)
    assert aj.monotone is False


def test_head_aggregate_groups_by_the_other_head_terms():
    g = graph("input e(a: int, b: int)\noutput deg(a: int, n: int)\ndeg(x, count()) :- e(x, _).")
    (agg,) = g.by_op("aggregate")
    assert len(agg.attr("keys")) == 1 and agg.attr("aggs")[0][0] == "count"


def test_body_count_adds_zero_for_empty_groups():
    g = graph("input n(a: int)\ninput e(a: int, b: int)\noutput deg(a: int, k: int)\n"
              "deg(x, k) :- n(x), k = count : e(x, _).")
    assert len(g.by_op("aggregate")) == 1
    assert len(g.by_op("anti_join")) == 1  # the groups with no row get 0


def test_lattice_relation_is_merged():
    g = graph("input e(a: int, b: int)\noutput d(a: int, v: min<int>)\nd(x, y) :- e(x, y).")
    (m,) = g.by_op("lattice_merge")
    assert m.attr("key_arity") == 1 and m.attr("lattices") == ("min",)


def test_generator_is_a_flat_map():
    g = graph('input t(s: str)\noutput w(s: str)\nw(x) :- t(s), x in split(s, " ").')
    assert len(g.by_op("flat_map")) == 1


def test_ticks_lower_to_state_sources_persist_and_defer():
    g = graph("table s(k: int)\nchannel c(k: int)\nnext s(k) :- c(k).\ndelete s(k) :- s(k), c(k).")
    kinds = {(n.attr("rel"), n.attr("kind")) for n in g.by_op("source")}
    assert ("s", "state") in kinds and ("c", "channel") in kinds
    assert {(n.attr("rel"), n.attr("mode")) for n in g.by_op("defer")} == {("s", "insert"), ("s", "delete")}
    assert [n.attr("rel") for n in g.by_op("persist")] == ["s"]


def test_table_facts_are_the_initial_state():
    g = graph("table s(k: int)\ns(1).\ns(2).")
    assert g.relation("s").init == ((1,), (2,))
    assert not g.by_op("values")


def test_int_constant_in_float_column_is_converted():
    prog = dfl.compile("output p(x: float)\np(1).\np(2.5).")
    assert prog.run()["p"] == [(1.0,), (2.5,)]
    assert isinstance(prog.run()["p"][0][0], float)


def test_user_functions_are_inlined():
    g = graph("input p(x: float)\noutput q(y: float)\nfn sq(v: float) -> float = v * v\nq(sq(x)) :- p(x).")
    text = repr(g.by_op("map")[-1].attr("exprs"))
    assert "mul" in text and "sq" not in text
