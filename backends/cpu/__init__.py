"""The cpu backend: columnar batches, numpy expressions and cached native (numba) kernels."""
from dfl.backends.cpu.plan import CpuBackend, CpuPlan

__all__ = ["CpuBackend", "CpuPlan"]
