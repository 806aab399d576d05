"""Whether this machine has a usable GPU: the one question placement, `--target cuda|auto`
and the worker pool ask, answered in one function (`gpu`).

A GPU is usable when numba's CUDA layer imports and `numba.cuda.is_available()` says a
driver and a device are there. With `NUMBA_ENABLE_CUDASIM=1` numba's simulator answers
yes: it counts as a device **for tests only** (it runs ~1,000 threads/s, so a plan
placed on it is correct and slow). `DFL_NO_GPU=1` makes the answer no whatever the
machine has (a run that must stay on the cpu, or a test of the no-GPU path).

Example:
    gpu()          # Gpu(available=False, name='', why='numba.cuda finds no CUDA driver or device')
    gpu().simulator
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Gpu:
    available: bool
    name: str  # the device's name ("NVIDIA H200"), "simulator", or "" without one
    why: str  # why not, when not; what was found, when found
    simulator: bool = False


def gpu() -> Gpu:
    """This process's answer (asked once: the CUDA driver's probe takes ~0.1 s)."""
    return _probe(os.environ.get("DFL_NO_GPU", ""), os.environ.get("NUMBA_ENABLE_CUDASIM", ""))


def has_gpu() -> bool:
    return gpu().available


def cuda_target() -> Gpu:
    """Whether `--target cuda` can run here: a usable GPU and the cuda backend registered
    (backends/registry.py); `available` False says which is missing."""
    from dfl.backends import registry

    if "cuda" not in registry.names():
        return Gpu(False, "", "this installation has no cuda backend (dfl.backends.cuda is not registered)")
    return gpu()


def cost_model(rows: dict[str, int] | None = None):
    """The cost model for a run on this machine: the cuda device available exactly when
    `cuda_target()` says so and it is not the simulator, and the reason shown by `dfl
    explain` when not."""
    from dfl.compiler.cost import CostModel

    g = cuda_target()
    if g.simulator:  # correct but ~10^6 times slower than a GPU: a run must ask for it by name
        return CostModel(rows=dict(rows or {}), gpu=False,
                         gpu_why="numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1) is for tests: auto does not "
                                 "choose it; --target cuda runs on it")
    return CostModel(rows=dict(rows or {}), gpu=g.available, gpu_why=g.why if not g.available else "")


@lru_cache(maxsize=4)
def _probe(no_gpu: str, cudasim: str) -> Gpu:
    if no_gpu not in ("", "0"):
        return Gpu(False, "", "DFL_NO_GPU is set")
    try:
        from numba import cuda
    except Exception as e:  # numba missing, or its CUDA layer failing to import
        return Gpu(False, "", f"numba's CUDA support does not import ({type(e).__name__}: {e})")
    sim = cudasim not in ("", "0")
    try:
        ok = bool(cuda.is_available())
    except Exception as e:  # a broken driver install raises instead of answering
        return Gpu(False, "", f"the CUDA driver failed ({type(e).__name__}: {e})")
    if not ok:
        return Gpu(False, "", "numba.cuda finds no CUDA driver or device")
    if sim:
        return Gpu(True, "simulator", "NUMBA_ENABLE_CUDASIM=1: numba's simulator (tests only)", simulator=True)
    try:
        name = cuda.get_current_device().name
        name = name.decode() if isinstance(name, bytes) else str(name)
    except Exception:
        name = "a CUDA device"
    return Gpu(True, name, f"found {name}")


def reset() -> None:
    """Forget the answer (tests that change the environment)."""
    _probe.cache_clear()


def require_cuda() -> Gpu:
    """The GPU `--target cuda` runs on, or a usage error (exit 2) saying what is missing."""
    from dfl.errors import DflError

    g = cuda_target()
    if not g.available:
        raise DflError(f"--target cuda cannot run here: {g.why}", kind="usage",
                       hint="use --target cpu, or --target auto (it runs on the GPU only where there is one "
                            "and it pays); --target cuda needs an NVIDIA GPU with the cuda extra (pip install "
                            "'dfl[cuda]'), or NUMBA_ENABLE_CUDASIM=1 for numba's simulator (tests only)")
    return g
