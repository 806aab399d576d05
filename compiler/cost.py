"""The placement pass's cost model: how many rows each operator sees, how many bytes an
exchange moves, and what an operator costs on each device.

Figures are estimates, not promises: input sizes come from the run (row counts of the
input files or Python rows) when placement runs just before execution, else a default.
Per-row costs are in nanoseconds, per op in the op table (ir/ops.py, `Cost`): measured on
this project's 2-core machine with the cpu backend's kernels (benchmarks/README.md); the
cuda device's figures are the H100's from the kernels' bandwidth bound, and its fixed
costs (a kernel launch, the PCIe link) published H100 figures: docs/placement.md, "Where
the cuda constants come from", names each source and how `benchmarks/gpu_check.sh`'s
output recalibrates them.

The cuda device is available only when the caller says a usable GPU is there
(`CostModel(gpu=True)`: runtime/devices.gpu() decides; the compiler does not probe).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from dfl.ir.graph import Node
from dfl.ir.ops import OPS
from dfl.ir.types import Type

DEFAULT_ROWS = 100_000  # an input whose size is not known yet
BYTES = {Type.INT: 8, Type.FLOAT: 8, Type.BOOL: 1, Type.STR: 12, Type.ADDR: 8}  # str: code + share of its text


@dataclass(frozen=True)
class Device:
    name: str
    ns_per_row: dict[str, float]  # op -> ns per input row
    launch_s: float  # fixed cost of starting work there
    capacity_bytes: int  # memory the device offers one run
    available: bool  # whether this installation can run on it


# per-op figures live in the op table (ir/ops.py, OpSpec.cost)
CPU = Device("cpu", {op: s.cost.cpu_ns for op, s in OPS.items()},
             launch_s=0.0, capacity_bytes=16 << 30, available=True)
# launch_s: per operator, a few kernel launches (~5 us each on an H100 with a recent driver)
# and one synchronisation; capacity: an H100's 80 GB less the context and the kernels' scratch
CUDA_LAUNCH_S = 20e-6
CUDA = Device("cuda", {op: s.cost.cuda_ns for op, s in OPS.items()},
              launch_s=CUDA_LAUNCH_S, capacity_bytes=78 << 30, available=False)
# host <-> device over PCIe Gen5 x16 (64 GB/s a direction on paper, ~50 GB/s pinned,
# ~25 GB/s from pageable numpy memory, which is what a run's columns are): 1 / 25 GB/s
PCIE_NS_PER_BYTE = 0.04
# operators that read or collect rows on the host whatever the device: their rows cross
# the PCIe link when their neighbour runs on the GPU
HOST_OPS = frozenset({"source", "values", "sink", "persist", "defer"})

SELECTIVITY = {op: s.cost.selectivity for op, s in OPS.items() if s.cost.selectivity is not None}


@dataclass
class CostModel:
    rows: dict[str, int] = field(default_factory=dict)  # input relation -> known row count
    devices: tuple[Device, ...] = (CPU, CUDA)
    exchange_ns_per_byte: float = 0.5  # pipe or shared memory between local processes
    broadcast_limit: int = 200_000  # rows up to which a join side is sent to every partition
    gpu: bool = False  # a usable GPU is there (runtime/devices.gpu()): the cuda device is available
    gpu_why: str = "no usable GPU here"  # why not, when not (shown by dfl explain)
    pcie_ns_per_byte: float = PCIE_NS_PER_BYTE

    def __post_init__(self) -> None:
        if self.gpu:
            self.devices = tuple(replace(d, available=True) if d.name == "cuda" else d for d in self.devices)

    def device(self, name: str) -> Device:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def source_rows(self, rel: str) -> int:
        return self.rows.get(rel, DEFAULT_ROWS)

    def out_rows(self, n: Node, ins: list[int]) -> int:
        """Estimated output rows of n from its inputs' estimates."""
        if n.op == "join":
            # a key join: about as many rows as the bigger side (foreign-key joins)
            return max(ins) if n.attr("left_keys") else min(ins[0] * ins[1], 1 << 40)
        if n.op == "union":
            return sum(ins)
        if n.op == "fixpoint":
            return 10 * sum(ins[:len(n.attr("rels"))]) or DEFAULT_ROWS
        if n.op in SELECTIVITY:
            return max(1, int(ins[0] * SELECTIVITY[n.op])) if ins[0] else 0
        return ins[0] if ins else 0

    def row_bytes(self, n: Node) -> int:
        return sum(BYTES.get(t, 8) for t in n.schema.types) or 1

    def op_seconds(self, n: Node, rows_in: int, device: str = "cpu") -> float:
        d = self.device(device)
        return d.launch_s + rows_in * d.ns_per_row[n.op] * 1e-9

    def move_seconds(self, nbytes: int) -> float:
        return nbytes * self.exchange_ns_per_byte * 1e-9

    def pcie_seconds(self, nbytes: int) -> float:
        """Rows between the host and the GPU, one way."""
        return nbytes * self.pcie_ns_per_byte * 1e-9

    def available(self, name: str) -> bool:
        return any(d.name == name and d.available for d in self.devices)
