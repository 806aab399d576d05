"""The cuda backend: numba-cuda kernels over device columns (docs/cuda.md)."""
from dfl.backends.cuda.plan import CudaBackend, CudaPlan

__all__ = ["CudaBackend", "CudaPlan"]
