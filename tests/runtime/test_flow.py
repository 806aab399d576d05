"""The pipelined schedule (runtime/dist/flow.py, runtime/dist/pipelined.py): monotone operators run
on rows as they arrive, barriers only where an operator needs all of its input, and the
results do not depend on the order in which the workers answer.

`InlinePool` hosts the partition workers in this process and answers the driver's
requests in a seeded random order (each request runs when it is answered, so a seed is
one interleaving of the workers), pickling requests and answers as a process pool would.
"""
from __future__ import annotations

import pickle
import random
import sys
from pathlib import Path

import pytest

import dfl
from dfl.backends.columnar.codec import encode_rows
from dfl.compiler.cost import CostModel
from dfl.compiler.placement import placement
from dfl.runtime.dist.batches import from_batch
from dfl.runtime.dist.partitioned import PartitionedPlan
from dfl.runtime.pools.pool import SlotPool
from dfl.runtime.dist.worker import PartitionWorker, error_payload

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared helpers

from tests.backends.test_parity import CASES, assert_same_outcome, load_case, outcome  # noqa: E402
from test_examples import ACCEPTANCE, EXAMPLES, cases  # noqa: E402


class _Inline:
    def __init__(self) -> None:
        self.worker = PartitionWorker()
        self.loaded = None
        self.busy_s = self.billed_s = 0.0
        self.calls = 0
        self.started = 0.0


class InlinePool(SlotPool):
    """Workers in this process; `answers` picks one of the requests out at random."""

    def __init__(self, size: int, seed: int) -> None:
        super().__init__(size, None, None, 0.05, threads_per_worker=1)
        self.rng = random.Random(seed)
        self.order: list[int] = []  # the slots in the order they answered
        self._begin(None, 0.05)

    def _start(self, slot: int) -> _Inline:
        return _Inline()

    def _end(self, proc: _Inline, dead: bool) -> None:
        pass

    def submit(self, slot: int, reqs) -> None:
        self.sent[slot] = (0.0, pickle.dumps(reqs))

    def answers(self, slots) -> list[tuple[int, object]]:
        slot = self.rng.choice(sorted(slots))
        reqs = pickle.loads(self.sent.pop(slot)[1])
        worker = self.procs[slot].worker
        try:
            res = [getattr(worker, m)(*a) for m, a in reqs]
        except Exception as e:  # noqa: BLE001 - as a worker process answers
            return [(slot, ("err", error_payload(e)))]
        self.order.append(slot)
        return [(slot, pickle.loads(pickle.dumps(res)))]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("case", cases(EXAMPLES) + cases(ACCEPTANCE), ids=lambda c: c.name)
def test_suite_case_in_any_worker_order(case: Path, seed: int) -> None:
    loaded = load_case(case)
    if loaded is None:
        return
    prog, kw = loaded
    ref = outcome(prog, "interp", each_tick=True, **kw)
    with InlinePool(3, seed) as pool:
        got = outcome(prog, "cpu", each_tick=True, workers=3, pool=pool, **kw)
    assert_same_outcome(got, ref, f"{case.name}, worker order {seed}")


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_targeted_program_in_any_worker_order(case, seed: int) -> None:
    prog = dfl.compile(case.src)
    kw = dict(max_ticks=case.max_ticks, each_tick=case.each_tick, **case.rows)
    ref = outcome(prog, "interp", **kw)
    with InlinePool(3, seed) as pool:
        got = outcome(prog, "cpu", workers=3, pool=pool, **kw)
    assert_same_outcome(got, ref, f"{case.id}, worker order {seed}")


def test_the_workers_answer_in_more_than_one_order() -> None:
    """The seeds above are different interleavings, not one order three times."""
    prog = dfl.compile(CHAIN)
    orders = set()
    for seed in range(4):
        with InlinePool(3, seed) as pool:
            prog.run(workers=3, pool=pool, **_rows())
            orders.add(tuple(pool.order))
    assert len(orders) > 1


# ------------------------------------------------------------------ one partition's steps
CHAIN = """
input a(x: int, y: int)
input b(y: int, z: int)
input d(z: int, w: int)
output j(x: int, w: int)
output c(n: int)
j(x, w) :- a(x, y), b(y, z), d(z, w).
c(count()) :- j(_, _).
"""

NEG = """
input a(x: int, y: int)
input b(y: int)
output r(x: int)
r(x) :- a(x, y), !b(x).
"""


def _rows(seed: int = 5, n: int = 400, k: int = 40) -> dict[str, list[tuple]]:
    rng = random.Random(seed)
    return {r: [(rng.randrange(k), rng.randrange(k)) for _ in range(n)] for r in "abd"}


def _steps(src: str, rows: dict[str, list[tuple]], parts: int = 2):
    """A placed graph, one in-process worker hosting every partition, each partition begun."""
    prog = dfl.compile(src)
    graph = placement(prog.graph, parts, CostModel(rows={r: len(v) for r, v in rows.items()})).graph
    plan = PartitionedPlan(graph, None, parts)
    schemas = {n.attr("rel"): n.schema for n in graph.by_op("source")}
    tables = {("input", r): encode_rows(v, schemas[r], plan.local.pool) for r, v in rows.items() if r in schemas}
    begins = plan._split_sources(tables)
    w = PartitionWorker()
    w.load(graph, parts, plan.spill, 1)
    for p in range(parts):
        w.begin(p, begins[p])
    return prog, graph, w


def _exchange_into(graph, op: str):
    """The exchange read by the first node of kind op."""
    return next(i for n in graph.nodes if n.op == op for i in n.inputs if graph.node(i).op == "exchange")


def test_a_join_emits_from_the_first_rows_before_its_exchange_is_sealed() -> None:
    rows = _rows()
    prog, graph, w = _steps(CHAIN, rows)
    ex = _exchange_into(graph, "join")
    first = [w.flow(p, []) for p in range(2)]
    assert all(ex in o.sealed for o in first)  # its input read only sources: finished at once
    assert not any(o.finished for o in first)
    # partition 1 gets partition 0's rows only: no seal, the other sender not heard from
    out = w.flow(1, [("push", ex, first[0].sends[ex][1])])
    join = next(n.id for n in graph.nodes if n.op == "join" and ex in n.inputs)
    assert out.stats[join][1] > 0, "the join waited instead of running on the rows it had"
    assert any(b.n for dests in out.sends.values() for b in dests.values())  # and sent them on
    agg = next(n.id for n in graph.nodes if n.op == "aggregate")
    assert agg not in out.stats and not out.finished  # the count waits behind its barrier


def test_a_count_fires_once_every_sender_has_sealed() -> None:
    rows = _rows(7)
    prog, graph, w = _steps(CHAIN, rows)
    want = prog.run(target="interp", **rows)["c"]
    parts = range(2)
    queue = {p: [] for p in parts}
    seals: dict[str, int] = {}
    outs = {p: w.flow(p, []) for p in parts}
    fired = []
    while True:
        for p, o in outs.items():
            for ex, dests in o.sends.items():
                for d, b in dests.items():
                    queue[d].append(("push", ex, b))
            for ex in o.sealed:
                seals[ex] = seals.get(ex, 0) + 1
                if seals[ex] == 2:
                    for d in parts:
                        queue[d].append(("seal", ex))
            if o.finished:
                fired.append(p)
        todo = [p for p in parts if queue[p]]
        if not todo:
            break
        outs = {}
        for p in todo:
            events, queue[p] = queue[p], []
            outs[p] = w.flow(p, events)
            agg = next(n.id for n in graph.nodes if n.op == "aggregate")
            gather = _exchange_into(graph, "aggregate")
            if agg in outs[p].stats:  # the count ran: its exchange was sealed by then
                assert ("seal", gather) in events
    assert sorted(fired) == [0, 1]
    c = outs[0].collected  # partition 0 holds the count (gathered there)
    node = next(n.id for n in graph.nodes if n.op == "sink" and n.attr("rel") == "c")
    got = from_batch(c[node], w.plan.pool)
    assert [(int(got.cols[0][0]),)] == want


NEG_DERIVED = """
input a(x: int)
input e(x: int, y: int)
rel s(y: int)
output r(x: int)
s(y) :- e(x, y).
r(x) :- a(x), !s(x).
"""


def test_negation_waits_for_every_row_of_the_negated_side() -> None:
    rng = random.Random(13)
    rows = {"a": [(x,) for x in range(40)], "e": [(rng.randrange(40), rng.randrange(20)) for _ in range(200)]}
    prog, graph, w = _steps(NEG_DERIVED, rows)
    anti = next(n for n in graph.nodes if n.op == "anti_join")
    ex = _exchange_into(graph, "distinct")  # s's rows move to the partition of their value
    assert graph.node(anti.inputs[1]).inputs == (ex,)
    first = [w.flow(p, []) for p in range(2)]
    assert not any(anti.id in o.stats for o in first)
    out = w.flow(0, [("push", ex, o.sends[ex][0]) for o in first])
    assert anti.id not in out.stats, "negation answered before the negated side was complete"
    out = w.flow(0, [("seal", ex)])
    assert out.finished and anti.id in out.stats and out.stats[anti.id][1] > 0
    sink = from_batch(out.collected[next(n.id for n in graph.by_op("sink"))], w.plan.pool)
    got = {int(x) for x in sink.cols[0]}
    assert got and got <= {x for (x,) in prog.run(target="interp", **rows)["r"]}


def test_the_left_side_of_a_negation_streams_once_the_right_is_complete() -> None:
    rows = {"a": _rows(11)["a"], "b": [(y,) for y in range(0, 40, 3)] * 30}  # as many rows as a: hashed, not broadcast
    prog, graph, w = _steps(NEG, rows)
    anti = next(n for n in graph.nodes if n.op == "anti_join")
    ex = anti.inputs[0]
    assert graph.node(ex).op == "exchange" and graph.node(anti.inputs[1]).op != "exchange"
    first = [w.flow(p, []) for p in range(2)]
    out = w.flow(1, [("push", ex, first[0].sends[ex][1])])  # no seal: more may come
    assert out.stats[anti.id][1] > 0 and not out.finished


def test_schedule_is_checked() -> None:
    prog = dfl.compile(NEG)
    with pytest.raises(dfl.DflError) as e:
        prog.run(workers=2, schedule="eager", a=[], b=[])
    assert e.value.kind == "usage" and "pipelined, stages" in e.value.hint
