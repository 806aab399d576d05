"""Which engine runs a program by default, from the size of its input files: the reference
interpreter (pure Python, starts in ~0.1 s) for small inputs, the cpu target (numba: ~0.5 s
to import and load its kernels before the first row) for large ones.

Only `dfl run` without `--target` asks (dfl/commands.py); an explicit `--target cpu` is
honoured whatever the sizes (a user who asked for the compiled engine gets it), and so is
the Python API's `target="cpu"` default. The sizes are the input files' bytes on disk,
known before a file is read (runtime/input_sizes.py), so the cpu backend can start loading
while the files are read (runtime/warmup.py).

Example: `path(a, c) :- path(a, b), edge(b, c).` on a 31-byte edge.csv -> interp
("inputs 31 B, at most 8 KiB for a recursive program"); on a 38 KB edge.csv -> cpu.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dfl.ir.graph import Graph

# Measured 2026-12-02 on the 2-core dev machine, whole `dfl run -I -O` processes, CSV in and
# out, interp against cpu (cpu includes ~0.5 s of numba import and kernel loading):
#   group-by `total(k, count(), sum(v)) :- sale(_, k, v).`, 20 rows per key:
#     10k rows / 126 KB: interp 0.47 s, cpu 1.28 s;  50k / 711 KB: 0.53 s, 0.99 s;
#     200k / 3.0 MB: 1.25 s, ~2.5 s;  600k / 9.8 MB: 3.51 s, 2.53 s  -> crossover ~5 MB.
#   transitive closure, edges on a random graph of edges/3 nodes (the output grows
#   quadratically, so the crossover is at far smaller inputs):
#     300 edges / 1.7 KB: interp 0.39 s, cpu 0.93 s;  1000 / 7.4 KB: 0.89 s, 1.38 s;
#     2000 / 15 KB: 2.50 s, 1.95 s;  4500 / 38 KB: 14.6 s, 5.5 s  -> crossover ~10 KB.
# Both limits sit well below the crossover: a join that multiplies rows is slower on the
# interpreter per output row, and losing 0.5 s on a mid-sized input costs less than
# running a large one on the interpreter. (Re-measured while the machine was loaded,
# load average 3.5: group-by 20k rows / 265 KB: interp 0.41 s, cpu 1.3-1.7 s.)
INTERP_MAX_BYTES = 1024 * 1024
# A recursive program (a fixpoint): its work grows with its output, not its input.
INTERP_MAX_BYTES_RECURSIVE = 8 * 1024


@dataclass(frozen=True)
class EngineChoice:
    target: str  # "interp" or "cpu"
    reason: str  # one line for `dfl compile --emit plan -I DIR`


def choose_engine(graph: Graph, sizes: Mapping[str, int]) -> EngineChoice:
    """The default engine for inputs of `sizes` (relation -> bytes on disk; a relation
    without a file counts 0)."""
    total = sum(sizes.values())
    recursive = bool(graph.by_op("fixpoint"))
    limit = INTERP_MAX_BYTES_RECURSIVE if recursive else INTERP_MAX_BYTES
    kind = "a recursive program" if recursive else "a program without recursion"
    if total <= limit:
        return EngineChoice("interp", f"inputs {_size(total)}, at most {_size(limit)} for {kind}: "
                                      f"the interpreter, which starts without loading native kernels")
    return EngineChoice("cpu", f"inputs {_size(total)}, over {_size(limit)} for {kind}: "
                               f"the compiled cpu target")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"
