"""The public graph builder (ir/builder.py): the lowering's, and any other front end's."""
from __future__ import annotations

import doctest

import pytest

import dfl
from dfl.api import Program
from dfl.ir import builder
from dfl.ir.annotations import Annotation
from dfl.ir.builder import GraphBuilder
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import Graph
from dfl.ir.text import parse_graph, print_graph
from dfl.ir.types import Column, Schema, Type
from dfl.ir.verify import verify

I = Type.INT
EDGE = Schema((Column("src", I), Column("dst", I)))


def test_module_example() -> None:
    assert doctest.testmod(builder).failed == 0


def test_ids_are_shared_with_nested_builders_and_stable() -> None:
    def build() -> Graph:
        b = GraphBuilder()
        a = b.add("values", [], {"rows": ((1, 2),)}, EDGE)
        body = b.nested(stratum=3)
        p = body.add("param", [], {"name": "full:r"}, EDGE)
        assert body.schema(p) == EDGE
        b.add("distinct", [a], {}, EDGE)
        return Graph(tuple(b.nodes) + tuple(body.nodes))

    g = build()
    assert [n.id for n in g.nodes] == ["n1", "n3", "n2"]
    assert [n.stratum for n in g.nodes] == [0, 0, 3]
    assert build() == g


def test_unknown_op_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown op"):
        GraphBuilder().add("teleport", [], {}, EDGE)


def test_another_front_end_builds_a_program_that_runs() -> None:
    # out(x, y) :- edge(x, y), y > 1.  built by hand, with no DFL source at all
    b = GraphBuilder()
    b.relation("edge", ["input"], EDGE, annotations=[Annotation("partition", ((None, "src"),))])
    b.relation("out", ["output"], EDGE)
    src = b.add("source", [], {"rel": "edge", "kind": "input"}, EDGE)
    d = b.add("distinct", [src], {}, EDGE)
    f = b.add("filter", [d], {"pred": Fn("gt", (Col(1, I), Lit(1, I)), Type.BOOL)}, EDGE)
    o = b.add("distinct", [f], {}, EDGE, stratum=1)
    b.add("sink", [o], {"rel": "out"}, EDGE, stratum=2)
    g = b.graph()
    verify(g)
    assert parse_graph(print_graph(g)) == g
    prog = Program.from_graph(g)
    assert (list(prog.inputs), list(prog.outputs), prog.channels) == (["edge"], ["out"], {})
    for target in ("interp", "cpu"):
        assert prog.run(edge=[(1, 2), (2, 1), (3, 3)], target=target)["out"] == [(1, 2), (3, 3)]
    assert prog.run(edge=[(1, 2), (2, 1), (3, 3)], workers=2)["out"] == [(1, 2), (3, 3)]


def test_a_program_from_its_graph_alone_knows_what_the_checked_one_knows() -> None:
    from tests.test_examples import ACCEPTANCE, EXAMPLES, cases

    for case in cases(EXAMPLES) + cases(ACCEPTANCE):
        try:
            prog = dfl.load(case / "prog.dfl")
        except dfl.DflError:
            continue  # the cases that do not compile
        if prog.agents:
            continue  # its graph is the top-level part alone (an agent type is a graph of its own), maybe empty
        bare = Program.from_graph(prog.graph)
        c = prog.checked
        assert list(bare.inputs.items()) == [(n, d.schema) for n, d in c.relations.items() if "input" in d.kinds]
        assert list(bare.outputs.items()) == [(n, d.schema) for n, d in c.relations.items() if "output" in d.kinds]
        assert list(bare.channels) == [n for n, d in c.relations.items() if d.storage == "channel"]
        assert bare.ticked == c.ticked, case
        for rel in list(bare.inputs) + list(bare.channels):
            assert bare.derived(rel) == any(r.head.rel == rel for r in c.rules), (case, rel)
        assert bare.file == prog.file and bare.source is None and bare.warnings == []


def test_a_run_time_error_shows_its_line_when_the_source_is_given() -> None:
    src = "input e(a: int)\noutput o(a: int)\no(x // 0) :- e(x).\n"
    g = dfl.compile(src, "div.dfl").graph
    for source, shown in ((src, True), (None, False)):
        with pytest.raises(dfl.DflError) as e:
            Program.from_graph(g, source=source).run(e=[(1,)], target="interp")
        assert str(e.value.span).startswith("div.dfl:3:")
        assert ("o(x // 0) :- e(x)." in e.value.render()) == shown
