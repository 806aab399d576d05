"""The placement pass (compiler/placement.py) on real programs: partitioning, exchanges,
co-location, broadcast, partition-local recursion, hints, and the placed IR's validity."""
from __future__ import annotations

from pathlib import Path

import pytest

import dfl
from benchmarks.workloads.join import DFL_SRC as JOIN_SRC
from dfl.compiler.cost import CostModel
from dfl.compiler.placement import (ANY, REPLICATED, SINGLE, Dist, dist_of, local_partition_columns,
                                    placement)
from dfl.errors import DflError
from dfl.ir.hints import device_of, partition_column
from dfl.ir.graph import Graph, Node
from dfl.ir.text import parse_graph, print_graph
from dfl.ir.verify import verify

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/prog.dfl"))

GROUP_BY = """
input e(a: int, b: int)
output cnt(a: int, n: int)
cnt(a, count()) :- e(a, b).
"""

JOIN = """
input fact(id: int, d: int, v: int)
input dim(d: int, c: int, w: int)
output j(id: int, c: int)
j(id, c) :- fact(id, d, v), dim(d, c, w).
"""

TC = """
input edge(x: int, y: int)
output path(x: int, y: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""

TC_NONLINEAR = """
input edge(x: int, y: int)
output path(x: int, y: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), path(y, z).
"""

SSSP = """
input edge(x: int, y: int, w: int)
input src(x: int)
output dist(x: int, d: min<int>)
dist(x, 0) :- src(x).
dist(y, d + w) :- dist(x, d), edge(x, y, w).
"""

SMALL_DIM = CostModel(rows={"fact": 5_000_000, "dim": 1000})


# ---------------------------------------------------------------- helpers


def _place(src: str, parts: int, cost: CostModel | None = None, naive: bool = False):
    prog = dfl.compile(src)
    return placement(prog.graph, parts, cost, naive=naive)


def _index(g: Graph) -> dict[str, int]:
    return {n.id: i for i, n in enumerate(g.nodes)}


def _only(g: Graph, op: str) -> Node:
    nodes = [n for n in g.nodes if n.op == op]
    assert len(nodes) == 1, f"expected one {op}, got {[n.id for n in nodes]}"
    return nodes[0]


def _exchanges(g: Graph) -> list[Node]:
    return [n for n in g.nodes if n.op == "exchange"]


def _ancestors(g: Graph, node_id: str) -> set[str]:
    """Every node upstream of node_id (not itself)."""
    seen: set[str] = set()
    todo = list(g.node(node_id).inputs)
    while todo:
        i = todo.pop()
        if i not in seen:
            seen.add(i)
            todo.extend(g.node(i).inputs)
    return seen


def _source_of(g: Graph, rel: str) -> Node:
    return next(n for n in g.nodes if n.op == "source" and n.attr("rel") == rel)


def _chain_to(g: Graph, start: str, stop_op: str) -> list[Node]:
    """Nodes from start back along first inputs until (and including) the first stop_op node."""
    out = []
    n = g.node(start)
    while True:
        out.append(n)
        if n.op == stop_op or not n.inputs:
            return out
        n = g.node(n.inputs[0])


# ---------------------------------------------------------------- every example


@pytest.mark.parametrize("parts", [1, 2, 4])
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_examples_place_verify_and_round_trip(path: Path, parts: int) -> None:
    prog = dfl.load(path)
    placed = placement(prog.graph, parts)
    g = placed.graph
    verify(g)
    assert placed.parts == parts
    top = [n for n in g.nodes]
    assert all(n.attr("parts") == parts for n in top)
    assert all(n.attr("dist") is not None and n.attr("device") is not None for n in top)
    for n in top:  # every dist attribute parses back to itself
        assert str(dist_of(n)) == n.attr("dist")
    text = print_graph(g)
    again = parse_graph(text)
    verify(again)
    assert print_graph(again) == text
    assert [n.id for n in again.nodes] == [n.id for n in g.nodes]
    if parts == 1:
        assert _exchanges(g) == []
        assert placed.moved_bytes == 0


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("src", [GROUP_BY, JOIN, JOIN_SRC, TC, TC_NONLINEAR, SSSP])
def test_one_partition_inserts_no_exchange(src: str) -> None:
    placed = _place(src, 1, SMALL_DIM)
    assert _exchanges(placed.graph) == []
    assert placed.moved_bytes == 0
    assert not any(n.op == "exchange" for n in placed.notes)
    assert {n.attr("dist") for n in placed.graph.nodes} == {"single"}


def test_zero_partitions_is_rejected() -> None:
    with pytest.raises(ValueError):
        placement(dfl.compile(GROUP_BY).graph, 0)


def test_placement_leaves_the_input_graph_alone() -> None:
    prog = dfl.compile(JOIN_SRC)
    before = print_graph(prog.graph)
    placement(prog.graph, 4, SMALL_DIM)
    assert print_graph(prog.graph) == before


# ---------------------------------------------------------------- group-by


@pytest.mark.parametrize("parts", [2, 4])
def test_group_by_dedup_hashed_on_group_key(parts: int) -> None:
    """The source rows are split by the group key as they are read: no exchange at all."""
    g = _place(GROUP_BY, parts).graph
    verify(g)
    assert _exchanges(g) == []
    src = _only(g, "source")
    assert dist_of(src) == Dist("hash", (0,))
    dedup = _only(g, "distinct") if len(g.by_op("distinct")) == 1 else \
        next(n for n in g.nodes if n.op == "distinct" and src.id in n.inputs)
    assert dedup.inputs == (src.id,) and dist_of(dedup) == Dist("hash", (0,))
    agg = _only(g, "aggregate")
    assert agg.inputs == (dedup.id,)  # the groups are in place
    assert dist_of(agg) == Dist("hash", (0,))


def test_group_by_without_keys_gathers() -> None:
    src = "input e(a: int)\noutput total(n: int)\ntotal(n) :- n = count : e(_).\n"
    g = _place(src, 3).graph
    verify(g)
    agg = _only(g, "aggregate")
    assert dist_of(agg) == SINGLE


# ---------------------------------------------------------------- join


@pytest.mark.parametrize("src", [JOIN, JOIN_SRC], ids=["join", "join_workload"])
def test_join_of_key_deduplicated_sides_is_co_located(src: str) -> None:
    g = _place(src, 4).graph
    verify(g)
    join = _only(g, "join")
    for side in join.inputs:
        chain = _chain_to(g, side, "distinct")
        assert chain[-1].op == "distinct", chain
        assert not any(n.op == "exchange" for n in chain), [n.id for n in chain]
    left, right = (g.node(i) for i in join.inputs)
    lk, rk = tuple(join.attr("left_keys")), tuple(join.attr("right_keys"))
    assert dist_of(left) == Dist("hash", lk) and dist_of(right) == Dist("hash", rk)
    assert dist_of(join) == Dist("hash", lk)
    # the only exchanges are the two dedups' and (in the workload) the one feeding the group-by
    for ex in _exchanges(g):
        consumer = [n for n in g.nodes if ex.id in n.inputs]
        assert [c.op for c in consumer] in (["distinct"], ["aggregate"])


@pytest.mark.parametrize("parts", [2, 4])
def test_small_dimension_is_broadcast(parts: int) -> None:
    src = "@partition(id)\n" + JOIN.lstrip()
    g = _place(src, parts, SMALL_DIM).graph
    verify(g)
    join = _only(g, "join")
    left, right = (g.node(i) for i in join.inputs)
    assert right.op == "exchange" and right.attr("mode") == "broadcast"
    assert dist_of(right) == REPLICATED
    assert _source_of(g, "dim").id in _ancestors(g, right.id)
    # the big side stays where @partition put it: no exchange on its way to the join
    assert _source_of(g, "fact").id in _ancestors(g, left.id)
    assert not any(g.node(a).op == "exchange" for a in _ancestors(g, left.id) | {left.id})
    assert dist_of(join) == Dist("hash", (0,))


def test_small_dimension_is_broadcast_in_the_join_workload() -> None:
    src = JOIN_SRC.replace("input fact", "@partition(id)\ninput fact", 1)
    g = _place(src, 4, SMALL_DIM).graph
    verify(g)
    join = _only(g, "join")
    right = g.node(join.inputs[1])
    assert right.op == "exchange" and right.attr("mode") == "broadcast"
    # the broadcast moves filtered rows
    assert g.node(right.inputs[0]).op == "filter"


def test_large_sides_not_co_located_are_hashed_not_broadcast() -> None:
    src = "@partition(id)\n" + JOIN.lstrip()
    g = _place(src, 4, CostModel(rows={"fact": 5_000_000, "dim": 4_000_000})).graph
    verify(g)
    join = _only(g, "join")
    modes = [g.node(i).attr("mode") for i in join.inputs if g.node(i).op == "exchange"]
    assert "broadcast" not in modes and "hash" in modes
    assert dist_of(join) == Dist("hash", tuple(join.attr("left_keys")))


@pytest.mark.parametrize("cost", [None, SMALL_DIM], ids=["default_rows", "small_dim"])
@pytest.mark.parametrize("parts", [2, 4])
def test_naive_plan_moves_more_bytes_on_the_join_workload(cost, parts: int) -> None:
    placed = _place(JOIN_SRC, parts, cost)
    naive = _place(JOIN_SRC, parts, cost, naive=True)
    verify(naive.graph)
    assert naive.moved_bytes > placed.moved_bytes > 0
    assert placed.moved_bytes == sum(n.moved_bytes for n in placed.notes if n.op == "exchange")
    # the naive plan shuffles both join inputs
    join = _only(naive.graph, "join")
    assert all(naive.graph.node(i).op == "exchange" and naive.graph.node(i).attr("mode") == "hash"
               for i in join.inputs)


# ---------------------------------------------------------------- filters below exchanges


@pytest.mark.parametrize("annotate,cost", [(False, None), (True, SMALL_DIM)], ids=["co_located", "broadcast"])
def test_filters_stay_below_exchanges(annotate: bool, cost) -> None:
    src = JOIN_SRC.replace("input fact", "@partition(id)\ninput fact", 1) if annotate else JOIN_SRC
    g = _place(src, 4, cost).graph
    verify(g)
    idx = _index(g)
    filters = [n for n in g.nodes if n.op == "filter"]
    assert len(filters) == 2
    join, agg = _only(g, "join"), _only(g, "aggregate")
    feeding = [g.node(i) for i in join.inputs + agg.inputs if g.node(i).op == "exchange"]
    assert feeding, "the join workload needs at least the group-by's exchange"
    for f in filters:
        # a filter reads its dedup, not rows that crossed an exchange after the dedup
        assert g.node(f.inputs[0]).op == "distinct"
        # and feeds the join directly or through an exchange that feeds the join
        consumers = [n for n in g.nodes if f.id in n.inputs]
        assert len(consumers) == 1
        c = consumers[0]
        assert c.id == join.id or (c.op == "exchange" and [n.id for n in g.nodes if c.id in n.inputs] == [join.id])
        for ex in feeding:
            assert idx[f.id] < idx[ex.id]
    for ex in feeding:
        if ex.id in join.inputs:  # an exchange into the join moves its side's filtered rows
            assert g.node(ex.inputs[0]).op == "filter"
        else:  # the group-by's exchange: after both filters
            assert ex.id in agg.inputs
            assert {f.id for f in filters} <= _ancestors(g, ex.id)
    assert idx[join.id] < idx[agg.id]


# ---------------------------------------------------------------- recursion


@pytest.mark.parametrize("parts", [2, 4])
def test_transitive_closure_is_partition_local(parts: int) -> None:
    g = _place(TC, parts).graph
    verify(g)
    fix = _only(g, "fixpoint")
    assert local_partition_columns(fix) == {"path": 0}
    assert dist_of(fix) == Dist("hash", (0,))
    rels = list(fix.attr("rels"))
    assert rels == ["path"]
    for ext in fix.inputs[len(rels):]:
        x = g.node(ext)
        assert x.op == "exchange" and x.attr("mode") == "broadcast" and dist_of(x) == REPLICATED
    assert len(fix.inputs) > len(rels)
    init = g.node(fix.inputs[0])
    assert dist_of(init) == Dist("hash", (0,))
    res = _only(g, "result")
    assert dist_of(res) == Dist("hash", (0,))
    assert dist_of(_only(g, "sink")) == Dist("hash", (0,))


def test_nonlinear_transitive_closure_runs_distributed_semi_naive() -> None:
    g = _place(TC_NONLINEAR, 4).graph
    verify(g)
    fix = _only(g, "fixpoint")
    assert local_partition_columns(fix) is None
    assert dict(fix.attr("iterate")) == {"path": 0}  # rows owned by the hash of column 0
    assert dist_of(fix) == Dist("hash", (0,))
    assert dist_of(g.node(fix.inputs[0])) == Dist("hash", (0,))
    assert dist_of(_only(g, "result")) == Dist("hash", (0,))


def test_shortest_paths_lattice_recursion_runs_distributed_semi_naive() -> None:
    prog = dfl.compile(SSSP)
    fix = _only(prog.graph, "fixpoint")
    assert local_partition_columns(fix) is None
    g = placement(prog.graph, 4).graph
    verify(g)
    fix = _only(g, "fixpoint")
    assert fix.attr("iterate") is not None and dist_of(fix) == Dist("hash", (0,))
    rels = len(fix.attr("rels"))
    assert all(dist_of(g.node(i)) == REPLICATED for i in fix.inputs[rels:])  # what it reads, everywhere


def test_a_recursion_without_a_column_to_own_rows_by_stays_on_one_partition() -> None:
    src = """
input e(a: int)
output on()
on() :- e(_).
on() :- on(), e(_).
"""
    g = _place(src, 3).graph
    verify(g)
    fix = _only(g, "fixpoint")
    assert fix.attr("iterate") is None and dist_of(fix) == SINGLE


def test_local_partition_columns_does_not_depend_on_placement() -> None:
    prog = dfl.compile(TC)
    assert local_partition_columns(_only(prog.graph, "fixpoint")) == {"path": 0}
    assert local_partition_columns(_only(dfl.compile(TC_NONLINEAR).graph, "fixpoint")) is None


# ---------------------------------------------------------------- hints


@pytest.mark.parametrize("col,index", [("id", 0), ("d", 1), ("v", 2)])
def test_partition_hint_hashes_the_source(col: str, index: int) -> None:
    src = f"@partition({col})\n" + JOIN.lstrip()
    prog = dfl.compile(src)
    # the hint travels on the IR: on fact's declaration, read back from the text form
    assert [partition_column(r) for r in prog.graph.relations if r.name == "fact"] == [index]
    assert parse_graph(print_graph(prog.graph)) == prog.graph
    g = placement(prog.graph, 3).graph
    verify(g)
    assert dist_of(_source_of(g, "fact")) == Dist("hash", (index,))
    # dim is split as it is read: evenly, or by the hash its dedup wants
    assert dist_of(_source_of(g, "dim")) in (ANY, Dist("hash", (0,)))
    # on one partition there is nothing to hash
    g1 = placement(prog.graph, 1).graph
    assert dist_of(_source_of(g1, "fact")) == SINGLE


def test_partition_hint_on_join_key_needs_no_exchange_for_that_side() -> None:
    src = "@partition(d)\n" + JOIN.lstrip()
    g = _place(src, 4).graph
    fact_src = _source_of(g, "fact")
    assert not any(ex.inputs[0] == fact_src.id for ex in _exchanges(g))


def test_device_hint_cuda_stays_on_cpu_with_a_note() -> None:
    src = """
    input e(a: int, b: int)
    output p(a: int)
    @device(cuda)
    p(x) :- e(x, _).
    """
    prog = dfl.compile("\n".join(line.strip() for line in src.strip().splitlines()) + "\n")
    # the hint travels on the IR: on the nodes of the annotated rule, and only there
    asking = {n.id for n in prog.graph.nodes if device_of(n) == "cuda"}
    assert asking and all(prog.graph.node(i).span.line == 4 for i in asking)
    placed = placement(prog.graph, 2)
    verify(placed.graph)
    assert {n.attr("device") for n in placed.graph.nodes} == {"cpu"}
    asked = [n for n in placed.notes if "@device(cuda)" in n.text]
    assert asked, [n.text for n in placed.notes]
    assert all("cuda is not available" in n.text for n in asked)
    # only operators of the annotated rule carry the note (the rule is on line 4)
    assert all(n.span is not None and n.span.line == 4 for n in asked)


def test_partition_hint_on_unknown_column_is_a_compile_error() -> None:
    with pytest.raises(DflError) as e:
        dfl.compile("@partition(zz)\n" + JOIN.lstrip())
    assert "@partition" in str(e.value)


# ---------------------------------------------------------------- Dist


@pytest.mark.parametrize("text", ["hash(0)", "hash(1,2)", "hash(0,3,4)", "any", "single", "replicated"])
def test_dist_parse_str_round_trip(text: str) -> None:
    d = Dist.parse(text)
    assert str(d) == text
    assert Dist.parse(str(d)) == d


def test_dist_values() -> None:
    assert Dist.parse("hash(1,2)") == Dist("hash", (1, 2))
    assert Dist.parse("any") == ANY and Dist.parse("single") == SINGLE and Dist.parse("replicated") == REPLICATED
    assert str(Dist("hash", (3,))) == "hash(3)"
    assert Dist.parse(str(Dist("hash", ()))) == Dist("hash", ())
