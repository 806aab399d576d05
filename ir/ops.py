"""The op table: every fact about each IR operator, in one place (docs/ir.md, Adding an op).

The verifier, CALM, prune, the pipelined flow, the renderer and the cost model read these
facts instead of keeping lists of their own. Every field is given for every op (no
defaults), so a new op states each fact on purpose; `tests/ir/test_op_table.py` then
names each place that still lacks a rule for it (the verifier, placement, each backend's
lowering, the cpu plan text).

Example:
    OPS["anti_join"].barrier       # (1,): the negated side must be complete before it emits
    op_monotone(node)              # False for a `defer` that deletes
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ALL: Literal["all"] = "all"  # a barrier on every input


@dataclass(frozen=True)
class Cost:
    """What the cost model (compiler/cost.py) assumes for the op.

    ns per input row on each device: the cpu's measured on this project's 2-core machine with
    the cpu backend's kernels, the cuda device's from the H100's bandwidth bound (benchmarks/README.md);
    `selectivity`: output rows per input row, None when the op's output is sized otherwise
    (as many as its input, or by a rule of its own in CostModel.out_rows).
    """

    cpu_ns: float
    cuda_ns: float
    selectivity: float | None


@dataclass(frozen=True, kw_only=True)
class OpSpec:
    inputs: int  # how many inputs; -1 for any number
    attrs: tuple[str, ...]  # the attributes it must carry
    monotone: bool  # a new input row can only add output rows
    nonmonotone_when: tuple[tuple[str, Any], ...]  # (attr, value) pairs that make one node non-monotone
    linear: bool  # f(A u dA) = f(A) u f(dA): runs on each piece of its input as it arrives
    barrier: tuple[int, ...] | Literal["all"]  # inputs that must be complete before it emits
    dedups: bool  # its output holds each row (each key, for a merge) once
    leaves: Literal["", "tick", "iteration"]  # its rows leave the tick (to the driver, the next tick)
    #                                            or a fixpoint iteration (to the next round)
    may_fail: bool  # evaluates expressions, which can fail at run time (ir/builtin_sigs.py MAY_FAIL)
    cost: Cost
    doc: str


_ROW = Cost(1.0, 1.0, None)  # no work of its own worth counting: a row in, a row out

OPS: dict[str, OpSpec] = {
    "source": OpSpec(
        inputs=0, attrs=("rel", "kind"), monotone=True, nonmonotone_when=(), linear=False, barrier=(),
        dedups=False, leaves="", may_fail=False, cost=_ROW,
        doc="rows supplied to this tick: kind input | channel | state | deferred"),
    "values": OpSpec(
        inputs=0, attrs=("rows",), monotone=True, nonmonotone_when=(), linear=False, barrier=(),
        dedups=False, leaves="", may_fail=False, cost=_ROW, doc="constant rows (facts)"),
    "param": OpSpec(
        inputs=0, attrs=("name",), monotone=True, nonmonotone_when=(), linear=False, barrier=(),
        dedups=False, leaves="", may_fail=False, cost=_ROW,
        doc="an input of a fixpoint body: full:R, delta:R or ext:R"),
    "map": OpSpec(
        inputs=1, attrs=("exprs",), monotone=True, nonmonotone_when=(), linear=True, barrier=(),
        dedups=False, leaves="", may_fail=True, cost=Cost(1.0, 0.05, None),
        doc="one output row per input row, columns computed by exprs"),
    "filter": OpSpec(
        inputs=1, attrs=("pred",), monotone=True, nonmonotone_when=(), linear=True, barrier=(),
        dedups=False, leaves="", may_fail=True, cost=Cost(1.0, 0.05, 0.5),
        doc="the rows for which pred is true"),
    "flat_map": OpSpec(
        inputs=1, attrs=("gen",), monotone=True, nonmonotone_when=(), linear=True, barrier=(),
        dedups=False, leaves="", may_fail=True, cost=Cost(30.0, 5.0, None),
        doc="each row extended by each element of the list gen (split, range)"),
    "join": OpSpec(
        # not linear as a whole but in each side: d(L x R) = dL x R u L' x dR (runtime/flow.py)
        inputs=2, attrs=("left_keys", "right_keys"), monotone=True, nonmonotone_when=(), linear=False,
        barrier=(), dedups=False, leaves="", may_fail=False, cost=Cost(12.0, 0.4, None),
        doc="pairs of rows equal on the keys: left columns ++ right"),
    "anti_join": OpSpec(
        inputs=2, attrs=("left_keys", "right_keys"), monotone=False, nonmonotone_when=(), linear=False,
        barrier=(1,), dedups=False, leaves="", may_fail=False, cost=Cost(8.0, 0.3, 0.5),
        doc="left rows with no right row equal on the keys"),
    "union": OpSpec(
        inputs=-1, attrs=(), monotone=True, nonmonotone_when=(), linear=True, barrier=(),
        dedups=False, leaves="", may_fail=False, cost=Cost(0.5, 0.05, None), doc="all rows of all inputs"),
    "distinct": OpSpec(
        inputs=1, attrs=(), monotone=True, nonmonotone_when=(), linear=False, barrier=(),
        dedups=True, leaves="", may_fail=False, cost=Cost(5.0, 0.2, 0.9), doc="each row once"),
    "aggregate": OpSpec(
        inputs=1, attrs=("keys", "aggs"), monotone=False, nonmonotone_when=(), linear=False, barrier=ALL,
        dedups=True, leaves="", may_fail=True, cost=Cost(6.0, 0.2, 0.1),
        doc="over the distinct input rows, one row per distinct key: keys ++ aggregate values"),
    "range_aggregate": OpSpec(
        # the body aggregate `max t : {e(u, t), t < ts}` without its correlated join
        # (compiler/passes/range_aggregates.py); one row per distinct left row, like the
        # aggregate it replaces, so it waits for both inputs as that aggregate did
        inputs=2, attrs=("left_keys", "right_keys", "value", "cmp", "bound", "aggs"), monotone=False,
        nonmonotone_when=(), linear=False, barrier=ALL, dedups=True, leaves="", may_fail=False,
        # cpu: a sort and a search per row (benchmarks/README.md, sessions); cuda: it runs there
        # as the join it replaced (every pair of a key), priced so that `auto` keeps it on the cpu
        cost=Cost(10.0, 500.0, None),
        doc="for each distinct left row: the aggregate over the distinct right rows equal on the keys "
            "whose column `value` compares by each of cmp (lt le gt ge; two: a window) with the "
            "expressions `bound` of the left row; "
            "left columns ++ the aggregate value, no row where no right row qualifies (with "
            "empty=\"zero\", a count or sum: a row with 0)"),
    "lattice_merge": OpSpec(
        # monotone in the lattice order; the pipelined flow still evaluates it whole (a barrier
        # it does not strictly need, runtime/flow.py)
        inputs=1, attrs=("key_arity", "lattices"), monotone=True, nonmonotone_when=(), linear=False,
        barrier=ALL, dedups=True, leaves="", may_fail=False, cost=Cost(8.0, 0.3, 0.5),
        doc="one row per key, lattice columns merged"),
    "fixpoint": OpSpec(
        inputs=-1, attrs=("rels", "exts", "body"), monotone=True, nonmonotone_when=(), linear=False,
        barrier=ALL, dedups=True, leaves="", may_fail=False, cost=Cost(40.0, 2.0, None),
        doc="a recursive stratum: inputs are each of rels' initial rows, then the exts the body reads"),
    "result": OpSpec(
        inputs=1, attrs=("rel",), monotone=True, nonmonotone_when=(), linear=False, barrier=ALL,
        dedups=True, leaves="", may_fail=False, cost=_ROW, doc="relation rel out of a fixpoint"),
    "exchange": OpSpec(
        inputs=1, attrs=("mode", "keys"), monotone=True, nonmonotone_when=(), linear=True, barrier=(),
        dedups=False, leaves="", may_fail=False, cost=_ROW,
        doc="moves rows between partitions: mode hash (by the key columns), broadcast "
            "(every partition gets every row) or gather (all rows to partition 0)"),
    "yield": OpSpec(
        inputs=1, attrs=("rel",), monotone=True, nonmonotone_when=(), linear=False, barrier=ALL,
        dedups=False, leaves="iteration", may_fail=False, cost=_ROW,
        doc="inside a fixpoint body: rows derived for rel this iteration"),
    "sink": OpSpec(
        inputs=1, attrs=("rel",), monotone=True, nonmonotone_when=(), linear=False, barrier=ALL,
        dedups=False, leaves="tick", may_fail=False, cost=_ROW,
        doc="the value of an output relation at the end of the tick"),
    "persist": OpSpec(
        inputs=1, attrs=("rel",), monotone=True, nonmonotone_when=(), linear=False, barrier=ALL,
        dedups=False, leaves="tick", may_fail=False, cost=_ROW,
        doc="a table's rows at the end of the tick, kept for the next"),
    "defer": OpSpec(
        # as an insertion it is monotone; a deletion retracts rows (compiler/calm.py: deletion)
        inputs=1, attrs=("rel", "mode"), monotone=True, nonmonotone_when=(("mode", "delete"),), linear=False,
        barrier=ALL, dedups=False, leaves="tick", may_fail=False, cost=_ROW,
        doc="rows for the next tick: mode insert (next) or delete"),
}


def op_monotone(node: Any) -> bool:
    """Whether this node's operator is monotone: its op's fact, unless its attributes say otherwise.

    `node` is an ir.graph.Node; an op missing from the table is a KeyError (verify rejects it first).
    """
    spec = OPS[node.op]
    return spec.monotone and not any(node.attr(k) == v for k, v in spec.nonmonotone_when)


def blocks(op: str, k: int) -> bool:
    """Whether input k of `op` must be complete before the op emits anything."""
    b = OPS[op].barrier
    return b == ALL or k in b


def streamed(op: str) -> bool:
    """Whether the op emits from partial inputs (else: a barrier for all of them)."""
    return OPS[op].barrier != ALL

# the ops whose rows leave a tick (sink, persist, defer): what a TickResult holds
TICK_EFFECTS: tuple[str, ...] = tuple(op for op, s in OPS.items() if s.leaves == "tick")
