"""The op table walk: every op of ir/ops.py has its rule in each place that handles ops.

Adding an op is the table entry, its verifier and placement rules, one lowering per
backend and a line of the cpu plan (docs/ir.md, Adding an op); this test names the place
you forgot. A backend handles an op "structurally" only by saying so in its table: every
table below is keyed by op name, with no default.
"""
from __future__ import annotations

import importlib
from dataclasses import replace

import pytest

from dfl.backends import registry
from dfl.backends.cpu import physical
from dfl.compiler import placement
from dfl.ir import verify
from dfl.ir.ops import ALL, OPS, OpSpec

# backend name -> the module whose TABLE lowers each op; a new backend names its table here
LOWERINGS = {"interp": "dfl.backends.interp.ops", "cpu": "dfl.backends.cpu.ops", "cuda": "dfl.backends.cuda.ops"}


def places() -> dict[str, dict]:
    """Where each op needs a rule: place -> its table keyed by op name."""
    out = {"the verifier (ir/verify.py RULES)": verify.RULES,
           "placement (compiler/placement.py RULES)": placement.RULES,
           "the cpu plan text (backends/cpu/physical.py PLAN)": physical.PLAN}
    for name, module in LOWERINGS.items():
        out[f"the {name} backend's lowering ({module} TABLE)"] = importlib.import_module(module).TABLE
    return out


def missing(ops: dict[str, OpSpec]) -> list[str]:
    """One line per (op, place) without a rule, and per rule for an op the table lacks."""
    out = []
    for where, table in places().items():
        out += [f"op {op!r} has no rule in {where}" for op in ops if op not in table]
        out += [f"{where} has a rule for {op!r}, which is not in the op table" for op in table if op not in ops]
    return out


def test_every_backend_names_its_lowering_table() -> None:
    assert set(LOWERINGS) == set(registry.names()), \
        "a registered backend without its lowering table in LOWERINGS (tests/ir/test_op_table.py)"


def test_every_op_has_every_rule() -> None:
    assert missing(OPS) == []


def test_a_new_op_without_rules_is_named_in_every_place() -> None:
    ops = dict(OPS, frobnicate=replace(OPS["map"], doc="a new op"))
    found = missing(ops)
    assert len(found) == len(places())
    assert all(line.startswith("op 'frobnicate' has no rule in ") for line in found)
    assert any("ir/verify.py" in line for line in found)
    assert any("dfl.backends.cpu.ops" in line for line in found)


def test_a_stale_rule_is_named() -> None:
    ops = {op: s for op, s in OPS.items() if op != "union"}
    assert "the verifier (ir/verify.py RULES) has a rule for 'union', which is not in the op table" in missing(ops)


@pytest.mark.parametrize("op", sorted(OPS))
def test_the_facts_agree_with_each_other(op: str) -> None:
    s = OPS[op]
    if s.barrier != ALL and s.inputs >= 0:
        assert all(0 <= k < s.inputs for k in s.barrier), f"{op}: a barrier on an input it does not have"
    if s.linear:
        assert s.monotone and s.barrier == (), f"{op}: a linear op is monotone and runs on partial inputs"
    if s.nonmonotone_when:
        assert s.monotone, f"{op}: nonmonotone_when refines a monotone op"
        assert all(k in s.attrs for k, _ in s.nonmonotone_when), f"{op}: nonmonotone_when names an attribute it lacks"
    if not s.monotone:
        # a non-monotone op waits for the rows that could retract its output
        assert s.barrier, f"{op}: not monotone but waits for nothing"
    if s.leaves:
        assert s.inputs == 1, f"{op}: what leaves the tick or iteration is one relation"
    assert s.doc, f"{op}: say in a line what it does"


def test_the_verifier_rejects_an_op_outside_the_table() -> None:
    from dfl.ir.graph import Graph, Node
    from dfl.ir.types import Schema

    g = Graph((Node("n1", "frobnicate", (), (), Schema(())),))
    with pytest.raises(verify.IRError, match="unknown op 'frobnicate'"):
        verify.verify(g)
