"""Backends by name, loaded lazily so a machine without numba or CUDA still imports dfl."""
from __future__ import annotations

import importlib

from dfl.errors import DflError

_BACKENDS = {
    "interp": ("dfl.backends.interp", "InterpBackend"),
    "cpu": ("dfl.backends.cpu", "CpuBackend"),
}


def names() -> list[str]:
    return sorted(_BACKENDS)


def get(name: str):
    if name not in _BACKENDS:
        raise DflError(f"unknown target '{name}'", kind="usage",
                       hint=f"targets available in this release: {', '.join(names())}")
    module, cls = _BACKENDS[name]
    return getattr(importlib.import_module(module), cls)()
