"""Backends by name, loaded lazily so a machine without numba or CUDA still imports dfl.

The runtime reaches a backend only through here (`get`, `executor`), never by importing
its package: tests/test_layering.py holds runtime/ and compiler/ to that.
"""
from __future__ import annotations

import importlib

from dfl.errors import DflError

# name -> (module, backend class, its executor class for the worker pool or None)
_BACKENDS = {
    "interp": ("dfl.backends.interp", "InterpBackend", None),
    "cpu": ("dfl.backends.cpu", "CpuBackend", ("dfl.backends.cpu.executor", "CpuExecutor")),
    "cuda": ("dfl.backends.cuda", "CudaBackend", ("dfl.backends.cuda.executor", "CudaExecutor")),
}


def names() -> list[str]:
    return sorted(_BACKENDS)


def _entry(name: str):
    if name not in _BACKENDS:
        raise DflError(f"unknown target '{name}'", kind="usage",
                       hint=f"targets available in this release: {', '.join(names())}")
    return _BACKENDS[name]


def get(name: str):
    module, cls, _ = _entry(name)
    return getattr(importlib.import_module(module), cls)()


def preload(name: str) -> None:
    """Import backend `name`'s modules (for cpu: numba and the kernels) without building
    anything: runtime/warmup.py runs this in a thread while the inputs are read."""
    module, _, ex = _entry(name)
    importlib.import_module(module)
    if ex is not None:  # the executor's module holds the kernels the pool and the plan share
        importlib.import_module(ex[0])


def warm(name: str, graph) -> None:
    """Prepare backend `name` for running `graph` in this thread, if it has a way to (the
    cpu backend: numba's target and the graph's cached kernels, backends/cpu/plan.warm_up)."""
    module, _, _ = _entry(name)
    warm_up = getattr(importlib.import_module(module), "warm_up", None)
    if warm_up is not None:
        warm_up(graph)


def executor(name: str, graph):
    """The executor of backend `name` for one partition's share of a placed graph
    (backends/base.Executor). `get` does not import it (nor the executor the plan), so the
    two stay out of each other's imports."""
    ex = _entry(name)[2]
    if ex is None:
        raise DflError(f"the {name} target does not run on the worker pool", kind="usage",
                       hint=f"targets the pool runs: {', '.join(pool_names())}")
    return getattr(importlib.import_module(ex[0]), ex[1])(graph)


def pool_names() -> list[str]:
    return sorted(n for n, (_, _, pooled) in _BACKENDS.items() if pooled)


# preloaded by the pool's fork server; cuda's executor (numba-cuda: ~0.6 s to import) is
# imported by a worker only when a run asks for it, so cpu runs on the pool do not pay it
_PRELOADED = ("cpu",)


def pool_modules() -> list[str]:
    """The modules of the backends the pool runs by default: preloaded by its fork server, so
    a new worker starts with their kernels' definitions already imported."""
    return [_BACKENDS[n][2][0] for n in pool_names() if n in _PRELOADED]
