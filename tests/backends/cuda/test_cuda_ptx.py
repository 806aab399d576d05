"""`dfl compile --emit ptx` and the PTX check: every example's kernels compile to PTX with
NVVM (no GPU), and each distinct module assembles with `ptxas -arch=sm_90` (skipped where
ptxas or NVVM is missing). NVVM cannot run in a process where numba.cuda is the simulator,
so these run `dfl` in a child process without NUMBA_ENABLE_CUDASIM."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"


def _child_env() -> dict:
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    return env


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=_child_env(),
                          cwd=ROOT, timeout=timeout)


def _nvvm_or_skip() -> None:
    try:
        import numba_cuda  # noqa: F401
    except ImportError:
        pytest.skip("numba-cuda is not installed")
    probe = _run("-c", "from numba import cuda\n"
                       "def k(a):\n    a[0] = 1\n"
                       "from numba import int64\ncuda.compile_ptx(k, (int64[:],), cc=(9, 0))")
    if probe.returncode != 0:
        pytest.skip(f"NVVM/NVRTC unusable here: {probe.stderr.strip().splitlines()[-1:]}")


def test_emit_ptx_prints_a_header_per_kernel(tmp_path: Path) -> None:
    _nvvm_or_skip()
    out = tmp_path / "k.ptx"
    r = _run("-m", "dfl.cli", "compile", str(EXAMPLES / "reachability" / "prog.dfl"), "--emit", "ptx", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    heads = [line for line in text.splitlines() if line.startswith("// ---- kernel ")]
    assert len(heads) >= 10
    assert any("k_probe_count" in h for h in heads) and any("pipe_" in h for h in heads)
    assert text.count(".target sm_90") == len(heads)


def _parity_programs(into: Path) -> None:
    """The targeted parity programs (every IR op and builtin) as .dfl files."""
    sys.path[:0] = [str(ROOT / "tests" / "backends"), str(ROOT / "tests")]
    from test_parity import CASES, RUNTIME_ERRORS

    for name, src in [(c.id, c.src) for c in CASES] + [(e[0], e[1]) for e in RUNTIME_ERRORS]:
        (into / name).mkdir()
        (into / name / "prog.dfl").write_text(src, encoding="utf-8")


def test_every_kernel_assembles_with_ptxas(tmp_path: Path) -> None:
    """Every example's kernels, and every targeted parity program's (every IR op and
    builtin: the simulator runs kernels as Python and types nothing, NVVM types them for the
    real target), compiled to PTX and each distinct module assembled by ptxas for sm_90."""
    if shutil.which("ptxas") is None:
        pytest.skip("ptxas is not on PATH")
    _nvvm_or_skip()
    _parity_programs(tmp_path)
    r = _run("-m", "dfl.backends.cuda.ptxcheck", str(EXAMPLES), str(tmp_path), "--arch", "sm_90")
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "0 refused" in r.stdout


def test_cuda_without_gpu_or_simulator_is_a_usage_error(tmp_path: Path) -> None:
    """No GPU here and no simulator: exit 2 with a message that says so (no traceback)."""
    try:
        import numba_cuda  # noqa: F401
    except ImportError:
        pytest.skip("numba-cuda is not installed")
    prog = tmp_path / "p.dfl"
    prog.write_text("input n(x: int)\noutput o(x: int)\no(x) :- n(x).\n", encoding="utf-8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "n.csv").write_text("x\n1\n", encoding="utf-8")
    probe = _run("-c", "from numba import cuda; print(cuda.is_available())")
    if probe.stdout.strip() == "True":
        pytest.skip("this machine has a GPU")
    r = _run("-m", "dfl.cli", "run", str(prog), "-I", str(tmp_path / "in"), "-O", str(tmp_path / "out"),
             "--target", "cuda")
    assert r.returncode == 2, r.stderr
    assert "GPU" in r.stderr and "NUMBA_ENABLE_CUDASIM" in r.stderr
    assert "Traceback" not in r.stderr

