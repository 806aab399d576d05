"""The JSON form: versioned, exact round trips, and readable from other front ends."""
from __future__ import annotations

import json
import math

import pytest

from irsamples import N, anon
from dfl.errors import Span
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import Graph, Node, RelDecl
from dfl.ir.json_io import dumps, from_json, loads, to_json
from dfl.ir.text import print_graph
from dfl.ir.types import Schema, Type

I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL


def roundtrip(g: Graph) -> Graph:
    back = from_json(to_json(g))
    text = dumps(g)
    again = loads(text)
    # the text form tells -0.0 from 0.0, 1 from 1.0 and True from 1, which == does not
    assert print_graph(back) == print_graph(g) == print_graph(again)
    assert dumps(again) == text
    return again


def test_sample_round_trips(sample):
    assert roundtrip(sample) == sample


def test_program_graphs_round_trip(program):
    assert roundtrip(program) == program


def test_document_shape(sample):
    d = to_json(sample)
    assert list(d) == ["format", "version", "relations", "nodes"]
    assert d["format"] == "dfl-ir" and d["version"] == 2
    json.dumps(d, allow_nan=False)  # standard JSON: no NaN/Infinity tokens
    n9 = next(n for n in d["nodes"] if n["id"] == "n9")
    assert n9["attrs"] == {"left_keys": [1], "right_keys": [0]}
    assert n9["inputs"] == ["n4", "n6"]
    n5 = next(n for n in d["nodes"] if n["id"] == "n5")
    assert n5["attrs"]["pred"]["fn"] == "and"
    assert n5["attrs"]["pred"]["args"][1]["args"] == [{"col": 0, "type": "int"}, {"lit": -3, "type": "int"}]
    n11 = next(n for n in d["nodes"] if n["id"] == "n11")
    assert n11["attrs"]["aggs"][0] == ["count", None]
    n15 = next(n for n in d["nodes"] if n["id"] == "n15")
    assert n15["attrs"]["body"]["graph"]["nodes"][0]["attrs"] == {"name": "full:tc"}
    assert n15["span"] == {"file": "prog.dfl", "line": 7, "col": 1, "end_line": 7, "end_col": 34}
    n19 = next(n for n in d["nodes"] if n["id"] == "n19")
    assert n19["attrs"]["rows"][1] == [{"float": "inf"}, False]
    assert n19["monotone"] is False
    best = next(r for r in d["relations"] if r["name"] == "best")
    assert best["columns"][1] == {"name": "d", "type": "int", "lattice": "min"}


def test_floats_nan_and_mismatched_types():
    rows = ((float("nan"), 1), (-0.0, 2), (1e300, 3), (0.1, 4), (3, 5), (2.5, 6.0))
    g = Graph((N("n1", "values", (), {"rows": rows}, anon(F, I)),
               N("n2", "map", ("n1",), {"exprs": (Lit(float("-inf"), F), Lit(0, F), Lit(2.0, I))}, anon(F, F, I))))
    d = to_json(g)
    assert d["nodes"][0]["attrs"]["rows"][0] == [{"float": "nan"}, 1]
    assert d["nodes"][0]["attrs"]["rows"][4] == [{"int": 3}, 5]  # an int in a float column
    assert d["nodes"][0]["attrs"]["rows"][5] == [2.5, {"float": 6.0}]  # a float in an int column
    back = roundtrip(g)
    got = back.nodes[0].attr("rows")
    assert math.isnan(got[0][0])
    assert math.copysign(1, got[1][0]) == -1
    assert [type(v) for r in got for v in r] == [type(v) for r in rows for v in r]
    assert [type(e.value) for e in back.nodes[1].attr("exprs")] == [float, int, float]


def test_foreign_emitter_numbers_follow_the_declared_type():
    # another front end may write 1 for a float and 2.0 for an int: the column type decides
    doc = {"format": "dfl-ir", "version": 1,
           "relations": [{"name": "r", "kinds": ["input"], "columns": [{"name": "x", "type": "float"}],
                          "init": [[1], [2.5]]}],
           "nodes": [{"id": "a", "op": "values", "attrs": {"rows": [[1, 2.0]]},
                      "columns": [{"name": "x", "type": "float"}, {"name": "y", "type": "int"}]},
                     {"id": "b", "op": "map", "inputs": ["a"],
                      "attrs": {"exprs": [{"lit": 3, "type": "float"}, {"col": 1, "type": "int"}]},
                      "columns": [{"name": "z", "type": "float"}, {"name": "y", "type": "int"}]}]}
    g = from_json(doc)
    assert g.relations[0].init == ((1.0,), (2.5,)) and type(g.relations[0].init[0][0]) is float
    row = g.nodes[0].attr("rows")[0]
    assert (type(row[0]), type(row[1])) == (float, int)
    assert type(g.nodes[1].attr("exprs")[0].value) is float
    # optional fields take their defaults
    assert g.nodes[0].stratum == 0 and g.nodes[0].span is None and g.nodes[0].monotone
    assert g.nodes[0].inputs == ()
    from dfl.ir.verify import verify

    verify(g)


def test_strings_and_names():
    s = 'a"b\\c\nd\t😀\u2028\x00'
    g = Graph((Node(s, s, (), ((s, s), ("t", (s, (s,)))), Schema(()), 0, True, Span(s, 1, 2, 3, 4)),),
              (RelDecl(s, (s,), anon(S), ((s,),)),))
    assert roundtrip(g) == g


def test_generic_attribute_values():
    g = Graph((Node("x", "exchange", (), (("by", (0, 1)), ("f", 1.5), ("i", 1), ("b", True), ("none", None),
                                          ("nested", ((1, ("a", None)), ())),
                                          ("e", Fn("weird op", (Col(0, I), Lit(None, I)), I)),
                                          ("rows", 5)),
                    Schema(()), -3, False, None),
               Node("v", "values", (), (("rows", (1, 2)),), Schema(()), 0, True, None)))
    back = roundtrip(g)
    assert back == g
    assert type(back.nodes[0].attr("f")) is float and type(back.nodes[0].attr("i")) is int


@pytest.mark.parametrize("doc, words", [
    ([], "format"),
    ({"format": "other", "version": 1, "nodes": []}, "format"),
    ({"format": "dfl-ir", "version": 3, "nodes": []}, "version 3"),
    ({"format": "dfl-ir", "version": 1}, "nodes"),
    ({"format": "dfl-ir", "version": 1, "nodes": [{"op": "values", "columns": []}]}, "nodes[0].id"),
    ({"format": "dfl-ir", "version": 1, "nodes": [{"id": "a", "op": "values", "columns": [{"name": "x"}]}]},
     "columns[0].type"),
    ({"format": "dfl-ir", "version": 1, "nodes": [{"id": "a", "op": "m", "columns": [],
                                                  "attrs": {"e": {"what": 1}}}]}, "attrs.e"),
    ({"format": "dfl-ir", "version": 1, "nodes": [{"id": "a", "op": "values", "columns": [{"name": "x", "type": "int"}],
                                                  "attrs": {"rows": [[1.5]]}}]}, "integer"),
    ({"format": "dfl-ir", "version": 1, "nodes": [{"id": "a", "op": "m", "columns": [], "stratum": "1"}]},
     "stratum"),
    ({"format": "dfl-ir", "version": 1, "nodes": [{"id": "a", "op": "m", "columns": [],
                                                  "attrs": {"e": {"fn": "f", "args": [1], "type": "int"}}}]},
     "expression"),
])
def test_malformed_documents(doc, words):
    with pytest.raises(ValueError) as e:
        from_json(doc)
    assert words in str(e.value), str(e.value)


def test_loads_rejects_bad_json():
    with pytest.raises(ValueError, match="not JSON"):
        loads("{")


def test_duplicate_attribute_keys_are_refused():
    g = Graph((Node("x", "m", (), (("a", 1), ("a", 2)), Schema(()), 0, True, None),))
    with pytest.raises(ValueError, match="twice"):
        to_json(g)


def test_dumps_indent(sample):
    assert loads(dumps(sample, indent=2)) == sample
