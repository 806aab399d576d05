"""`dfl compile --emit ptx`: the PTX of every kernel a program's plan launches.

The plan runs one tick on a recording device (device.Recorder): no kernel runs, each
launch records the kernel with its argument types (the program's column types), and every
operator of the plan is walked once. Each distinct (kernel, types) is compiled by
numba-cuda through NVVM for sm_90 (`cuda.compile_ptx`, no GPU needed), pinned to the
PTX that CUDA 13.0's ptxas assembles (the extra pins nvidia-cuda-nvrtc 13.0). Each kernel
is a whole PTX module after a header line `// ---- kernel NAME (TYPES)`.
"""
from __future__ import annotations

from dfl.errors import DflError
from dfl.ir.graph import Graph

CC = (9, 0)
HEADER = "// ---- kernel "


def recorded(graph: Graph) -> list:
    """[(kernel, argument types)] the plan launches, in first-launch order."""
    from dfl.backends.cuda.device import Recorder
    from dfl.backends.cuda.plan import CudaPlan, unsupported_ops

    missing = unsupported_ops(graph)
    if missing:
        raise DflError(f"the cuda backend has no lowering for op(s) {', '.join(sorted(missing))}", kind="usage")
    rec = Recorder()
    CudaPlan(graph, dev=rec).run({})
    return list(rec.seen.values())


def ptx_text(graph: Graph) -> str:
    from dfl.backends.cuda.device import cuda_module, simulated

    if simulated():
        raise DflError("--emit ptx compiles with NVVM, which the CUDA simulator replaces", kind="usage",
                       hint="unset NUMBA_ENABLE_CUDASIM (no GPU is needed to write PTX)")
    cuda = cuda_module()
    parts = []
    for k, sig in recorded(graph):
        try:
            ptx, _ = cuda.compile_ptx(k.bind(), sig, cc=CC)
        except Exception as e:  # noqa: BLE001 - NVVM/NVRTC missing or a typing error: say which kernel
            raise DflError(f"could not compile kernel {k.name} to PTX: {e}", kind="usage",
                           hint="the cuda extra pins what writes PTX: pip install 'dfl[cuda]'") from None
        parts.append(f"{HEADER}{k.name} ({', '.join(map(str, sig))})\n{ptx}")
    return "\n".join(parts)


def modules(text: str) -> list[tuple[str, str]]:
    """(header, PTX module) pairs of an --emit ptx text (each assembles on its own)."""
    out = []
    for chunk in text.split(HEADER)[1:]:
        head, _, body = chunk.partition("\n")
        out.append((head, body))
    return out
