"""`--target cuda|auto` at the CLI and the API: cuda without a usable GPU is a usage error
(exit 2) saying what is missing; auto runs on cpu without a GPU and, with one (faked
here: the detector and a stand-in cuda backend), on cuda for big inputs only; `dfl
explain` says where each stratum goes and why."""
from __future__ import annotations

import pytest

import dfl
from dfl.backends import registry
from dfl.errors import DflError
from dfl.runtime import devices

PROG = """
input fact(id: int, k: int, v: int)
output agg(k: int, c: int, s: int)
agg(k, count(), sum(v)) :- fact(_, k, v).
"""


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(devices, "cuda_target", lambda: devices.Gpu(False, "", "numba.cuda finds no CUDA driver or device"))


@pytest.fixture
def fake_gpu(monkeypatch):
    """A GPU the detector reports, and a 'cuda' backend that is the interpreter in disguise:
    the plumbing is tested here, the kernels by tests/backends/cuda/."""
    monkeypatch.setattr(devices, "cuda_target", lambda: devices.Gpu(True, "Fake GPU", "found Fake GPU"))
    monkeypatch.setitem(registry._BACKENDS, "cuda", ("dfl.backends.interp", "InterpBackend", None))


def _rows(n: int) -> list[tuple[int, int, int]]:
    return [(i, i % 7, i % 100) for i in range(n)]


def test_target_cuda_without_a_gpu_exits_2(dfl_cli, write, no_gpu) -> None:
    prog = write("p.dfl", PROG)
    write("fact.csv", "id,k,v\n1,2,3\n")
    r = dfl_cli("run", prog, "--target", "cuda", "-I", str(prog.parent))
    assert r.returncode == 2, r
    assert "--target cuda cannot run here: numba.cuda finds no CUDA driver or device" in r.err
    assert "--target cpu" in r.err and "Traceback" not in r.err
    assert r.out == ""


def test_target_cuda_without_the_backend_says_so(dfl_cli, write, monkeypatch) -> None:
    monkeypatch.delitem(registry._BACKENDS, "cuda", raising=False)
    prog = write("p.dfl", PROG)
    r = dfl_cli("run", prog, "--target", "cuda")
    assert r.returncode == 2
    assert "no cuda backend" in r.err


def test_target_cuda_in_a_real_process_without_a_gpu_exits_2(dfl_proc, write) -> None:
    # the real detector (DFL_NO_GPU makes the answer no on a machine that has one)
    prog = write("p.dfl", PROG)
    r = dfl_proc("run", prog, "--target", "cuda", env={"DFL_NO_GPU": "1"})
    assert r.returncode == 2, r
    assert "--target cuda cannot run here" in r.err and "Traceback" not in r.err


def test_api_target_cuda_without_a_gpu_is_a_usage_error(no_gpu) -> None:
    prog = dfl.compile(PROG)
    with pytest.raises(DflError) as e:
        prog.run(fact=_rows(3), target="cuda")
    assert e.value.kind == "usage" and "cannot run here" in str(e.value)
    with pytest.raises(DflError):
        prog.run_columns(target="cuda", fact=[[1], [2], [3]])


def test_auto_without_a_gpu_runs_on_cpu(dfl_cli, write, no_gpu) -> None:
    prog = dfl.compile(PROG)
    res = prog.run(fact=_rows(20_000), target="auto")
    assert res.target == "cpu"
    assert res["agg"] == prog.run(fact=_rows(20_000), target="interp")["agg"]


def test_auto_with_a_gpu_runs_big_inputs_on_cuda_and_tiny_ones_on_cpu(fake_gpu) -> None:
    prog = dfl.compile(PROG)
    big = prog.run(fact=_rows(20_000), target="auto")
    assert big.target == "cuda"
    assert big["agg"] == prog.run(fact=_rows(20_000), target="cpu")["agg"]
    assert prog.run(fact=_rows(5), target="auto").target == "cpu"


def test_cli_auto_with_a_gpu_runs(dfl_cli, write, fake_gpu) -> None:
    prog = write("p.dfl", PROG)
    write("fact.csv", "id,k,v\n" + "".join(f"{i},{k},{v}\n" for i, k, v in _rows(20_000)))
    r = dfl_cli("run", prog, "--target", "auto", "-I", str(prog.parent), "-O", str(prog.parent / "out"))
    assert r.returncode == 0, r
    assert (prog.parent / "out" / "agg.csv").read_text().count("\n") == 8  # header + 7 keys


def test_cli_target_cuda_with_a_gpu_runs(dfl_cli, write, fake_gpu) -> None:
    prog = write("p.dfl", PROG)
    write("fact.csv", "id,k,v\n1,2,3\n2,2,4\n")
    r = dfl_cli("run", prog, "--target", "cuda", "-I", str(prog.parent))
    assert r.returncode == 0, r
    assert "7" in r.out


def test_explain_names_the_reason_without_a_gpu(dfl_cli, write, no_gpu) -> None:
    prog = write("p.dfl", PROG)
    r = dfl_cli("explain", prog, "--rows", "fact=10000000")
    assert r.returncode == 0, r
    assert "GPU: none (numba.cuda finds no CUDA driver or device)" in r.out
    assert "faster but not available here" in r.out
    assert "a one-process run uses cpu" in r.out


def test_explain_names_the_reason_with_a_gpu(dfl_cli, write, fake_gpu) -> None:
    prog = write("p.dfl", PROG)
    big = dfl_cli("explain", prog, "--rows", "fact=10000000")
    assert big.returncode == 0, big
    assert "GPU: Fake GPU" in big.out
    assert "a one-process run uses cuda" in big.out
    assert any(line.strip().startswith("stratum") and ": cuda  (cuda est." in line and "over PCIe" in line
               for line in big.out.splitlines()), big.out
    tiny = dfl_cli("explain", prog, "--rows", "fact=10")
    assert "a one-process run uses cpu" in tiny.out
    forced = dfl_cli("explain", prog, "--rows", "fact=10", "--target", "cuda")
    assert "(--target cuda)" in forced.out and "a one-process run uses cuda" in forced.out


def test_explain_target_cuda_without_a_gpu_says_run_would_refuse(dfl_cli, write, no_gpu) -> None:
    prog = write("p.dfl", PROG)
    r = dfl_cli("explain", prog, "--target", "cuda")
    assert r.returncode == 0
    assert "dfl run --target cuda would refuse here" in r.out


def test_auto_does_not_choose_the_simulator(monkeypatch) -> None:
    monkeypatch.setattr(devices, "cuda_target",
                        lambda: devices.Gpu(True, "simulator", "NUMBA_ENABLE_CUDASIM=1", simulator=True))
    monkeypatch.setitem(registry._BACKENDS, "cuda", ("dfl.backends.interp", "InterpBackend", None))
    prog = dfl.compile(PROG)
    placed = prog.placed({"fact": 10_000_000})
    assert placed.run_device == "cpu"
    assert any("simulator" in c.why or "for tests" in c.why for c in placed.devices.strata) or \
        "for tests" in devices.cost_model().gpu_why
    # --target cuda does run on it (the cuda tests' way)
    assert prog.run(fact=_rows(3), target="cuda").target == "cuda"


def test_run_columns_auto_follows_the_placement(fake_gpu, monkeypatch) -> None:
    import numpy as np

    prog = dfl.compile(PROG)
    seen = []
    real = prog.plan
    monkeypatch.setattr(prog, "plan", lambda t="cpu": seen.append(t) or real("cpu"))
    n = 50_000
    cols = [np.arange(n), np.arange(n) % 7, np.arange(n) % 100]
    out = prog.run_columns(target="auto", fact=cols)
    assert seen[-1] == "cuda" and len(out["agg"]["k"]) == 7
    prog.run_columns(target="auto", fact=[c[:5] for c in cols])
    assert seen[-1] == "cpu"
