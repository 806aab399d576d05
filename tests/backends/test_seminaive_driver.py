"""The one semi-naive driver (backends/seminaive.py) with a store of its own: the loop,
its two halves, and loop-invariant nodes evaluated once."""
from __future__ import annotations

from collections import Counter

import dfl
from dfl.backends.seminaive import SemiNaive, variant_nodes
from dfl.ir.graph import Graph, Node

TC = ("input e(a: int, b: int)\noutput tc(a: int, b: int)\ntc(x, y) :- e(x, y).\n"
      "tc(x, z) :- tc(x, y), e(y, z), y != 99.\n")  # the filter keeps the shape pass away


class SetStore:
    """The simplest store: a Python set; rows are frozensets of tuples."""

    def __init__(self) -> None:
        self.rows: set[tuple] = set()

    def add(self, rows: frozenset) -> frozenset:
        new = frozenset(rows - self.rows)
        self.rows |= new
        return new

    def full(self) -> frozenset:
        return frozenset(self.rows)


def evaluator(params: dict, calls: Counter):
    """Just enough of an interpreter for the body of TC's fixpoint."""

    def evaluate(n: Node, values: dict) -> frozenset:
        calls[n.id] += 1
        ins = [values[i] for i in n.inputs]
        if n.op == "param":
            return params[n.attr("name")]
        if n.op == "join":
            lk, rk = n.attr("left_keys"), n.attr("right_keys")
            return frozenset(a + b for a in ins[0] for b in ins[1]
                             if tuple(a[k] for k in lk) == tuple(b[k] for k in rk))
        if n.op == "filter":
            pred = n.attr("pred")  # ne(col, literal)
            col, lit = pred.args
            return frozenset(r for r in ins[0] if r[col.index] != lit.value)
        if n.op == "map":
            return frozenset(tuple(r[e.index] for e in n.attr("exprs")) for r in ins[0])
        if n.op == "union":
            return frozenset().union(*ins)
        assert n.op == "yield", n.op
        return ins[0]

    return evaluate


def fixpoint() -> Node:
    (fix,) = dfl.compile(TC).graph.by_op("fixpoint")
    assert fix.attr("shape") is None
    return fix


def loop(fix: Node, edges: set[tuple], calls: Counter) -> SemiNaive:
    params = {"ext:e": frozenset(edges)}
    return SemiNaive(fix.attr("body"), fix.attr("rels"), {"tc": SetStore()}, params,
                     evaluator(params, calls), size=len, empty=lambda rel: frozenset())


def closure(edges: set[tuple]) -> set[tuple]:
    out = set(edges)
    while True:
        more = {(a, d) for a, b in out for c, d in edges if b == c and b != 99} - out
        if not more:
            return out
        out |= more


def test_the_loop_reaches_the_fixpoint() -> None:
    edges = {(i, i + 1) for i in range(10)} | {(9, 0), (3, 99), (99, 5)}
    calls: Counter = Counter()
    fix = fixpoint()
    sn = loop(fix, edges, calls)
    iterations = sn.run(sn.seed([frozenset(edges)]))
    assert sn.stores["tc"].rows == closure(edges)
    assert iterations >= 10  # a path of ten edges takes ten rounds (the last finds nothing)
    body: Graph = fix.attr("body")
    invariant = [n.id for n in body.nodes if n.id not in variant_nodes(body)]
    assert invariant and all(calls[i] == 1 for i in invariant)  # evaluated once, before the loop
    variant = variant_nodes(body)
    assert all(calls[i] == iterations for i in variant)


def test_the_two_halves_are_the_loop() -> None:
    edges = {(1, 2), (2, 3), (3, 4), (4, 2)}
    whole = loop(fixpoint(), edges, Counter())
    n = whole.run(whole.seed([frozenset(edges)]))
    halves = loop(fixpoint(), edges, Counter())
    delta, rounds = halves.seed([frozenset(edges)]), 0
    while True:
        rounds += 1
        delta = halves.merge(halves.derive(delta))
        if halves.done(delta):
            break
    assert halves.stores["tc"].rows == whole.stores["tc"].rows and rounds == n


def test_grown_sees_every_nonempty_delta() -> None:
    edges = {(i, i + 1) for i in range(5)}
    sn = loop(fixpoint(), edges, Counter())
    seen: list[int] = []
    iterations = sn.run(sn.seed([frozenset(edges)]), lambda d: seen.append(len(d["tc"])))
    assert len(seen) == iterations - 1 and all(seen) and sum(seen) + len(edges) == len(closure(edges))
