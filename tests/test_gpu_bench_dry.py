"""The real-GPU check's scripts, dry: both shell scripts parse, and benchmarks/gpu_bench.py
prints its table and calibration with the 'cuda' cells on the cpu backend
(GPU_BENCH_FAKE_CUDA=cpu), so the script is known to work before a GPU is lent."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["gpu_check.sh", "wheels.sh"])
def test_the_scripts_parse(script: str) -> None:
    r = subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_gpu_bench_quick_dry_run(tmp_path: Path) -> None:
    env = {**os.environ, "GPU_BENCH_FAKE_CUDA": "cpu"}
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_bench.py"), "--quick", "--only", "groupby,tc",
                        "--json", str(out)], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [ln for ln in r.stdout.splitlines() if ln.startswith("| groupby") or ln.startswith("| tc")]
    assert len(rows) == 2 and all("yes (" in ln for ln in rows), r.stdout
    assert "cuda aggregate  ns/row = " in r.stdout and "NOT for calibration" in r.stdout
    assert out.exists()
