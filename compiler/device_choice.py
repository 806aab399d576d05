"""Which device each stratum runs on, and why: the device half of placement
(compiler/placement.py calls `choose` once its partitioning is done and the rows known).

Targets:
- `cpu`: every operator on the cpu; a rule's `@device(cuda)` is noted, not honoured.
- `cuda`: every operator on the GPU (`--target cuda`; the CLI refuses it first when there
  is no usable GPU); a rule's `@device(cpu)` is noted, not honoured.
- `auto`: each stratum on the device the cost model finds cheaper, counting its
  operators' work there (compiler/cost.py, the op table's cpu_ns / cuda_ns, a launch
  cost per operator on the GPU) and the bytes that cross the PCIe link: the rows a stratum
  reads from the host (inputs, constants) or from a stratum on the other device, and
  the rows it hands to the host (outputs, tables, next-tick rows). Strata are chosen in
  order, so a stratum after a GPU stratum reads its rows on the GPU for free. Without a
  usable GPU the cuda device is unavailable and never chosen. `@device(d)` on a rule
  puts the rule's stratum on d when d is available (two rules of one stratum asking for
  different devices: the cost decides, and the note says so).

A one-process run executes one device for the whole program (`Choice.run_device`): the
device of every stratum when they agree, else the device with the lower summed cost
with every stratum on it. Running split strata on their own devices with a transfer
between them is not implemented yet (docs/placement.md, "Limits").

Example: `agg(k, count(), sum(v)) :- fact(_, k, v).` with 10M fact rows and a GPU: the
aggregate's stratum is cpu est. 59 ms, cuda est. 11 ms (most of it 206 MiB over PCIe)
-> cuda; with 100 rows: cpu est. under 1 us, cuda 20 us per operator launched -> cpu.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from dfl.compiler.cost import HOST_OPS, CostModel
from dfl.ir.graph import Node
from dfl.ir.hints import device_of

TARGETS = ("cpu", "cuda", "auto")


@dataclass
class StratumChoice:
    stratum: int
    device: str
    seconds: dict[str, float]  # device -> est. seconds there, transfers included
    pcie_bytes: dict[str, int]  # device -> est. bytes over the PCIe link were it there
    why: str
    nodes: list[str] = field(default_factory=list)


@dataclass
class Choice:
    node_device: dict[str, str]  # node id -> device
    node_notes: dict[str, str]  # node id -> a note of its own (a @device not honoured)
    strata: list[StratumChoice]
    run_device: str  # what a one-process run executes
    run_why: str


def choose(nodes: list[Node], rows: dict[str, int], rows_in: dict[str, int], cost: CostModel,
           target: str = "auto") -> Choice:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r} (one of {', '.join(TARGETS)})")
    by_id = {n.id: n for n in nodes}
    strata: dict[int, list[Node]] = {}
    for n in nodes:
        strata.setdefault(n.stratum, []).append(n)
    where: dict[str, str] = {}
    notes: dict[str, str] = {}
    out: list[StratumChoice] = []
    gpu = cost.available("cuda")
    for s in sorted(strata):
        ns = strata[s]
        secs, moved = {}, {}
        for d in cost.devices:
            secs[d.name], moved[d.name] = _stratum_seconds(ns, d.name, where, by_id, rows, rows_in, cost)
        asked = {a for a in (device_of(n) for n in ns) if a not in (None, "auto")}
        for n in ns:
            a = device_of(n)
            if a in (None, "auto"):
                continue
            if target != "auto" and a != target:
                notes[n.id] = f"@device({a}) asked, but the run's target is {target} (--target {target} " \
                              f"puts every operator on the {target})"
            elif not cost.available(a):
                notes[n.id] = f"@device({a}) asked, but {a} is not available here ({_why_not(cost, a)})"
            elif len(asked) > 1:
                notes[n.id] = f"@device({a}) asked, but rules of this stratum ask for {' and '.join(sorted(asked))}: " \
                              f"the cost decides"
        if target != "auto":
            dev, why = target, f"--target {target}"
        elif all(n.op in HOST_OPS for n in ns):  # reads or collects only: where its rows come from
            dev = next((where[i] for n in ns for i in n.inputs if i in where), "cpu")
            why = "reads or collects rows on the host"
        else:
            usable = [a for a in asked if cost.available(a)]
            if len(usable) == 1 and len(asked) == 1:
                dev, why = usable[0], f"@device({usable[0]}) on a rule of this stratum"
            else:
                dev, why = _cheapest(secs, moved, cost, ns, rows_in)
        for n in ns:
            where[n.id] = dev
        out.append(StratumChoice(s, dev, secs, moved, why, [n.id for n in ns]))
    run_device, run_why = _run_device(out, nodes, by_id, rows, rows_in, cost, target)
    return Choice(where, notes, out, run_device, run_why)


def _stratum_seconds(ns: list[Node], dev: str, where: dict[str, str], by_id: dict[str, Node],
                     rows: dict[str, int], rows_in: dict[str, int], cost: CostModel) -> tuple[float, int]:
    """The stratum's work on dev, and the bytes it moves over PCIe there: each input edge
    whose producer sits on the other side of the link (host operators are on the host)."""
    mine = {n.id for n in ns}
    t, moved = 0.0, 0
    for n in ns:
        here = "cpu" if n.op in HOST_OPS else dev
        if n.op not in HOST_OPS:
            t += cost.op_seconds(n, rows_in.get(n.id, 0), dev)
        for i in n.inputs:
            p = by_id.get(i)
            if p is None:
                continue
            there = "cpu" if p.op in HOST_OPS else (dev if i in mine else where.get(i, "cpu"))
            if there != here:
                moved += rows.get(i, 0) * cost.row_bytes(p)
    return t + cost.pcie_seconds(moved), moved


def _cheapest(secs: dict[str, float], moved: dict[str, int], cost: CostModel, ns: list[Node],
              rows_in: dict[str, int]) -> tuple[str, str]:
    inbytes = sum(rows_in.get(n.id, 0) * cost.row_bytes(n) for n in ns)
    fits = [d for d in cost.devices if d.available and inbytes <= d.capacity_bytes]
    pool = fits or [d for d in cost.devices if d.name == "cpu"]
    best = min(pool, key=lambda d: secs[d.name]).name
    parts = [f"{best} est. {_ms(secs[best])}" + _pcie(best, moved)]
    for d in cost.devices:
        if d.name == best:
            continue
        text = f"{d.name} est. {_ms(secs[d.name])}" + _pcie(d.name, moved)
        if not d.available:
            text += ", faster but not available here" if secs[d.name] < secs[best] else ", not available here"
        elif d not in fits:
            text += ", too little memory for the stratum's rows"
        parts.append(text)
    return best, "; ".join(parts)


def _pcie(dev: str, moved: dict[str, int]) -> str:
    return f" with {_size(moved[dev])} over PCIe" if dev == "cuda" and moved.get(dev) else ""


def _run_device(out: list[StratumChoice], nodes: list[Node], by_id, rows, rows_in, cost: CostModel,
                target: str) -> tuple[str, str]:
    devs = {c.device for c in out}
    if target != "auto":
        return target, f"--target {target}"
    if len(devs) <= 1:
        d = devs.pop() if devs else "cpu"
        return d, f"every stratum chose {d}"
    totals = {}
    for d in cost.devices:
        if d.available:
            totals[d.name] = _stratum_seconds(nodes, d.name, {}, by_id, rows, rows_in, cost)[0]
    best = min(totals, key=totals.get)
    split = ", ".join(f"{sum(1 for c in out if c.device == d)} on {d}" for d in sorted(devs))
    return best, (f"strata split ({split}); a run executes one device for the whole program (per-stratum "
                  f"execution is not implemented yet): {best} by summed cost, "
                  + ", ".join(f"{d} est. {_ms(t)}" for d, t in sorted(totals.items())))


def _why_not(cost: CostModel, dev: str) -> str:
    return cost.gpu_why if dev == "cuda" else f"{dev} is not a device of this machine"


def _ms(s: float) -> str:
    return f"{s * 1e3:.3g} ms"


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
