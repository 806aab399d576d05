"""What the profiler (runtime/profile.py) costs: recursive programs run in one process three
ways, best of `--repeat` each:

- `bypassed`: the backends' eval_node without the profiler's hook (its inner function), the
  code as it was before the hook existed;
- `off`: as users run it without --stats (the hook's one `if` per node evaluation);
- `on`: profiled (`RunOptions(profile=True)`, what --stats does), with the profiler's own
  share (`profiler_s`: crediting new rows to rules).

    python benchmarks/profile_overhead.py [--quick] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # run as a script: the workloads package sits beside it
    sys.path.insert(0, HERE)

import dfl  # noqa: E402
import dfl.backends.cpu.plan as cpu_plan  # noqa: E402
import dfl.backends.interp.plan as interp_plan  # noqa: E402
from dfl.runtime.options import RunOptions  # noqa: E402
from dfl.runtime.profile_report import profile_json  # noqa: E402
from workloads import andersen  # noqa: E402

NONLINEAR_TC = """
input edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), path(y, z).
"""

ANDERSEN = andersen.DFL_SRC  # the benchmark workload's program (benchmarks/workloads/andersen.py)

SG = """
input edge(p: int, c: int)
output sg(x: int, y: int)
sg(x, y) :- edge(p, x), edge(p, y), x != y.
sg(x, y) :- edge(a, x), sg(a, b), edge(b, y).
"""


def andersen_rows(nv: int, seed: int = 1, assign: float = 0.95) -> dict[str, list[tuple]]:
    """The issue-14 generator's shape: addr nv/4, assign 0.95 nv, load and store 0.05 nv, 4 fields."""
    rng = np.random.default_rng(seed)
    na, nl = int(nv * assign), int(nv * 0.05)
    col = lambda hi, n: rng.integers(0, hi, n).tolist()  # noqa: E731
    return {"addr": list(zip(col(nv, nv // 4), col(nv // 4, nv // 4))),
            "assign": list(zip(col(nv, na), col(nv, na))),
            "load": list(zip(col(nv, nl), col(nv, nl), col(4, nl))),
            "store": list(zip(col(nv, nl), col(4, nl), col(nv, nl)))}


def tree_rows(n: int, seed: int = 3) -> dict[str, list[tuple]]:
    rng = np.random.default_rng(seed)
    return {"edge": [(int(rng.integers(0, i)), i) for i in range(1, n)]}


def chain(n: int) -> dict[str, list[tuple]]:
    return {"edge": [(i, i + 1) for i in range(n)]}


def workloads(quick: bool):
    """(name, program, rows, target); a non-linear closure over a chain derives each path
    many times over: the profiler's worst case (it matches derived rows against new ones)."""
    k = 2 if quick else 1
    yield "andersen", ANDERSEN, andersen_rows(8_000 // k), "cpu"
    yield "andersen", ANDERSEN, andersen_rows(1_000 // k), "interp"
    yield "nonlinear tc (chain)", NONLINEAR_TC, chain(400 // k), "cpu"
    yield "nonlinear tc (chain)", NONLINEAR_TC, chain(150 // k), "interp"
    yield "same generation (tree)", SG, tree_rows(3_000 // k), "cpu"
    yield "same generation (tree)", SG, tree_rows(600 // k), "interp"


def best(f, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'workload':24} {'target':6} {'rows out':>9} {'bypassed s':>10} {'off s':>8} {'on s':>8} {'on/off':>7} "
          f"{'profiler s':>10}")
    for name, src, rows, target in workloads(args.quick):
        prog = dfl.compile(textwrap.dedent(src).lstrip())
        mod = cpu_plan if target == "cpu" else interp_plan
        run = lambda profile=False: prog.run_with(RunOptions(target=target, profile=profile), rows)  # noqa: E731
        run()  # warm: kernels loaded, plan compiled
        hooked = mod.eval_node
        mod.eval_node = mod._eval_node
        try:
            bypassed, _ = best(run, args.repeat)
        finally:
            mod.eval_node = hooked
        off, _ = best(run, args.repeat)
        on, res = best(lambda: run(True), args.repeat)
        prof = sum(fx["profiler_s"] for fx in profile_json(res.profile, None)["fixpoints"])
        out = sum(len(v) for v in res.relations.values())
        print(f"{name:24} {target:6} {out:9,} {bypassed:10.3f} {off:8.3f} {on:8.3f} {on / off:7.2f} {prof:10.3f}",
              flush=True)


if __name__ == "__main__":
    main()
