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
  puts the rule's operators on d when d is available (the compiler's helpers for the
  rule, such as a projection in its producer's stratum, too); the other operators of a
  stratum follow its cost choice.

A one-process run with split strata runs each on its device (runtime/split.py) when both
devices' backends have an executor; else on one device for the whole program
(`Choice.run_device`): the device of every stratum when they agree, else the device with
the lower summed cost with every stratum on it.

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
    for s in sorted(strata):
        ns = strata[s]
        forced: dict[str, str] = {}  # node -> the device its rule's @device asks for, honoured
        for n in ns:
            a = _asked(n)
            if a in (None, "auto"):
                continue
            if target != "auto" and a != target:
                notes[n.id] = f"@device({a}) asked, but the run's target is {target} (--target {target} " \
                              f"puts every operator on the {target})"
            elif not cost.available(a):
                notes[n.id] = f"@device({a}) asked, but {a} is not available here ({_why_not(cost, a)})"
            elif target == "auto" and n.op not in HOST_OPS:
                forced[n.id] = a
        secs, moved = {}, {}
        for d in cost.devices:
            secs[d.name], moved[d.name] = _stratum_seconds(ns, d.name, where, by_id, rows, rows_in, cost, forced)
        free = [n for n in ns if n.id not in forced and n.op not in HOST_OPS]
        if target != "auto":
            dev, why = target, f"--target {target}"
        elif all(n.op in HOST_OPS for n in ns):  # reads or collects only: each where its rows come from
            dev = next((where[i] for n in ns for i in n.inputs if i in where), "cpu")
            why = "reads or collects rows on the host, each where its rows are made"
        elif not free and len(set(forced.values())) == 1:
            dev = next(iter(forced.values()))
            why = f"@device({dev}) on its rules"
        else:
            dev, why = _cheapest(secs, moved, cost, ns, rows_in)
        for d in sorted(set(forced.values())):
            k = sum(1 for f in forced.values() if f == d)
            why += f"; {k} operator(s) on {d}, asked by @device({d})"
        for n in ns:
            if n.op in HOST_OPS and n.inputs and target == "auto":
                where[n.id] = where.get(n.inputs[0], dev)  # collects where its rows are made
            else:
                where[n.id] = forced.get(n.id, dev)
        out.append(StratumChoice(s, dev, secs, moved, why, [n.id for n in ns]))
    run_device, run_why = _run_device(where, nodes, by_id, rows, rows_in, cost, target)
    return Choice(where, notes, out, run_device, run_why)


def _asked(n: Node) -> str | None:
    """The device n's rule asks for; a recursion (whose own node no rule annotates) asks
    for the device its body's annotated rules agree on (rules without @device do not count)."""
    a = device_of(n)
    if a is None and n.op == "fixpoint":
        asks = {device_of(m) for m in n.attr("body").nodes} - {None}
        a = asks.pop() if len(asks) == 1 else None
    return a


def _stratum_seconds(ns: list[Node], dev: str, where: dict[str, str], by_id: dict[str, Node],
                     rows: dict[str, int], rows_in: dict[str, int], cost: CostModel,
                     forced: dict[str, str] | None = None) -> tuple[float, int]:
    """The stratum's work on dev (its `forced` operators on theirs), and the bytes it moves
    over PCIe there: each input edge whose producer sits on the other side of the link
    (host operators are on the host)."""
    forced = forced or {}
    mine = {n.id for n in ns}
    t, moved = 0.0, 0
    for n in ns:
        here = "cpu" if n.op in HOST_OPS else forced.get(n.id, dev)
        if n.op not in HOST_OPS:
            t += cost.op_seconds(n, rows_in.get(n.id, 0), here)
        for i in n.inputs:
            p = by_id.get(i)
            if p is None:
                continue
            there = "cpu" if p.op in HOST_OPS else (forced.get(i, dev) if i in mine else where.get(i, "cpu"))
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


def _run_device(where: dict[str, str], nodes: list[Node], by_id, rows, rows_in, cost: CostModel,
                target: str) -> tuple[str, str]:
    """The device a run that does not split uses: the one every operator has, else the one
    with the lower summed cost with every operator on it."""
    devs = set(where.values())
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
    split = ", ".join(f"{sum(1 for n in nodes if where[n.id] == d and n.op not in HOST_OPS)} on {d}"
                      for d in sorted(devs))
    return best, (f"operators split ({split}): run so where every device's backend has an executor "
                  f"(runtime/split.py), else all on {best} by summed cost, "
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
