"""The range-aggregate pass (compiler/passes/range_aggregates.py): which correlated body
aggregates become `range_aggregate`, the IR text it gives, and the verifier's rule."""
from __future__ import annotations

import doctest
from dataclasses import replace

import pytest

import dfl
from dfl.compiler.lower import lower
from dfl.compiler.passes import range_aggregates as pass_module
from dfl.compiler.passes.pushdown import pushdown
from dfl.compiler.passes.range_aggregates import range_aggregates
from dfl.ir.expr import Col, Fn
from dfl.ir.json_io import dumps, loads
from dfl.ir.types import Type
from dfl.ir.text import parse_graph, print_graph
from dfl.ir.verify import IRError, verify
from dfl.lang.check import check
from dfl.lang.parser import parse

SESSIONS = """input event(u: int, ts: int)
output session(u: int, start: int)
session(u, ts) :- event(u, ts), p = max t : { event(u, t), t < ts }, ts - p > 1800.
"""

# the lowered body aggregate of SESSIONS, and the one node the pass makes of its three
BEFORE = """\
n3 = map(n2) {exprs=[$1:int, $0:int]} : (c0: int, c1: int)
n4 = distinct(n3) : (c0: int, c1: int)
n5 = join(n4, n2) {left_keys=[1], right_keys=[0]} : (c0: int, c1: int, c2: int, c3: int)
n6 = filter(n5) {pred=lt:bool($3:int, $0:int)} : (c0: int, c1: int, c2: int, c3: int)
n7 = aggregate(n6) {keys=[$0:int, $1:int], aggs=[max($3:int)]} : (c0: int, c1: int, c2: int)
n8 = join(n2, n7) {left_keys=[1, 0], right_keys=[0, 1]} : (c0: int, c1: int, c2: int, c3: int, c4: int)"""
AFTER = """\
n7 = range_aggregate(n2, n2) {left_keys=[0], right_keys=[0], value=1, cmp=["lt"], bound=[$1:int], aggs=[max($1:int)]} : (u: int, ts: int, c2: int)
n8 = map(n7) {exprs=[$0:int, $1:int, $1:int, $0:int, $2:int]} : (c0: int, c1: int, c2: int, c3: int, c4: int)"""
# a count: the zeros of empty sets, which lower.py adds with an anti-join and a union, come
# from the op itself (empty="zero") once it answers the outer rows directly
COUNT_AFTER = """\
n7 = range_aggregate(n2, n2) {left_keys=[0], right_keys=[0], value=1, cmp=["lt"], bound=[$1:int], aggs=[count(*)], empty="zero"} : (u: int, ts: int, c2: int)
n11 = map(n7) {exprs=[$0:int, $1:int, $1:int, $0:int, $2:int]} : (c0: int, c1: int, c2: int, c3: int, c4: int)"""


def _lines(g, first: str, last: str) -> str:
    """The node lines from `first` to `last`, without their stratum/span comments."""
    lines = [l.split("  #")[0] for l in print_graph(g).splitlines() if l.startswith("n")]
    ids = [l.split(" ")[0] for l in lines]
    return "\n".join(lines[ids.index(first):ids.index(last) + 1])


def _graph(src: str):
    return pushdown(lower(check(parse(src))))


def _ops(g) -> list[str]:
    out = []
    for n in g.nodes:
        out.append(n.op)
        if n.op == "fixpoint":
            out += _ops(n.attr("body"))
    return out


def test_the_docstring_example_holds() -> None:
    assert doctest.testmod(pass_module).failed == 0


def test_the_ir_text_before_and_after() -> None:
    g = _graph(SESSIONS)
    assert _lines(g, "n3", "n8") == BEFORE
    out = range_aggregates(g)
    verify(out)
    assert _lines(out, "n7", "n8") == AFTER
    assert "n3" not in out and "n4" not in out and "n5" not in out and "n6" not in out


def test_the_ir_text_of_a_count() -> None:
    g = _graph(SESSIONS.replace("p = max t :", "p = count :"))
    assert [n.op for n in g.nodes if n.id in ("n8", "n9", "n10")] == ["anti_join", "map", "union"]
    out = range_aggregates(g)
    verify(out)
    assert _lines(out, "n7", "n11") == COUNT_AFTER
    assert not {"n3", "n4", "n8", "n9", "n10"} & {n.id for n in out.nodes}


def test_the_pipeline_runs_it_and_it_is_idempotent() -> None:
    g = dfl.compile(SESSIONS).graph
    assert "range_aggregate" in _ops(g) and "aggregate" not in _ops(g)
    assert range_aggregates(g) == g


def test_the_op_prints_reads_back_and_goes_through_json() -> None:
    g = dfl.compile(SESSIONS).graph
    assert parse_graph(print_graph(g)) == g
    assert loads(dumps(g)) == g


@pytest.mark.parametrize("body,cmp", [("t < ts", "lt"), ("t <= ts", "le"), ("t > ts", "gt"), ("t >= ts", "ge"),
                                      ("ts > t", "lt"), ("ts >= t", "le"), ("ts < t", "gt"), ("ts <= t", "ge")])
def test_each_comparison_is_read_from_the_right_side(body: str, cmp: str) -> None:
    g = dfl.compile(f"input e(u: int, t: int)\noutput o(u: int, ts: int, p: int)\n"
                    f"o(u, ts, p) :- e(u, ts), p = min t : {{ e(u, t), {body} }}.").graph
    (n,) = g.by_op("range_aggregate")
    assert (n.attr("cmp"), n.attr("value"), n.attr("bound")) == ((cmp,), 1, (Col(1, Type.INT),))  # answered on e(u, ts) directly


@pytest.mark.parametrize("agg", ["count", "sum w", "min w", "max w", "min t", "max t"])
def test_count_sum_min_max_qualify(agg: str) -> None:
    g = dfl.compile("input e(u: int, t: int, w: int)\noutput o(u: int, ts: int, p: int)\n"
                    f"o(u, ts, p) :- e(u, ts, _), p = {agg} : {{ e(u, t, w), t < ts }}.").graph
    (n,) = g.by_op("range_aggregate")
    func, arg = n.attr("aggs")[0]
    assert func == agg.split()[0] and (arg is None) == (func == "count")
    assert not g.by_op("aggregate")


@pytest.mark.parametrize("why,src", [
    ("a float sum is exactly rounded over its rows",
     "input e(u: int, t: int, w: float)\noutput o(u: int, ts: int, p: float)\n"
     "o(u, ts, p) :- e(u, ts, _), p = sum w : { e(u, t, w), t < ts }."),
    ("mean", "input e(u: int, t: int)\noutput o(u: int, ts: int, p: float)\n"
             "o(u, ts, p) :- e(u, ts), p = mean t : { e(u, t), t < ts }."),
    ("string order is not the codes' order", "input e(u: int, t: str)\noutput o(u: int, ts: str, p: str)\n"
                                              "o(u, ts, p) :- e(u, ts), p = max t : { e(u, t), t < ts }."),
    ("an expression of the local value", "input e(u: int, t: int)\noutput o(u: int, ts: int, p: int)\n"
                                         "o(u, ts, p) :- e(u, ts), p = max t : { e(u, t), t < ts, t + 100 > ts }."),
    ("two upper bounds", "input e(u: int, t: int)\noutput o(u: int, ts: int, p: int)\n"
                         "o(u, ts, p) :- e(u, ts), p = count : { e(u, t), t < ts, t <= ts - 5 }."),
    ("a window's max of another column", "input e(u: int, t: int, w: int)\noutput o(u: int, ts: int, p: int)\n"
     "o(u, ts, p) :- e(u, ts, _), p = max w : { e(u, t, w), t < ts, t > ts - 9 }."),
    ("a comparison of expressions", "input e(u: int, t: int)\noutput o(u: int, ts: int, p: int)\n"
                                    "o(u, ts, p) :- e(u, ts), p = max t : { e(u, t), t + 1 < ts }."),
    ("an argument computed from the row", "input e(u: int, t: int)\noutput o(u: int, ts: int, p: int)\n"
                                          "o(u, ts, p) :- e(u, ts), p = max (t * 2) : { e(u, t), t < ts }."),
    ("two atoms in the braces", "input e(u: int, t: int)\ninput f(t: int)\noutput o(u: int, ts: int, p: int)\n"
                                "o(u, ts, p) :- e(u, ts), p = max t : { e(u, t), f(t), t < ts }."),
    ("a test that may fail stays above the join", "input e(u: int, t: int)\noutput o(u: int, ts: int, p: int)\n"
     "o(u, ts, p) :- e(u, ts), p = max t : { e(u, t), t < ts, 10 / t > 1 }."),
    ("no correlated comparison", "input e(u: int, t: int)\noutput o(u: int, p: int)\n"
                                 "o(u, p) :- e(u, _), p = max t : { e(u, t), t < 5 }."),
    ("a head aggregate", "input e(u: int, t: int)\noutput o(u: int, p: int)\no(u, max(t)) :- e(u, t), t < 5."),
])
def test_what_does_not_qualify_keeps_the_aggregate(why: str, src: str) -> None:
    g = dfl.compile(src).graph
    assert not g.by_op("range_aggregate"), why
    assert g.by_op("aggregate"), why


@pytest.mark.parametrize("agg", ["count", "sum w", "min t", "max t"])
def test_a_window_with_computed_bounds_qualifies(agg: str) -> None:
    g = dfl.compile("input e(u: int, t: int, w: int)\noutput o(u: int, ts: int, p: int)\n"
                    f"o(u, ts, p) :- e(u, ts, _), p = {agg} : {{ e(u, t, w), t > ts - 3600, t <= ts }}.").graph
    verify(g)
    (n,) = g.by_op("range_aggregate")
    assert sorted(n.attr("cmp")) == ["gt", "le"] and not g.by_op("aggregate")
    assert {b.op if isinstance(b, Fn) else "col" for b in n.attr("bound")} == {"sub", "col"}  # ts - 3600, ts


def test_inside_a_fixpoint_body() -> None:
    g = dfl.compile("""input e(u: int, t: int)
input start(u: int, t: int)
output r(u: int, t: int)
r(u, t) :- start(u, t).
r(u, p) :- r(u, t), p = max s : { e(u, s), s < t }.""").graph
    verify(g)
    (fix,) = g.by_op("fixpoint")
    body = fix.attr("body")
    (n,) = body.by_op("range_aggregate")  # on r's rows directly: one use of r, one delta variant
    assert body.node(n.inputs[0]).attr("name") == "delta:r" and not body.by_op("aggregate")


def _sessions_node():
    g = dfl.compile(SESSIONS).graph
    (n,) = g.by_op("range_aggregate")
    return g, n


@pytest.mark.parametrize("change,message", [
    ({"cmp": ("eq",)}, "one or two of lt, le, gt, ge"),
    ({"cmp": "lt"}, "one or two of lt, le, gt, ge"),
    ({"cmp": ("lt", "le"), "bound": (Col(1, Type.INT),) * 2}, "from below and from above"),
    ({"cmp": ("lt", "gt")}, "each with its bound column"),
    ({"value": 5}, "value 5 is not a column of the right input"),
    ({"empty": "zero"}, "empty 'zero'"),
    ({"empty": "nothing"}, "empty 'nothing'"),
    ({"bound": (Col(5, Type.INT),)}, "bound \\(over the left input\\): column \\$5 is out of range"),
    ({"bound": (Col(0, Type.FLOAT),)}, "is typed float but the input column is int"),
    ({"aggs": (("mean", None),)}, "is not one of count"),
    ({"aggs": (("count", None), ("count", None))}, "is not one of count"),
    ({"left_keys": (0, 1)}, "2 left_keys but 1 right_keys"),
])
def test_the_verifier_rejects_a_malformed_range_aggregate(change: dict, message: str) -> None:
    g, n = _sessions_node()
    bad = g.with_nodes(n.with_attrs(**change) if m.id == n.id else m for m in g.nodes)
    with pytest.raises(IRError, match=message):
        verify(bad)


def test_the_verifier_checks_the_output_schema() -> None:
    g, n = _sessions_node()
    from dfl.ir.types import Column, Schema, Type

    wrong = replace(n, schema=Schema(n.schema.columns[:2] + (Column("c2", Type.FLOAT),)))
    with pytest.raises(IRError, match="left columns \\+\\+ the aggregate value"):
        verify(g.with_nodes(wrong if m.id == n.id else m for m in g.nodes))


def test_auto_placement_keeps_it_on_the_cpu_where_a_gpu_is_there() -> None:
    # the cuda target runs it as the join it replaced: the cost model prices it so
    from dfl.compiler.cost import CostModel
    from dfl.compiler.placement import placement

    g = dfl.compile(SESSIONS).graph
    placed = placement(g, 1, CostModel(rows={"event": 2_000_000}, gpu=True)).graph
    (n,) = placed.by_op("range_aggregate")
    assert n.attr("device") == "cpu"
    joined = placement(dfl.compile(SESSIONS.replace("max t : { event(u, t), t < ts }", "max t : event(u, t)"))
                       .graph, 1, CostModel(rows={"event": 2_000_000}, gpu=True)).graph
    assert {m.attr("device") for m in joined.nodes if m.op == "aggregate"} == {"cuda"}  # the test can fail
