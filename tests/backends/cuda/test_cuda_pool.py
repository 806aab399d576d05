"""`--target cuda` on the worker pool: every partition's share runs on the cuda executor
(backends/cuda/executor.py) in each worker process, here in numba's simulator, and the
results are the interpreter's."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cuda_sim_check import cuda_unusable  # noqa: E402

_why = cuda_unusable()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.parametrize("name", ["reachability", "word_count"])
def test_an_example_on_two_cuda_workers_matches_the_interpreter(name: str, tmp_path, dfl_cli) -> None:
    d = EXAMPLES / name
    r = dfl_cli("run", d / "prog.dfl", "-I", d / "in", "-O", tmp_path / "o", "--target", "cuda", "--workers", "2")
    assert r.returncode == 0, r.err
    for f in sorted((d / "out").glob("*.csv")):
        assert (tmp_path / "o" / f.name).read_text() == f.read_text(), f.name
