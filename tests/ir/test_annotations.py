"""Annotations on the IR (ir/annotations.py, read by ir/hints.py): lowered onto relations and nodes, printed and
read back by the text and JSON forms, checked by the verifier, read by the autoscaler's
policy from the graph alone."""
from __future__ import annotations

import doctest
import json

import pytest

import dfl
from dfl.api import Program
from dfl.ir import annotations, json_io, text
from dfl.ir.annotations import Annotation
from dfl.ir.hints import device_of, partition_column, program_values
from dfl.ir.expr import Lit
from dfl.ir.graph import Graph, Node, RelDecl
from dfl.ir.types import Column, Schema, Type
from dfl.ir.verify import IRError, verify
from dfl.runtime.options import RunOptions
from dfl.runtime.session import policy_for

SRC = """\
@partition(b)
@slo(p99_ms = 50)
input e(a: int, b: int)
output o(a: int)
output q(a: int)
@device(cpu)
@replicas(min = 1, max = 3)
o(x) :- e(x, _).
q(y) :- e(_, y).
"""

S = Schema((Column("a", Type.INT), Column("b", Type.INT)))


def test_module_examples() -> None:
    assert doctest.testmod(annotations).failed == 0


def test_lowering_puts_declaration_and_rule_annotations_on_the_ir() -> None:
    g = dfl.compile(SRC, "p.dfl").graph
    e = g.relation("e")
    assert [str(a) for a in e.annotations] == ["@partition(b)", "@slo(p99_ms = 50)"]
    assert partition_column(e) == 1
    assert g.relation("o").annotations == ()
    # every node of the rule `o(x) :- e(x, _).` (line 8), and no other, carries its annotations
    marked = [n for n in g.nodes if n.annotations]
    assert marked and all(n.span.line == 8 and device_of(n) == "cpu" for n in marked)
    assert not any(n.span is not None and n.span.line == 9 and n.annotations for n in g.nodes)
    # program-wide policy: declarations first, then rules
    assert program_values(g, "slo") == {"p99_ms": 50}
    assert program_values(g, "replicas") == {"min": 1, "max": 3}
    assert program_values(g, "nothing") is None


def test_policy_is_read_from_the_graph_alone() -> None:
    g = dfl.compile(SRC, "p.dfl").graph
    back = Program.from_graph(json_io.loads(json_io.dumps(g)))
    policy = policy_for(back, RunOptions(autoscale="program"))
    assert (policy.min_workers, policy.max_workers, policy.target_latency_s) == (1, 3, 0.05)


def test_the_first_rule_annotation_in_source_order_wins() -> None:
    src = ("input e(a: int)\noutput o(a: int)\noutput p(a: int)\n"
           "@slo(p99_ms = 7)\np(x) :- e(x).\n@slo(p99_ms = 9)\no(x) :- e(x).\n")
    g = dfl.compile(src, "p.dfl").graph
    assert program_values(g, "slo") == {"p99_ms": 7}


@pytest.mark.parametrize("ann", [
    Annotation("device", ((None, "cuda"),)),
    Annotation("slo", (("p99_ms", Lit(50, Type.INT)), ("region", Lit('e"u', Type.STR)))),
    Annotation("replicas", (("min", Lit(0, Type.INT)), ("max", Lit(2.5, Type.FLOAT)))),
    Annotation("device", ((None, "none"),)),  # a name spelled like a keyword stays a name
    Annotation("device", ((None, "inf"),)),
    Annotation("device", ((None, Lit("cuda", Type.STR)),)),  # a string constant is not a name
    Annotation("slo", ((None, Lit(True, Type.BOOL)), (None, Lit(-3, Type.INT)))),
    Annotation("slo", ()),
])
def test_annotations_round_trip_through_text_and_json(ann: Annotation) -> None:
    node = Node("n1", "source", (), (("rel", "e"), ("kind", "input")), S, annotations=(ann, ann))
    g = Graph((node,), (RelDecl("e", ("input",), S, (), (ann,), True),))
    assert text.parse_graph(text.print_graph(g)) == g
    assert json_io.loads(json_io.dumps(g)) == g


def test_the_text_form_shows_annotations_where_a_reader_looks() -> None:
    g = dfl.compile(SRC, "p.dfl").graph
    printed = text.print_graph(g)
    assert "relation e(a: int, b: int) kinds=[input] @partition(b) @slo(p99_ms=50:int)" in printed
    assert ", @device(cpu), @replicas(min=1:int, max=3:int)" in printed


def test_json_version_1_still_reads() -> None:
    doc = json_io.to_json(dfl.compile("input e(a: int)\noutput o(a: int)\no(x) :- e(x).\n").graph)
    doc["version"] = 1
    g = json_io.from_json(json.loads(json.dumps(doc)))
    assert all(r.annotations == () and not r.derived for r in g.relations)


@pytest.mark.parametrize("bad, words", [
    (RelDecl("e", ("input",), S, (), (Annotation("shard", ()),)), "unknown annotation @shard"),
    (RelDecl("e", ("input",), S, (), (Annotation("partition", ((None, "zz"),)),)), "takes one column of e"),
    (RelDecl("e", ("input",), S, (), (Annotation("partition", ((None, Lit("a", Type.STR)),)),)),
     "takes one column of e"),
    (RelDecl("e", ("input",), S, (), (Annotation("slo", (("x", 3),)),)), "neither a name nor a constant"),
])
def test_the_verifier_checks_annotations(bad: RelDecl, words: str) -> None:
    g = Graph((Node("n1", "source", (), (("rel", "e"), ("kind", "input")), S),), (bad,))
    with pytest.raises(IRError, match=words):
        verify(g)


def test_partition_annotates_a_relation_not_a_node() -> None:
    ann = Annotation("partition", ((None, "a"),))
    g = Graph((Node("n1", "source", (), (("rel", "e"), ("kind", "input")), S, annotations=(ann,)),),
              (RelDecl("e", ("input",), S),))
    with pytest.raises(IRError, match="annotates a relation"):
        verify(g)


def test_text_reader_rejects_an_expression_as_an_argument() -> None:
    bad = 'dfl-ir 1\nrelation e(a: int) kinds=[input] @slo(x=add:int(1:int, 2:int))\n'
    with pytest.raises(text.TextError, match="name or a typed constant") as e:
        text.parse_graph(bad)
    assert e.value.line == 2


def test_passes_keep_a_rules_annotations_on_every_node_of_the_rule() -> None:
    # the join's unused columns are cut by prune (a new map node below the join): it is the rule's too
    src = ("input e(a: int, b: int, c: int)\ninput f(b: int, d: int, z: int)\noutput o(a: int, d: int)\n"
           "@device(cuda)\no(x, w) :- e(x, y, _), f(y, w, _).\n")
    g = dfl.compile(src, "p.dfl").graph
    of_rule = [n for n in g.nodes if n.span is not None and n.span.line == 5]
    assert any(".p" in n.id for n in of_rule), [n.id for n in of_rule]  # prune made its maps
    assert all(device_of(n) == "cuda" for n in of_rule)
