"""The one GPU detector (runtime/devices.py) and a pool worker's report of its GPU."""
from __future__ import annotations

import subprocess
import sys

import pytest

from dfl.runtime import devices


@pytest.fixture(autouse=True)
def _fresh():
    devices.reset()
    yield
    devices.reset()


def test_dfl_no_gpu_says_no(monkeypatch) -> None:
    monkeypatch.setenv("DFL_NO_GPU", "1")
    g = devices.gpu()
    assert not g.available and "DFL_NO_GPU" in g.why


def test_the_answer_has_a_reason(monkeypatch) -> None:
    monkeypatch.delenv("DFL_NO_GPU", raising=False)
    g = devices.gpu()
    assert g.why  # found X, or why not
    assert g.available == devices.has_gpu()


def test_the_simulator_counts_as_a_device_for_tests() -> None:
    code = ("from dfl.runtime.devices import gpu; g = gpu(); "
            "print(g.available, g.simulator, g.name)")
    env = {"NUMBA_ENABLE_CUDASIM": "1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True", "simulator"]


def test_cuda_target_needs_the_backend_registered(monkeypatch) -> None:
    from dfl.backends import registry

    monkeypatch.delitem(registry._BACKENDS, "cuda", raising=False)
    g = devices.cuda_target()
    assert not g.available and "no cuda backend" in g.why
    assert devices.cost_model().available("cuda") is False


def test_a_pool_worker_reports_its_gpu() -> None:
    from dfl.runtime.pools.pool import LocalPool

    with LocalPool(1) as pool:
        report = pool.devices()
        assert len(report) == 1
        (d,) = report.values()
        assert set(d) == {"gpu", "name", "why", "simulator"}
        assert d["gpu"] == devices.gpu().available
        assert pool.gpu_slots() == (sorted(report) if d["gpu"] else [])
