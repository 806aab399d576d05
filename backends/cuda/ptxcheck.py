"""Code generation checked end to end without a GPU: every program's kernels to PTX (NVVM,
as `dfl compile --emit ptx`), each distinct PTX module assembled by ptxas for sm_90.

    python -m dfl.backends.cuda.ptxcheck examples          # every examples/*/prog.dfl
    python -m dfl.backends.cuda.ptxcheck a.dfl b.dfl --arch sm_90

Exit 0 when every module assembles; 1 naming the modules ptxas refused; 2 when ptxas or
NVVM is missing (nothing was checked).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def programs(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out += sorted(p.glob("*/prog.dfl")) if p.is_dir() else [p]
    return out


def check(paths: list[str], arch: str = "sm_90", ptxas: str | None = None) -> tuple[int, int, list[str]]:
    """(programs, distinct modules assembled, failures); raises RuntimeError when ptxas is missing."""
    import dfl
    from dfl.backends.cuda.device import cuda_module
    from dfl.backends.cuda.ptx import CC, recorded

    ptxas = ptxas or shutil.which("ptxas")
    if ptxas is None:
        raise RuntimeError("ptxas is not on PATH")
    kernels: dict[tuple, tuple] = {}  # (kernel, types) -> (kernel, types, first program): each compiled once
    for prog in programs(paths):
        loaded = dfl.load(prog)
        graphs = [loaded.graph] + [at.program.graph for _, at in sorted(loaded.agents.items())]
        for g in graphs:
            for k, sig in recorded(g):
                kernels.setdefault((k.name, sig), (k, sig, prog))
    cuda = cuda_module()
    where: dict[str, str] = {}  # module hash -> the first kernel that has it
    body_of: dict[str, str] = {}
    for k, sig, prog in kernels.values():
        body, _ = cuda.compile_ptx(k.bind(), sig, cc=CC)
        h = hashlib.sha1(body.encode()).hexdigest()
        where.setdefault(h, f"{prog}: {k.name} ({', '.join(map(str, sig))})")
        body_of[h] = body
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for h, body in body_of.items():
            src = os.path.join(tmp, f"{h}.ptx")
            Path(src).write_text(body, encoding="utf-8")
            r = subprocess.run([ptxas, f"-arch={arch}", src, "-o", os.devnull], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"{where[h]}: {r.stderr.strip()[:400]}")
    return len(programs(paths)), len(body_of), failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ptxcheck", description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--arch", default="sm_90")
    a = ap.parse_args(argv)
    from dfl.errors import DflError

    try:
        n, m, bad = check(a.paths, a.arch)
    except (RuntimeError, DflError) as e:
        print(f"ptxcheck: nothing checked: {getattr(e, 'message', e)}", file=sys.stderr)
        return 2
    for f in bad:
        print(f"ptxas refused {f}", file=sys.stderr)
    print(f"ptxcheck: {n} programs, {m} distinct kernels, {len(bad)} refused by ptxas -arch={a.arch}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
