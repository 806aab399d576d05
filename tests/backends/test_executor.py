"""The backend interface the runtime uses (backends/base.py): executors by target name,
and columnar execution (`run_columns`) on every backend's plan."""
from __future__ import annotations

import numpy as np
import pytest

import dfl
from dfl.backends import registry
from dfl.backends.columnar.codec import decode_rows, encode_rows
from dfl.errors import DflError

PATHS = """
input edge(a: str, b: str)
output path(a: str, b: str)
output hops(a: str, n: int)
path(a, b) :- edge(a, b).
path(a, c) :- path(a, b), edge(b, c).
hops(a, count()) :- path(a, _).
"""
EDGES = [("x", "y"), ("y", "z"), ("z", "w"), ("q", "x")]


def _graph():
    return dfl.compile(PATHS).graph


def test_the_cpu_executor_runs_nodes_by_name():
    g = _graph()
    ex = registry.executor("cpu", g)
    schema = {r.name: r.schema for r in g.relations}["edge"]
    ctx = ex.context({("input", "edge"): encode_rows(EDGES, schema, ex.pool)})
    values = {}
    for n in g.nodes:
        values[n.id] = ex.eval_node(n, values, ctx)
    sink = next(n for n in g.by_op("sink") if n.attr("rel") == "hops")
    rows = decode_rows(ex.sorted(values[sink.id], sink.schema), sink.schema, ex.pool)
    assert rows == [("q", 4), ("x", 3), ("y", 2), ("z", 1)]


def test_the_executor_stores_and_dedups():
    g = _graph()
    ex = registry.executor("cpu", g)
    schema = {r.name: r.schema for r in g.relations}["edge"]
    t = encode_rows(EDGES + EDGES[:2], schema, ex.pool)
    assert ex.distinct(t).n == 4
    store = ex.row_set(schema)
    assert store.add(t).n == 4 and store.add(encode_rows(EDGES[:1], schema, ex.pool)).n == 0
    assert store.view().n == 4
    body = next(iter(g.by_op("fixpoint"))).attr("body")
    variant = ex.delta_nodes(body)
    assert variant and all(body.node(i).op != "param" or not body.node(i).attr("name").startswith("ext:")
                           for i in variant)


def test_a_target_without_an_executor_is_refused_by_name():
    with pytest.raises(DflError, match="interp target does not run on the worker pool"):
        registry.executor("interp", _graph())
    with pytest.raises(DflError, match="unknown target 'gpu'"):
        registry.executor("gpu", _graph())


@pytest.mark.parametrize("target", registry.names())
def test_run_columns_is_part_of_every_plan(target):
    g = _graph()
    try:
        plan = registry.get(target).compile(g)
    except DflError as e:  # cuda without a GPU or the simulator (tests/backends/cuda runs it simulated)
        if target == "cuda" and e.kind == "usage":
            pytest.skip(e.message)
        raise
    schema = {r.name: r.schema for r in g.relations}["edge"]
    out = plan.run_columns({("input", "edge"): encode_rows(EDGES, schema, plan.pool)})
    hops = {r.name: r.schema for r in g.relations}["hops"]
    assert sorted(decode_rows(out["hops"], hops, plan.pool)) == [("q", 4), ("x", 3), ("y", 2), ("z", 1)]
    assert isinstance(out["path"].cols[0], np.ndarray) and out["path"].n == 10


def test_the_partitioned_driver_takes_its_executor_by_target():
    from dfl.runtime.dist.partitioned import PartitionedPlan

    g = _graph()
    with pytest.raises(DflError, match="interp target does not run on the worker pool"):
        PartitionedPlan(g, None, 2, target="interp")
    plan = PartitionedPlan(g, None, 2)
    assert plan.target == "cpu" and type(plan.local).__name__ == "CpuExecutor"
