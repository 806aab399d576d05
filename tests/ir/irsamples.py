"""Hand-built IR graphs and helpers for the tests of dfl.ir (a uniquely named module, imported by them)."""
from __future__ import annotations

import functools
import glob
import os
from dataclasses import replace
from typing import Any, Callable

from dfl.errors import Span
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import Graph, Node, RelDecl
from dfl.ir.types import Column, Schema, Type

I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL

ACCEPTANCE = "/work/shared/acceptance"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRICKY_STR = 'a"b\\c\nd\te\r\x00\x7f é ünï 😀 \u2028\u0085 $0:int # }'


def schema(*cols: tuple) -> Schema:
    return Schema(tuple(Column(*c) for c in cols))


def anon(*types: Type) -> Schema:
    return Schema(tuple(Column(f"c{i}", t) for i, t in enumerate(types)))


def N(nid: str, op: str, inputs: tuple = (), attrs: dict | None = None, sch: Schema = Schema(()),
      stratum: int = 0, monotone: bool | None = None, span: Span | None = None) -> Node:
    from dfl.ir.graph import OPS

    mono = OPS[op].monotone if monotone is None and op in OPS else (True if monotone is None else monotone)
    return Node(nid, op, tuple(inputs), tuple((attrs or {}).items()), sch, stratum, mono, span)


def build_sample() -> Graph:
    """A graph that verifies, with every op, every attribute kind and tricky values."""
    S2 = schema(("src", I), ("dst", I))
    best = schema(("k", S), ("d", I, "min"))
    fl = schema(("x", F), ("b", B))
    words = schema(("line", S))
    here = Span("prog.dfl", 1, 1, 1, 20)
    other = Span('other dir/we"ird\n.dfl', 2, 3, 4, 5)
    c0, c1 = Col(0, I), Col(1, I)
    n6_types = (I, I, F, S, B, F)
    body = Graph((
        N("b1", "param", (), {"name": "full:tc"}, S2, 2),
        N("b1.delta", "param", (), {"name": "delta:tc"}, S2, 2),
        N("b2", "param", (), {"name": "ext:edge"}, S2, 2),
        N("b3", "join", ("b1.delta", "b2"), {"left_keys": (1,), "right_keys": (0,)}, anon(I, I, I, I), 2,
          span=Span("prog.dfl", 9, 1, 9, 30)),
        N("b4", "map", ("b3",), {"exprs": (Col(0, I), Col(3, I))}, S2, 2),
        N("b5", "union", ("b4",), {}, S2, 2),
        N("b6", "yield", ("b5",), {"rel": "tc"}, S2, 2),
    ))
    nodes = (
        N("n1", "source", (), {"rel": "edge", "kind": "input"}, S2, 0, span=here),
        N("n2", "values", (), {"rows": ((1, 2), (2, 3), (-5, 10**30))}, S2, 0),
        N("n3", "union", ("n1", "n2"), {}, S2, 0),
        N("n4", "distinct", ("n3",), {}, S2, 0, span=here),
        N("n5", "filter", ("n4",), {"pred": Fn("and", (Fn("lt", (c0, c1), B), Fn("ne", (c0, Lit(-3, I)), B)), B)},
          S2, 1),
        N("n6", "map", ("n5",), {"exprs": (
            c1,
            Fn("add", (c0, Lit(1, I)), I),
            Fn("float", (c0,), F),
            Lit(TRICKY_STR, S),
            Lit(True, B),
            Fn("if", (Lit(False, B), Lit(0.1, F), Fn("div", (Lit(1.0, F), Lit(-0.0, F)), F)), F),
        )}, anon(*n6_types), 1, span=other),
        N("n7", "source", (), {"rel": "word", "kind": "input"}, words, 0),
        N("n8", "flat_map", ("n7",), {"gen": Fn("split", (Col(0, S), Lit(" ", S)), S)}, schema(("line", S), ("w", S)), 1),
        N("n9", "join", ("n4", "n6"), {"left_keys": (1,), "right_keys": (0,)}, anon(I, I, *n6_types), 1),
        N("n10", "anti_join", ("n4", "n4"), {"left_keys": (0, 1), "right_keys": (1, 0)}, S2, 1),
        N("n11", "aggregate", ("n9",), {"keys": (Col(0, I),), "aggs": (
            ("count", None), ("sum", Col(1, I)), ("mean", Col(4, F)), ("max", Col(5, S)))},
          anon(I, I, I, F, S), 1),
        N("n12", "map", ("n11",), {"exprs": (Fn("to_str", (Col(0, I),), S), Col(1, I))}, best, 1),
        N("n13", "lattice_merge", ("n12",), {"key_arity": 1, "lattices": ("min",)}, best, 1),
        N("n14", "map", ("n4",), {"exprs": (c0, c1)}, S2, 2),
        N("n15", "fixpoint", ("n14", "n4"), {"rels": ("tc",), "exts": ("edge",), "body": body}, Schema(()), 2,
          span=Span("prog.dfl", 7, 1, 7, 34)),
        N("n16", "result", ("n15",), {"rel": "tc"}, S2, 2),
        N("n17", "sink", ("n16",), {"rel": "tc"}, S2, 4),
        N("n18", "persist", ("n13",), {"rel": "best"}, best, 4),
        N("n19", "values", (), {"rows": ((0.1, True), (float("inf"), False), (-0.0, True), (1e300, False),
                                         (5e-324, True), (-float("inf"), False), (1.0, True))},
          fl, 3, monotone=False),
        N("n20", "sink", ("n19",), {"rel": "fl"}, fl, 4),
        N("n21", "defer", ("n4",), {"rel": "nxt", "mode": "insert"}, S2, 4),
        N("n22", "source", (), {"rel": "nxt", "kind": "deferred"}, S2, 0),
        N("n23", "values", (), {"rows": ((),)}, Schema(()), 0),
    )
    relations = (
        RelDecl("edge", ("input",), S2),
        RelDecl("word", ("input",), words),
        RelDecl("best", ("output", "table"), best, ((TRICKY_STR, 3), ("ü", -7))),
        RelDecl("fl", ("output",), fl, ((0.1, True), (-0.0, False), (1e-300, True))),
        RelDecl("tc", ("output",), S2),
        RelDecl("nxt", ("rel",), S2),
    )
    return Graph(nodes, relations)


def edit_node(g: Graph, node_id: str, **changes: Any) -> Graph:
    """`g` with node `node_id` changed; `attrs=` may be a dict of attribute updates."""
    out = []
    for n in g.nodes:
        if n.id == node_id:
            attrs = changes.pop("attrs", None)
            if attrs is not None:
                n = n.with_attrs(**attrs)
            n = replace(n, **changes)
        out.append(n)
    return g.with_nodes(out)


@functools.cache
def compiled_programs() -> list[tuple[str, Graph]]:
    """(path, optimized graph) of every acceptance and example program that compiles."""
    try:
        from dfl.compiler.lower import lower
        from dfl.compiler.pipeline import optimize
        from dfl.lang.check import check
        from dfl.lang.parser import parse
    except ImportError:
        return []
    from dfl.errors import DflError

    out = []
    paths = sorted(glob.glob(f"{ACCEPTANCE}/*/prog.dfl")) + sorted(glob.glob(f"{REPO}/examples/*/*.dfl"))
    for path in paths:
        with open(path, encoding="utf-8") as f:
            src = f.read()
        try:
            out.append((path, optimize(lower(check(parse(src, path))))))
        except DflError:
            continue  # the error cases of the suite
    return out
