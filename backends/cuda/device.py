"""The device: numba.cuda on a GPU or in its simulator, kernels, launches and transfers.

Every kernel of the backend is a plain Python function wrapped by `kernel`, which keeps the
function (for `compile_ptx`) beside its `cuda.jit` dispatcher, compiled on first launch.
Every launch goes through `launch`, so a *recording* device (`Recorder`) can list the
kernels a plan uses with their argument types without running any (`dfl compile --emit
ptx`, on a machine with neither a GPU nor the simulator: its "device arrays" are numpy
arrays, whose numba types are the device arrays' types).

Availability: `NUMBA_ENABLE_CUDASIM=1` runs every kernel in numba's simulator (Python
threads, about a thousand a second); otherwise a usable GPU is required, and compiling
for the target without either is a usage error that says so.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from dfl.errors import DflError

_HINT = ("install the extra (pip install 'dfl[cuda]') on a machine with an NVIDIA GPU, or set "
         "NUMBA_ENABLE_CUDASIM=1 to run the kernels in numba's CUDA simulator (slow: tests only)")


def simulated() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def cuda_module():
    """numba.cuda, or a usage error naming what is missing."""
    try:
        from numba import cuda
    except Exception as e:  # noqa: BLE001 - numba-cuda absent or broken: say which
        raise DflError(f"the cuda target needs numba-cuda, which did not import ({e})", kind="usage",
                       hint=_HINT) from None
    return cuda


def require_device() -> None:
    """Raises a usage error (exit 2) unless kernels can run: a GPU, or the simulator."""
    cuda = cuda_module()
    try:
        ok = cuda.is_available()
    except Exception:  # noqa: BLE001 - a driver that fails to load is no GPU
        ok = False
    if not ok:
        raise DflError("the cuda target found no usable GPU (and NUMBA_ENABLE_CUDASIM is not set)",
                       kind="usage", hint=_HINT)


class Kernel:
    """A kernel's Python function and its dispatcher (made on first use)."""

    def __init__(self, fn: Callable, name: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        self._jit = None

    def bind(self) -> Callable:
        """The function, its module's `cuda` name bound to numba.cuda (imported only now)."""
        self.fn.__globals__["cuda"] = cuda_module()
        return self.fn

    def jitted(self):
        if self._jit is None:
            self._jit = cuda_module().jit(self.bind())
        return self._jit


def kernel(fn: Callable) -> Kernel:
    return Kernel(fn)


_DEVICE_FNS: dict[str, Any] = {}


def device_fn(fn: Callable):
    """A device function: compiled by cuda.jit(device=True), or the plain function when the
    caller only records (the recorder never runs it)."""
    key = f"{fn.__module__}.{fn.__qualname__}"
    if key not in _DEVICE_FNS:
        _DEVICE_FNS[key] = cuda_module().jit(device=True)(fn)
    return _DEVICE_FNS[key]


@dataclass
class Device:
    """Where columns live and kernels run. The base class is the real device (a GPU or the
    simulator); `Recorder` only records."""

    stats: dict[str, int] = field(default_factory=dict)
    threads: int = 0
    recording = False  # a Recorder: walk every operator's kernels even on empty columns

    def __post_init__(self) -> None:
        self.cuda = cuda_module()
        self.threads = 32 if simulated() else 256

    # -- memory
    def to_device(self, a: np.ndarray):
        self.stats["h2d_bytes"] = self.stats.get("h2d_bytes", 0) + a.nbytes
        return self.cuda.to_device(np.ascontiguousarray(a))

    def to_host(self, d) -> np.ndarray:
        out = d.copy_to_host()
        self.stats["d2h_bytes"] = self.stats.get("d2h_bytes", 0) + out.nbytes
        return out

    def scalar(self, d, i: int = 0) -> int:
        """One counter read back (the size of a kernel's output, before it is allocated)."""
        return int(d[i:i + 1].copy_to_host()[0])

    def empty(self, n: int, dtype):
        return self.cuda.device_array(n, dtype)

    def empty2(self, n: int, k: int, dtype):
        return self.cuda.device_array((n, k), dtype)

    # -- kernels
    def launch(self, k: Kernel, n: int, *args) -> None:
        if n <= 0:
            return
        t = min(self.threads, n)  # the simulator starts a Python thread for each, used or not
        self.stats["kernels"] = self.stats.get("kernels", 0) + 1
        if simulated():  # int64 wraps are the language's semantics, not warnings (numpy scalars here)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                k.jitted()[(n + t - 1) // t, t](*args)
            return
        k.jitted()[(n + t - 1) // t, t](*args)

    def launch1(self, k: Kernel, *args) -> None:
        """A kernel of one thread (a short serial step)."""
        self.launch_grid(k, 1, 1, *args)

    def launch_grid(self, k: Kernel, blocks: int, threads: int, *args) -> None:
        self.stats["kernels"] = self.stats.get("kernels", 0) + 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            k.jitted()[blocks, threads](*args)


class Recorder(Device):
    """A device that runs nothing: numpy arrays stand in for device memory (every counter
    reads 0, so a plan walks each operator once on empty columns) and each launch records
    the kernel with its argument types."""

    recording = True

    def __post_init__(self) -> None:
        self.threads = 1
        self.seen: dict[tuple, tuple[Kernel, tuple]] = {}

    def to_device(self, a: np.ndarray):
        return np.ascontiguousarray(a)

    def to_host(self, d) -> np.ndarray:
        return np.asarray(d)

    def scalar(self, d, i: int = 0) -> int:
        return 0

    def empty(self, n: int, dtype):
        return np.zeros(n, dtype)

    def empty2(self, n: int, k: int, dtype):
        return np.zeros((n, k), dtype)

    def launch(self, k: Kernel, n: int, *args) -> None:
        self._record(k, args)

    def launch1(self, k: Kernel, *args) -> None:
        self._record(k, args)

    def _record(self, k: Kernel, args: tuple) -> None:
        import numba

        sig = tuple(numba.typeof(a) for a in args)
        self.seen.setdefault((id(k.fn), sig), (k, sig))
