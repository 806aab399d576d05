"""Split strata in one process (runtime/split.py): with a GPU (faked: the detector, and a
'cuda' backend that is the cpu backend with a string pool of its own), `--target auto`
runs a big group-by's stratum on cuda and an @device(cpu) stratum on cpu, moving rows
between them, and gives the cpu's answer."""
from __future__ import annotations

import pytest

import dfl
from dfl.backends import registry
from dfl.runtime import devices
from dfl.runtime.split import SplitPlan, split_plan

PROG = """
input fact(id: int, k: str, v: int)
input small(a: str, b: int)
output agg(k: str, c: int, s: int)
output joined(a: str, b: int, c: int)
agg(k, count(), sum(v)) :- fact(_, k, v).
@device(cpu)
joined(a, b, c) :- small(a, b), agg(a, c, _).
"""


def _inputs(n: int = 20_000) -> dict:
    fact = [(i, f"key{i % 13}", i % 100) for i in range(n)]
    small = [(f"key{j}", j) for j in range(0, 20, 3)] + [("nokey", 1)]
    return {"fact": fact, "small": small}


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(devices, "cuda_target", lambda: devices.Gpu(True, "Fake GPU", "found Fake GPU"))
    monkeypatch.setitem(registry._BACKENDS, "cuda", registry._BACKENDS["cpu"])


def test_auto_runs_split_strata_each_on_its_device(fake_gpu) -> None:
    prog = dfl.compile(PROG)
    placed = prog.placed({"fact": 20_000, "small": 8})
    assert placed.split
    by_rel = {n.attr("rel"): n.attr("device") for n in placed.graph.nodes if n.op == "sink"}
    assert by_rel["joined"] == "cpu"
    assert any(n.op == "aggregate" and n.attr("device") == "cuda" for n in placed.graph.nodes)
    got = prog.run(_inputs(), target="auto")
    want = prog.run(_inputs(), target="cpu")
    assert got.target == "cpu+cuda"
    assert got["agg"] == want["agg"] and got["joined"] == want["joined"]
    assert len(got["joined"]) == 5  # key0, key3, key6, key9, key12


def test_the_split_plan_moves_rows_between_devices(fake_gpu) -> None:
    prog = dfl.compile(PROG)
    plan = split_plan(prog.placed({"fact": 20_000, "small": 8}).graph, {"cpu": "cpu", "cuda": "cuda"})
    assert isinstance(plan, SplitPlan)
    ins = _inputs()
    res = plan.run({("input", "fact"): ins["fact"], ("input", "small"): ins["small"]})
    assert plan.moved_rows > 0 and res.stats["rows moved between devices"] == plan.moved_rows
    assert sorted(res.sinks["joined"]) == sorted(prog.run(ins, target="cpu")["joined"])


def test_one_device_when_a_backend_has_no_executor(monkeypatch) -> None:
    monkeypatch.setattr(devices, "cuda_target", lambda: devices.Gpu(True, "Fake GPU", "found Fake GPU"))
    monkeypatch.setitem(registry._BACKENDS, "cuda", ("dfl.backends.interp", "InterpBackend", None))
    prog = dfl.compile(PROG)
    placed = prog.placed({"fact": 20_000, "small": 8})
    assert placed.split and split_plan(placed.graph, {"cpu": "cpu", "cuda": "cuda"}) is None
    got = prog.run(_inputs(), target="auto")
    assert got.target == placed.run_device
    assert got["joined"] == prog.run(_inputs(), target="cpu")["joined"]


def test_a_graph_on_one_device_needs_no_split(fake_gpu) -> None:
    prog = dfl.compile(PROG)
    assert split_plan(prog.placed({"fact": 10, "small": 8}).graph, {"cpu": "cpu", "cuda": "cuda"}) is None


TICKED = """
input fact(id: int, k: int)
table seen(k: int, c: int)
output total(k: int, c: int)
seen(k, count()) :- fact(_, k).
@device(cpu)
total(k, c) :- seen(k, c).
"""


def test_a_ticked_program_runs_split(fake_gpu) -> None:
    prog = dfl.compile(TICKED)
    rows = {"fact": [(i, i % 5) for i in range(20_000)]}
    got = prog.run(rows, target="auto")
    want = prog.run(rows, target="cpu")
    assert got["total"] == want["total"] and got.ticks == want.ticks


RECURSIVE = """
input edge(x: int, y: int)
rel path(x: int, y: int)
output reach(x: int, n: int)
@device(cpu)
path(x, y) :- edge(x, y).
@device(cpu)
path(x, z) :- path(x, y), edge(y, z).
reach(x, count()) :- path(x, _).
"""


def test_a_recursion_on_cpu_feeds_a_group_by_on_cuda(fake_gpu) -> None:
    prog = dfl.compile(RECURSIVE)
    n = 3000
    edges = [(i, (i * 7 + 1) % 200) for i in range(n)]
    placed = prog.placed({"edge": n})
    fix = next(x for x in placed.graph.nodes if x.op == "fixpoint")
    agg = next(x for x in placed.graph.nodes if x.op == "aggregate")
    assert (fix.attr("device"), agg.attr("device")) == ("cpu", "cuda"), placed.devices.run_why
    got = prog.run({"edge": edges}, target="auto")
    assert got.target == "cpu+cuda"
    assert got["reach"] == prog.run({"edge": edges}, target="cpu")["reach"]
