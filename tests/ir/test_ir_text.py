"""The text form: exact round trips, readability, and errors that name the line."""
from __future__ import annotations

import math

import pytest

from irsamples import N, TRICKY_STR, anon, schema
from dfl.errors import Span
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import Graph, Node, RelDecl
from dfl.ir.text import parse_graph, print_graph
from dfl.ir.types import Schema, Type

I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL


def roundtrip(g: Graph) -> Graph:
    text = print_graph(g)
    back = parse_graph(text)
    # printing again tells -0.0 from 0.0, 1 from 1.0 and True from 1, which == does not
    assert print_graph(back) == text
    return back


def test_sample_round_trips(sample):
    assert roundtrip(sample) == sample


def test_program_graphs_round_trip(program):
    assert roundtrip(program) == program


def test_text_is_readable(sample):
    text = print_graph(sample)
    lines = text.splitlines()
    assert lines[0] == "dfl-ir 1"
    assert lines[1] == 'file "prog.dfl"'
    assert "relation edge(src: int, dst: int) kinds=[input]" in lines
    assert 'relation best(k: str, d: min<int>) kinds=[output, table] init=[(' in text
    assert ('n9 = join(n4, n6) {left_keys=[1], right_keys=[0]} : '
            '(c0: int, c1: int, c2: int, c3: int, c4: float, c5: str, c6: bool, c7: float)  # stratum 1') in lines
    assert "add:int($0:int, 1:int)" in text
    assert "aggs=[count(*), sum($1:int), mean($4:float), max($5:str)]" in text
    assert "n3 = union(n1, n2) : (src: int, dst: int)  # stratum 0" in lines
    assert "n1 = source() {rel=\"edge\", kind=\"input\"} : (src: int, dst: int)  # stratum 0, at 1:1-1:20" in lines
    assert "# stratum 3, nonmonotone" in text
    # the fixpoint body is indented under its node, in braces
    i = lines.index("  body {")
    assert lines[i - 1].startswith("n15 = fixpoint(n14, n4) {rels=[\"tc\"], exts=[\"edge\"], body=graph} : ()")
    assert lines[i + 1].startswith("    b1 = param() {name=\"full:tc\"}")
    assert "  }" in lines
    # one node per line: every string escape keeps lines whole
    assert sum(1 for ln in lines if " = " in ln and not ln.startswith("relation")) == len(sample.nodes) + 7


def test_deterministic(sample):
    assert print_graph(sample) == print_graph(sample)


@pytest.mark.parametrize("value", [0.1, 1e300, -0.0, 0.0, 5e-324, 1.7976931348623157e308, float("inf"),
                                   -float("inf"), 1.0, -2.5, 123456789.125, 1e16, 1e-7])
def test_floats_exact(value):
    g = Graph((N("n1", "values", (), {"rows": ((value,),)}, anon(F)),
               N("n2", "map", ("n1",), {"exprs": (Lit(value, F),)}, anon(F))))
    back = roundtrip(g)
    got_row = back.nodes[0].attr("rows")[0][0]
    got_lit = back.nodes[1].attr("exprs")[0].value
    for got in (got_row, got_lit):
        assert type(got) is float
        assert math.copysign(1, got) == math.copysign(1, value) and (got == value)


def test_nan_round_trips():
    g = Graph((N("n1", "values", (), {"rows": ((float("nan"), 1),)}, anon(F, I)),
               N("n2", "map", ("n1",), {"exprs": (Lit(float("nan"), F),)}, anon(F))))
    text = print_graph(g)
    assert "(nan, 1)" in text and "nan:float" in text
    back = parse_graph(text)
    assert print_graph(back) == text  # nan != nan, so compare the printed forms
    assert math.isnan(back.nodes[0].attr("rows")[0][0])
    assert math.isnan(back.nodes[1].attr("exprs")[0].value)


@pytest.mark.parametrize("s", ["", '"', "\\", "\n", "\t\r", "a\"b\\c", "é😀", "\u2028\u2029\x85\x0b\x0c",
                               "\ud800", TRICKY_STR, "# not a comment", "}", "line1\nn2 = bogus()"])
def test_strings_exact(s):
    g = Graph((N("n1", "values", (), {"rows": ((s,),)}, schema((s or "x", S))),
               N("n2", "map", ("n1",), {"exprs": (Lit(s, S),)}, anon(S))),
              (RelDecl(s, (s,), schema((s, S)), ((s,),)),))
    assert roundtrip(g) == g
    assert len(print_graph(g).split("\n")) == 5  # version, relation, two nodes, final newline


def test_values_keep_python_types():
    rows = ((1, 1.0, True, "1"), (0, 0.0, False, ""), (-1, -1.0, True, "-1"))
    g = Graph((N("n1", "values", (), {"rows": rows}, anon(I, F, B, S)),))
    back = roundtrip(g)
    for got, want in zip(back.nodes[0].attr("rows"), rows):
        assert [type(v) for v in got] == [type(v) for v in want]
        assert got == want


def test_literals_keep_value_type_apart_from_ir_type():
    # an int literal declared float (as a sloppy pass might make) stays an int
    exprs = (Lit(0, F), Lit(0.0, F), Lit(True, I), Lit(None, I), Lit((1, "a"), S), Lit("x", Type.ADDR))
    g = Graph((N("n1", "values", (), {"rows": ((),)}, Schema(())),
               N("n2", "map", ("n1",), {"exprs": exprs}, anon(F, F, I, I, S, Type.ADDR))))
    back = roundtrip(g)
    got = back.nodes[1].attr("exprs")
    assert [type(e.value) for e in got] == [int, float, bool, type(None), tuple, str]


def test_weird_names_are_quoted():
    weird = ["1abc", "with space", "inf", "nan", "a-b", "", "é", "relation", "file", "true", "graph", "=", "}"]
    nodes, prev = [], ()
    for k, w in enumerate(weird):
        nodes.append(Node(w, w, prev, ((w, w), ("k", (w,))), schema((w, I, w)), k, k % 2 == 0,
                          Span(w, k, k, k, k)))
        prev = (w,)
    g = Graph(tuple(nodes), (RelDecl(w, (w,), schema((w, F))) for w in weird))
    g = Graph(g.nodes, tuple(g.relations))
    assert roundtrip(g) == g


def test_unknown_ops_and_attrs_round_trip():
    g = Graph((Node("x", "exchange", (), (("by", (0, 1)), ("nested", ((1, ("a", None)), ())),
                                          ("e", Fn("weird op", (), I)), ("t", Fn("true", (Lit(True, B),), B))),
                    Schema(()), -1, False, None),))
    assert roundtrip(g) == g


def test_aggs_shape_outside_aggs_stays_generic():
    g = Graph((Node("x", "thing", (), (("pairs", (("count", None), ("sum", Col(0, I)))),
                                       ("aggs", (("count", None), ("a b", None), 7))), Schema(()), 0, True, None),))
    text = print_graph(g)
    assert '("count", none)' in text
    assert roundtrip(g) == g


def test_nested_fixpoints_and_body_relations():
    inner = Graph((N("p", "param", (), {"name": "full:r"}, anon(I)),), (RelDecl("r", ("rel",), anon(I)),))
    mid = Graph((N("q", "fixpoint", (), {"rels": (), "exts": (), "body": inner}, Schema(())),
                 N("z", "thing2", (), {"g2": inner, "g1": inner}, Schema(()))))
    g = Graph((N("top", "fixpoint", (), {"rels": (), "exts": (), "body": mid}, Schema(()),
                 span=Span("a.dfl", 1, 2, 3, 4)),
               N("after", "sink", ("top",), {"rel": "r"}, Schema(()))))
    assert roundtrip(g) == g


def test_spans_from_several_files():
    g = Graph((N("a", "values", (), {"rows": ()}, Schema(()), span=Span("f1.dfl", 1, 1, 1, 2)),
               N("b", "values", (), {"rows": ()}, Schema(()), span=Span("f2.dfl", 10, 5, 12, 1)),
               N("c", "values", (), {"rows": ()}, Schema(()))))
    text = print_graph(g)
    assert 'at "f2.dfl":10:5-12:1' in text and "at 1:1-1:2" in text
    assert roundtrip(g) == g


def test_empty_graph():
    assert print_graph(Graph(())) == "dfl-ir 1\n"
    assert parse_graph("dfl-ir 1\n") == Graph(())


def test_hand_written_text_with_defaults_and_comments():
    text = """
# a hand-written graph
dfl-ir 1

relation e(a: int) kinds=[input]
n1 = source() {rel="e", kind="input"} : (a: int)
n2 = aggregate(n1) {keys=[], aggs=[count(*)]} : (c: int)   # stratum 2
"""
    g = parse_graph(text)
    assert g.nodes[0].stratum == 0 and g.nodes[0].span is None and g.nodes[0].monotone
    assert g.nodes[1].stratum == 2 and g.nodes[1].monotone is False  # aggregate's default
    assert g.nodes[1].attr("aggs") == (("count", None),)


@pytest.mark.parametrize("text, line, words", [
    ("", 1, "version"),
    ("dfl-ir 2\n", 1, "version 2"),
    ("hello\n", 1, "version"),
    ("dfl-ir 1\nn1 = values( : ()\n", 2, "expected"),
    ("dfl-ir 1\nn1 = values() {rows=[(1, 2]} : ()\n", 2, "expected"),
    ("dfl-ir 1\nn1 = values() : (a: integer)\n", 2, "type"),
    ("dfl-ir 1\nn1 = values() : (a: int)\nn2 = map(n1) {exprs=[$0]} : ()\n", 3, "expected ':'"),
    ("dfl-ir 1\nn1 = values() {rows=[\"abc]} : ()\n", 2, "unexpected character"),
    ("dfl-ir 1\nn1 = values() {s=\"\\q\"} : ()\n", 2, "escape"),
    ("dfl-ir 1\nn1 = values() : () # at 1:1-1:2\n", 2, "file"),
    ("dfl-ir 1\nn1 = values() : () # stratum x\n", 2, "integer"),
    ("dfl-ir 1\nn1 = values() : () # colour blue\n", 2, "stratum"),
    ("dfl-ir 1\nn1 = values() : () extra\n", 2, "unexpected"),
    ("dfl-ir 1\nn1 = fixpoint() {body=graph} : ()\n", 2, "block"),
    ("dfl-ir 1\nn1 = fixpoint() {body=graph} : ()\n  other {\n  }\n", 3, "body"),
    ("dfl-ir 1\nn1 = fixpoint() {body=graph} : ()\n  body {\n", 3, "not closed"),
    ("dfl-ir 1\n}\n", 2, "closes no block"),
    ("dfl-ir 1\nwhat is this\n", 2, "expected a node"),
    ("dfl-ir 1\nn1 = m() {e=foo:int} : ()\n", 2, "'('"),
    ("dfl-ir 1\nn1 = m() {e=[graph]} : ()\n", 2, "graph"),
    ("dfl-ir 1\nrelation r(a: int)\n", 2, "'kinds'"),
    ("dfl-ir 1\nrelation r(a: int) kinds=[] init=[1]\n", 2, "rows"),
    ("dfl-ir 1\nn1 = m() {e=add:int($0:int, 5)} : ()\n", 2, "expressions"),
])
def test_malformed_text_names_the_line(text, line, words):
    with pytest.raises(ValueError) as e:
        parse_graph(text)
    msg = str(e.value)
    assert msg.startswith(f"line {line}"), msg
    assert words in msg, msg


def test_unprintable_values_are_refused():
    g = Graph((Node("x", "thing", (), (("d", {"a": 1}),), Schema(()), 0, True, None),))
    with pytest.raises(ValueError):
        print_graph(g)
