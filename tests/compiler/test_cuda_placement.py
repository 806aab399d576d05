"""Devices in placement (compiler/device_choice.py): `auto` never picks cuda without a GPU,
picks it for big strata with one and keeps tiny ones on the cpu, counts the PCIe link,
honours `@device`, and `--target cpu|cuda` puts every stratum on that device."""
from __future__ import annotations

import pytest

import dfl
from dfl.compiler.cost import CostModel
from dfl.compiler.placement import placement
from dfl.ir.verify import verify

GROUP_BY = """
input fact(id: int, k: int, v: int)
output agg(k: int, c: int, s: int)
agg(k, count(), sum(v)) :- fact(_, k, v).
"""

TWO = """
input fact(id: int, k: int, v: int)
input small(a: int, b: int)
output agg(k: int, c: int, s: int)
output few(a: int, n: int)
agg(k, count(), sum(v)) :- fact(_, k, v).
few(a, count()) :- small(a, _).
"""


def _prog(src: str):
    return dfl.compile("\n".join(line.strip() for line in src.strip().splitlines()) + "\n")


def _place(src: str, rows: dict[str, int], gpu: bool, target: str = "auto", parts: int = 1):
    placed = placement(_prog(src).graph, parts, CostModel(rows=rows, gpu=gpu, gpu_why="no GPU in this test"),
                       target=target)
    verify(placed.graph)
    return placed


def _agg_device(placed) -> str:
    return next(n.attr("device") for n in placed.graph.nodes if n.op == "aggregate")


@pytest.mark.parametrize("rows", [10, 100_000, 10_000_000, 1_000_000_000])
def test_auto_never_picks_cuda_without_a_gpu(rows: int) -> None:
    placed = _place(GROUP_BY, {"fact": rows}, gpu=False)
    assert {n.attr("device") for n in placed.graph.nodes} == {"cpu"}
    assert placed.run_device == "cpu"


def test_without_a_gpu_the_note_says_cuda_would_be_faster() -> None:
    placed = _place(GROUP_BY, {"fact": 10_000_000}, gpu=False)
    agg = next(c for c in placed.devices.strata if any(placed.graph.node(i).op == "aggregate" for i in c.nodes))
    assert agg.device == "cpu"
    assert "faster but not available here" in agg.why and "over PCIe" in agg.why


def test_auto_picks_cuda_for_a_big_group_by() -> None:
    placed = _place(GROUP_BY, {"fact": 10_000_000}, gpu=True)
    assert _agg_device(placed) == "cuda"
    assert placed.run_device == "cuda"
    # the rows read on the host cross the PCIe link once, into the first GPU stratum
    moved = [c.pcie_bytes["cuda"] for c in placed.devices.strata if c.device == "cuda"]
    assert moved[0] >= 10_000_000 * 16
    assert all(c.seconds["cuda"] < c.seconds["cpu"] for c in placed.devices.strata
               if c.device == "cuda" and "host" not in c.why)


@pytest.mark.parametrize("rows", [1, 100, 1000])
def test_auto_keeps_a_tiny_group_by_on_the_cpu(rows: int) -> None:
    placed = _place(GROUP_BY, {"fact": rows}, gpu=True)
    assert {n.attr("device") for n in placed.graph.nodes} == {"cpu"}
    assert placed.run_device == "cpu"
    assert all("cuda est." in c.why for c in placed.devices.strata if "host" not in c.why)


def test_the_pcie_link_can_decide() -> None:
    # the same work with the link 1,000x slower: moving the rows costs more than the cpu's work
    slow = CostModel(rows={"fact": 10_000_000}, gpu=True, pcie_ns_per_byte=40.0)
    placed = placement(_prog(GROUP_BY).graph, 1, slow, target="auto")
    assert placed.run_device == "cpu"


def test_target_cuda_puts_every_operator_on_the_gpu() -> None:
    placed = _place(GROUP_BY, {"fact": 10}, gpu=True, target="cuda", parts=2)
    assert {n.attr("device") for n in placed.graph.nodes} == {"cuda"}
    assert placed.run_device == "cuda"
    assert all(c.why == "--target cuda" for c in placed.devices.strata)


def test_target_cpu_keeps_every_operator_on_the_cpu_even_with_a_gpu() -> None:
    placed = _place(GROUP_BY, {"fact": 10_000_000}, gpu=True, target="cpu")
    assert {n.attr("device") for n in placed.graph.nodes} == {"cpu"}


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError):
        _place(GROUP_BY, {}, gpu=False, target="tpu")


def test_device_cuda_is_honoured_on_a_tiny_rule_with_a_gpu() -> None:
    src = GROUP_BY.replace("agg(k, count()", "@device(cuda)\nagg(k, count()")
    placed = _place(src, {"fact": 10}, gpu=True)
    assert _agg_device(placed) == "cuda"
    assert any("@device(cuda)" in c.why for c in placed.devices.strata)


def test_device_cuda_without_a_gpu_is_explained() -> None:
    src = GROUP_BY.replace("agg(k, count()", "@device(cuda)\nagg(k, count()")
    placed = _place(src, {"fact": 10_000_000}, gpu=False)
    assert _agg_device(placed) == "cpu"
    asked = [n for n in placed.notes if "@device(cuda)" in n.text]
    assert asked and all("not available here (no GPU in this test)" in n.text for n in asked)


def test_device_cpu_keeps_a_big_group_by_on_the_cpu() -> None:
    src = GROUP_BY.replace("agg(k, count()", "@device(cpu)\nagg(k, count()")
    placed = _place(src, {"fact": 10_000_000}, gpu=True)
    assert _agg_device(placed) == "cpu"


def test_device_cpu_under_target_cuda_is_noted() -> None:
    src = GROUP_BY.replace("agg(k, count()", "@device(cpu)\nagg(k, count()")
    placed = _place(src, {"fact": 10}, gpu=True, target="cuda")
    assert _agg_device(placed) == "cuda"
    assert any("@device(cpu) asked, but the run's target is cuda" in n.text for n in placed.notes)


def test_device_auto_is_the_cost_models_choice() -> None:
    src = GROUP_BY.replace("agg(k, count()", "@device(auto)\nagg(k, count()")
    assert _agg_device(_place(src, {"fact": 10_000_000}, gpu=True)) == "cuda"
    assert _agg_device(_place(src, {"fact": 10}, gpu=True)) == "cpu"


def test_split_strata_run_on_one_device_by_summed_cost() -> None:
    # a big group-by wants the GPU, a tiny one the cpu: one process runs one device
    src = TWO.replace("few(a, count())", "@device(cpu)\nfew(a, count())")
    placed = _place(src, {"fact": 10_000_000, "small": 10}, gpu=True)
    devs = {c.device for c in placed.devices.strata}
    assert devs == {"cpu", "cuda"}
    assert placed.run_device == "cuda"
    assert "runtime/split.py" in placed.devices.run_why and placed.split


def test_the_program_api_places_for_this_machine(monkeypatch) -> None:
    from dfl.runtime import devices

    prog = _prog(GROUP_BY)
    monkeypatch.setattr(devices, "cuda_target", lambda: devices.Gpu(False, "", "none in this test"))
    assert prog.placed({"fact": 10_000_000}).run_device == "cpu"
    monkeypatch.setattr(devices, "cuda_target", lambda: devices.Gpu(True, "Fake GPU", "found Fake GPU"))
    assert prog.placed({"fact": 10_000_000}).run_device == "cuda"
    assert prog.placed({"fact": 10}).run_device == "cpu"


@pytest.mark.parametrize("src", [GROUP_BY, TWO, """
input edge(x: int, y: int)
output path(x: int, y: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""])
@pytest.mark.parametrize("gpu", [False, True])
def test_every_node_gets_a_device_of_the_model(src: str, gpu: bool) -> None:
    placed = _place(src, {}, gpu=gpu, parts=3)
    assert {n.attr("device") for n in placed.graph.nodes} <= ({"cpu", "cuda"} if gpu else {"cpu"})
    assert {c.stratum for c in placed.devices.strata} == {n.stratum for n in placed.graph.nodes}
