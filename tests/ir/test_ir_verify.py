"""The verifier: real graphs pass, and each invariant catches a graph that breaks it."""
from __future__ import annotations

from dataclasses import replace

import pytest

from irsamples import N, anon, edit_node, schema
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import Graph, RelDecl
from dfl.ir.types import Type
from dfl.ir.verify import IRError, verify

I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL


def test_sample_verifies(sample):
    verify(sample)


def test_program_graphs_verify(program):
    verify(program)


def test_lowered_graphs_verify_before_passes():
    from irsamples import compiled_programs

    progs = compiled_programs()
    if not progs:
        pytest.skip("the front end is not available")
    from dfl.compiler.lower import lower
    from dfl.lang.check import check
    from dfl.lang.parser import parse

    for path, _ in progs:
        with open(path, encoding="utf-8") as f:
            verify(lower(check(parse(f.read(), path))))


def body_of(g: Graph) -> Graph:
    return g.node("n15").attr("body")


def with_body(g: Graph, body: Graph) -> Graph:
    return edit_node(g, "n15", attrs={"body": body})


def edit_body(g: Graph, node_id: str, **changes) -> Graph:
    return with_body(g, edit_node(body_of(g), node_id, **changes))


def drop(g: Graph, node_id: str) -> Graph:
    return g.with_nodes(n for n in g.nodes if n.id != node_id)


S2 = schema(("src", I), ("dst", I))

# (what is broken, how to break the sample, words the message must contain)
BREAKS = [
    ("duplicate id", lambda g: g.with_nodes(g.nodes + (g.node("n3"),)), ["node n3", "duplicate"]),
    ("unknown input", lambda g: edit_node(g, "n4", inputs=("nope",)), ["node n4", "nope", "not a node"]),
    ("later input", lambda g: edit_node(g, "n4", inputs=("n5",)), ["node n4", "later node"]),
    ("self loop", lambda g: edit_node(g, "n4", inputs=("n4",)), ["node n4", "later node"]),
    ("unknown op", lambda g: edit_node(g, "n4", op="frobnicate"), ["node n4", "unknown op 'frobnicate'"]),
    ("too many inputs", lambda g: edit_node(g, "n4", inputs=("n1", "n2")), ["node n4", "2 inputs", "takes 1"]),
    ("join with one input", lambda g: edit_node(g, "n10", inputs=("n4",)), ["node n10", "takes 2"]),
    ("empty union", lambda g: edit_node(g, "n3", inputs=()), ["node n3", "at least one input"]),
    ("missing attr", lambda g: _without_attr(g, "n5", "pred"), ["node n5", "missing attribute 'pred'"]),
    ("map arity", lambda g: edit_node(g, "n14", attrs={"exprs": (Col(0, I),)}), ["node n14", "1 exprs", "2 columns"]),
    ("map types", lambda g: edit_node(g, "n14", attrs={"exprs": (Col(0, I), Lit("x", S))}), ["node n14", "(int, str)"]),
    ("filter schema", lambda g: edit_node(g, "n5", schema=anon(I)), ["node n5", "filter keeps"]),
    ("distinct schema", lambda g: edit_node(g, "n4", schema=anon(I, S)), ["node n4", "distinct"]),
    ("anti_join schema", lambda g: edit_node(g, "n10", schema=anon(I, I, I, I)), ["node n10", "left input"]),
    ("join schema", lambda g: edit_node(g, "n9", schema=S2), ["node n9", "left ++ right"]),
    ("join key lengths", lambda g: edit_node(g, "n9", attrs={"left_keys": (0, 1)}), ["node n9", "2 left_keys", "1 right_keys"]),
    ("join key range", lambda g: edit_node(g, "n9", attrs={"right_keys": (6,)}), ["node n9", "right key 6", "out of range"]),
    ("join key types", lambda g: edit_node(g, "n9", attrs={"right_keys": (3,)}), ["node n9", "differ in type"]),
    ("join keys not ints", lambda g: edit_node(g, "n9", attrs={"left_keys": ("a",)}), ["node n9", "column indices"]),
    ("col out of range", lambda g: edit_node(g, "n14", attrs={"exprs": (Col(0, I), Col(2, I))}),
     ["node n14", "$2", "out of range"]),
    ("col type", lambda g: edit_node(g, "n14", attrs={"exprs": (Col(0, I), Col(1, S))}),
     ["node n14", "$1 is typed str", "int"]),
    ("fn typing", lambda g: edit_node(g, "n5", attrs={"pred": Fn("lt", (Col(0, I), Lit("a", S)), B)}),
     ["node n5", "lt", "ill-typed"]),
    ("fn result type", lambda g: edit_node(g, "n14", attrs={"exprs": (Fn("add", (Col(0, I), Col(1, I)), F), Col(1, I))}),
     ["node n14", "add"]),
    ("unknown function", lambda g: edit_node(g, "n8", attrs={"gen": Fn("nosuch", (Col(0, S),), S)}),
     ["node n8", "nosuch", "unknown function"]),
    ("builtin typing", lambda g: edit_node(g, "n8", attrs={"gen": Fn("split", (Col(0, S), Lit(" ", S)), I)}),
     ["node n8", "split"]),
    ("builtin arity", lambda g: edit_node(g, "n8", attrs={"gen": Fn("split", (Col(0, S),), S)}),
     ["node n8", "split", "arguments"]),
    ("literal type", lambda g: edit_node(g, "n5", attrs={"pred": Lit(1, B)}), ["node n5", "literal 1"]),
    ("pred not bool", lambda g: edit_node(g, "n5", attrs={"pred": Col(0, I)}), ["node n5", "pred is int"]),
    ("flat_map schema", lambda g: edit_node(g, "n8", schema=anon(S, I)), ["node n8", "generated"]),
    ("aggregate count", lambda g: edit_node(g, "n11", schema=anon(I, I, I, F)), ["node n11", "4 columns", "1 keys + 4 aggs"]),
    ("aggregate types", lambda g: edit_node(g, "n11", schema=anon(I, I, I, I, S)), ["node n11", "keys ++ aggregate"]),
    ("aggregate func", lambda g: edit_node(g, "n11", attrs={"aggs": (("median", Col(1, I)),)}), ["node n11", "median"]),
    ("aggregate arg", lambda g: edit_node(g, "n11", attrs={"aggs": (("sum", Col(9, I)),)}), ["node n11", "$9"]),
    ("union types", lambda g: edit_node(g, "n2", schema=anon(I, S), attrs={"rows": ((1, "a"),)}),
     ["node n3", "input n2 of the union"]),
    ("lattice_merge", lambda g: edit_node(g, "n13", attrs={"key_arity": 2}), ["node n13", "key_arity"]),
    ("values arity", lambda g: edit_node(g, "n2", attrs={"rows": ((1, 2, 3),)}), ["node n2", "rows", "2 columns"]),
    ("values types", lambda g: edit_node(g, "n2", attrs={"rows": ((1, "x"),)}), ["node n2", "'x' is not a int"]),
    ("bool is not int", lambda g: edit_node(g, "n2", attrs={"rows": ((1, True),)}), ["node n2", "True"]),
    ("init rows", lambda g: Graph(g.nodes, g.relations[:-1] + (RelDecl("nxt", ("rel",), S2, ((1.5, 2),)),)),
     ["relation nxt", "1.5"]),
    ("source kind", lambda g: edit_node(g, "n1", attrs={"kind": "magic"}), ["node n1", "kind 'magic'"]),
    ("undeclared relation", lambda g: edit_node(g, "n17", attrs={"rel": "ghost"}), ["node n17", "'ghost'", "not declared"]),
    ("source vs relation", lambda g: edit_node(g, "n22", schema=schema(("src", I), ("dst", S))),
     ["node n22", "relation nxt", "(int, str)"]),
    ("sink schema", lambda g: edit_node(g, "n17", schema=anon(I)), ["node n17", "sink has its input's schema"]),
    ("defer mode", lambda g: edit_node(g, "n21", attrs={"mode": "later"}), ["node n21", "mode 'later'"]),
    ("param outside body", lambda g: g.with_nodes(g.nodes + (N("p", "param", (), {"name": "full:tc"}, S2),)),
     ["node p", "only inside a fixpoint body"]),
    ("yield outside body", lambda g: g.with_nodes(g.nodes + (N("y", "yield", ("n4",), {"rel": "tc"}, S2),)),
     ["node y", "only inside a fixpoint body"]),
    ("body not a graph", lambda g: edit_node(g, "n15", attrs={"body": "nope"}), ["node n15", "not a Graph"]),
    ("fixpoint input count", lambda g: edit_node(g, "n15", inputs=("n14",)), ["node n15", "1 inputs", "1 + 1"]),
    ("body broken", lambda g: edit_body(g, "b3", inputs=("b1.delta", "zz")),
     ["in the body of fixpoint n15", "node b3", "zz"]),
    ("body not topological", lambda g: edit_body(g, "b4", inputs=("b5",)),
     ["in the body of fixpoint n15", "node b4", "later node"]),
    ("missing yield", lambda g: with_body(g, drop(body_of(g), "b6")), ["node n15", "0 yields of tc"]),
    ("two yields", lambda g: with_body(g, body_of(g).with_nodes(
        body_of(g).nodes + (N("b7", "yield", ("b5",), {"rel": "tc"}, S2),))), ["node n15", "2 yields of tc"]),
    ("stray yield", lambda g: with_body(g, body_of(g).with_nodes(
        body_of(g).nodes + (N("b7", "yield", ("b5",), {"rel": "other"}, S2),))), ["node b7", "'other'"]),
    ("bad param name", lambda g: edit_body(g, "b2", attrs={"name": "ext:word"}), ["node b2", "'ext:word'"]),
    ("bad param prefix", lambda g: edit_body(g, "b1", attrs={"name": "tc"}), ["node b1", "'tc'"]),
    ("param types", lambda g: edit_body(g, "b2", schema=anon(I, S)), ["node b2", "(int, str)"]),
    ("yield types", lambda g: edit_body(edit_body(g, "b5", schema=anon(I, I)), "b6", schema=anon(S, S)),
     ["node b6"]),
    ("result of non-fixpoint", lambda g: edit_node(g, "n16", inputs=("n14",)), ["node n16", "not a fixpoint"]),
    ("result of other rel", lambda g: edit_node(g, "n16", attrs={"rel": "best"}), ["node n16", "does not compute 'best'"]),
    ("duplicate attr", lambda g: _dup_attr(g, "n1"), ["node n1", "given twice"]),
    ("duplicate relation", lambda g: Graph(g.nodes, g.relations + (g.relations[0],)), ["relation edge", "twice"]),
]


def _without_attr(g: Graph, nid: str, key: str) -> Graph:
    return g.with_nodes(
        replace(m, attrs=tuple((k, v) for k, v in m.attrs if k != key)) if m.id == nid else m for m in g.nodes)


def _dup_attr(g: Graph, nid: str) -> Graph:
    return g.with_nodes(replace(m, attrs=m.attrs + (m.attrs[0],)) if m.id == nid else m for m in g.nodes)


@pytest.mark.parametrize("what, breaker, words", BREAKS, ids=[b[0] for b in BREAKS])
def test_each_rule_catches_a_broken_graph(sample, what, breaker, words):
    broken = breaker(sample)
    with pytest.raises(IRError) as e:
        verify(broken)
    msg = str(e.value)
    for w in words:
        assert w in msg, f"{what}: {w!r} not in {msg!r}"


def test_graph_without_relations_skips_declaration_checks():
    g = Graph((N("a", "source", (), {"rel": "anything", "kind": "input"}, anon(I)),
               N("b", "sink", ("a",), {"rel": "else"}, anon(I))))
    verify(g)


def test_ir_error_is_an_exception():
    assert issubclass(IRError, Exception)
