"""CALM analysis: which outputs are monotone, and where the coordination points are."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import dfl
from dfl.compiler.calm import CalmReport, analyze

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*/prog.dfl"))


def calm(src: str) -> tuple[CalmReport, dfl.api.Program]:
    prog = dfl.compile(src, "prog.dfl")
    return analyze(prog.graph), prog


def line_of(src: str, text: str) -> int:
    """The 1-based line of src that holds text (so tests don't hard-code line numbers)."""
    (n,) = [i for i, line in enumerate(src.splitlines(), start=1) if text in line]
    return n


# Bloom's shopping cart, one tick of messages: adding items is a union and a join,
# monotone; checkout sums the cart after removals, so it must wait for both.
CART = """\
input   catalog(item: str, price: int)
channel add_item(session: str, item: str)
channel add_gift(session: str, item: str)
channel remove_item(session: str, item: str)
channel checkout(session: str)
rel     kept(session: str, item: str)
output  added(session: str, item: str, price: int)
output  cart_total(session: str, total: int)

added(s, i, p) :- add_item(s, i), catalog(i, p).
added(s, i, p) :- add_gift(s, i), catalog(i, p).
kept(s, i) :- add_item(s, i), !remove_item(s, i).
cart_total(s, sum(p)) :- checkout(s), kept(s, i), catalog(i, p).
"""

# The cart kept in a table across ticks: `next` adds, `delete` removes.
CART_TABLE = """\
channel add_item(session: str, item: str)
channel remove_item(session: str, item: str)
table   cart(session: str, item: str)
output  contents(session: str, item: str)
output  requested(session: str, item: str)

next cart(s, i) :- add_item(s, i).
delete cart(s, i) :- remove_item(s, i), cart(s, i).
contents(s, i) :- cart(s, i).
requested(s, i) :- add_item(s, i).
"""

TC = """\
input  edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""

NEG = """\
input  node(a: int)
input  edge(a: int, b: int)
output lonely(a: int)
lonely(x) :- node(x), !edge(x, _).
"""

AGG = """\
input  edge(a: int, b: int)
output degree(a: int, n: int)
degree(x, count()) :- edge(x, _).
"""

SHORTEST = """\
input  road(a: str, b: str, km: int)
input  start(a: str)
output dist(node: str, km: min<int>)
dist(s, 0) :- start(s).
dist(b, d + k) :- dist(a, d), road(a, b, k).
"""


def test_cart_adds_are_coordination_free_checkout_is_not():
    report, _ = calm(CART)
    assert report.outputs == {"added": True, "cart_total": False}
    assert report.needs.get("added") is None
    kinds = {(p.kind, p.span.line) for p in report.points_of("cart_total")}
    assert kinds == {("negation", line_of(CART, "!remove_item")), ("aggregation", line_of(CART, "sum(p)"))}
    (neg,) = [p for p in report.points if p.kind == "negation"]
    assert neg.waits_for == ("remove_item",)
    (agg,) = [p for p in report.points if p.kind == "aggregation"]
    assert "sum" in agg.reason and "kept" in agg.waits_for


def test_cart_table_deletion_is_a_coordination_point():
    report, _ = calm(CART_TABLE)
    (p,) = report.points
    assert p.kind == "deletion" and p.span.line == line_of(CART_TABLE, "delete cart")
    assert set(p.waits_for) == {"remove_item", "cart"}
    # deleting rows makes the table, and what reads it, non-monotone across ticks
    assert report.tables == {"cart": False}
    assert report.outputs == {"contents": False, "requested": True}
    assert report.nodes[p.node].op == "defer" and not report.nodes[p.node].op_monotone


def test_table_with_only_insertions_is_monotone():
    src = CART_TABLE.replace("delete cart(s, i) :- remove_item(s, i), cart(s, i).\n", "")
    report, _ = calm(src)
    assert report.points == []
    assert report.tables == {"cart": True}
    assert all(report.outputs.values())


def test_transitive_closure_is_monotone():
    report, prog = calm(TC)
    assert report.outputs == {"path": True} and report.points == []
    assert all(n.op_monotone and n.output_monotone for n in report.nodes.values())
    # fixpoint bodies are classified too
    (fix,) = prog.graph.by_op("fixpoint")
    assert {n.id for n in fix.attr("body").nodes} <= set(report.nodes)
    assert report.render(TC).endswith("0 coordination points; 1 of 1 output monotone (coordination-free)")


def test_negation_point_at_the_rule_line():
    report, _ = calm(NEG)
    (p,) = report.points
    assert p.kind == "negation" and p.waits_for == ("edge",)
    assert (p.span.line, p.span.col) == (line_of(NEG, "!edge"), 1)
    assert report.outputs == {"lonely": False}


def test_op_monotone_versus_output_monotone():
    report, prog = calm(NEG)
    (aj,) = prog.graph.by_op("anti_join")
    (sink,) = prog.graph.by_op("sink")
    assert not report.nodes[aj.id].op_monotone
    s = report.nodes[sink.id]
    assert s.op_monotone and not s.output_monotone
    assert s.points == (aj.id,) and "negation at 4:1" in s.reason


def test_aggregate_is_an_aggregation_point():
    report, _ = calm(AGG)
    (p,) = report.points
    assert p.kind == "aggregation" and p.span.line == 3 and p.waits_for == ("edge",)
    assert "count" in p.reason


def test_body_count_is_one_aggregation_point():
    # a body count lowers to an aggregate plus an anti_join giving empty groups their 0:
    # one barrier, not a negation of its own
    src = "input e(a: int, b: int)\noutput n(a: int, c: int)\nn(x, c) :- e(x, _), c = count : e(_, x).\n"
    report, prog = calm(src)
    assert [p.kind for p in report.points] == ["aggregation"]
    (aj,) = prog.graph.by_op("anti_join")
    assert not report.nodes[aj.id].op_monotone and "empty groups" in report.nodes[aj.id].reason


def test_min_lattice_shortest_path_is_monotone():
    report, prog = calm(SHORTEST)
    assert report.outputs == {"dist": True} and report.points == []
    merges = [n for n in prog.graph.nodes if n.op == "lattice_merge"]
    assert merges
    for m in merges:
        assert report.nodes[m.id].op_monotone and report.nodes[m.id].output_monotone
        assert "lattice order" in report.nodes[m.id].reason
    assert "output dist: monotone (coordination-free; merged in the lattice order)" in report.render(SHORTEST)


def test_semi_naive_copies_are_one_point():
    src = """\
input  e(a: int, b: int)
input  blocked(a: int)
output tc(a: int, b: int)
tc(x, y) :- e(x, y).
tc(x, y) :- tc(x, z), tc(z, y), !blocked(y).
"""
    report, _ = calm(src)
    (p,) = report.points
    assert p.kind == "negation" and p.span.line == 5 and p.waits_for == ("blocked",)
    assert len(p.copies) == 1  # one delta variant per recursive atom: two anti_joins


def test_render_shows_location_source_and_carets():
    report, _ = calm(CART)
    text = report.render(CART, "cart.dfl")
    line = line_of(CART, "sum(p)")
    assert f"output cart_total: NOT monotone: needs coordination (negation at {line - 1}:1, aggregation at {line}:1)" \
        in text
    assert "output added: monotone (coordination-free)" in text
    assert f"cart.dfl:{line}:1: coordination point (aggregation):" in text
    src_line = CART.splitlines()[line - 1]
    assert f"{line:>4} | {src_line}" in text
    assert "       " + "^" * len(src_line) in text
    assert "hint: barrier:" in text
    assert text.splitlines()[-1] == "2 coordination points; 1 of 2 outputs monotone (coordination-free)"


def test_render_without_source_has_no_caret_lines():
    report, _ = calm(NEG)
    text = report.render()
    assert "prog.dfl:4:1: coordination point (negation):" in text and "^" not in text


def test_to_json_is_serialisable():
    report, _ = calm(CART_TABLE)
    data = json.loads(json.dumps(report.to_json()))
    assert data["outputs"] == {"contents": False, "requested": True}
    assert data["tables"] == {"cart": False}
    (p,) = data["points"]
    assert p["kind"] == "deletion" and p["span"]["line"] == line_of(CART_TABLE, "delete cart")
    assert all({"op", "op_monotone", "output_monotone", "reason", "points"} <= set(n) for n in data["nodes"].values())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_is_analysed(path: Path):
    prog = dfl.load(path)
    report = analyze(prog.graph)
    assert set(report.outputs) == set(prog.outputs)
    text = report.render(prog.source, prog.file)
    assert text.splitlines()[-1].endswith("monotone (coordination-free)")
    # every non-monotone output is explained by at least one point
    assert all(report.points_of(r) for r, ok in report.outputs.items() if not ok)
