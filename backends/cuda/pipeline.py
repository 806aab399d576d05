"""Fused map/filter pipelines on the device, and the host functions they call.

`run_steps` compiles (once per source text) the kernel exprgen.py writes for a chain of
map/filter steps, runs it over a device table, and compacts the rows its filters kept.

A host function (a string builtin) is evaluated once per distinct combination of its
argument values, as the cpu target's `per_unique`: its arguments are computed on the
device (in soft mode: a guard may exclude a row whose argument fails), numbered by a
device group-by, and only the distinct combinations go to the host; the g results come
back and a device gather spreads them over the rows.

On a failure the kernel raises one flag; the host then replays the same steps on the cpu
evaluator, whose BuiltinError (the interpreter's message) is what the user sees.
"""
from __future__ import annotations

import hashlib
import math

import numpy as np

from dfl.ir.expr import Fn
from dfl.ir.types import Type
from dfl.backends.columnar.table import DTYPES, Table
from dfl.backends.cuda.columns import DTable, download, full, gather, mask_rows
from dfl.backends.cuda.device import Device, Kernel, kernel
from dfl.backends.cuda.exprgen import host_calls, kernel_source
from dfl.stdlib.builtins import BUILTINS, BuiltinError
from dfl.stdlib.hashing import stable_hash

from numba import float64, int64, uint64

cuda = None  # numba.cuda, bound when a kernel is first compiled (device.Kernel): importing
#              this module imports no numba.cuda (a machine without it, or the simulator set later)

_KERNELS: dict[str, Kernel] = {}


def compiled(src_of, name_hint: str = "pipe") -> Kernel:
    """The kernel for a generated source (`src_of(name)`), made once per distinct source."""
    probe = src_of("K")
    name = f"{name_hint}_{hashlib.sha1(probe.encode()).hexdigest()[:12]}"
    k = _KERNELS.get(name)
    if k is None:
        src = src_of(name)
        from dfl.backends.cuda.device import cuda_module

        ns = {"cuda": cuda_module(), "math": _math(), "int64": int64, "float64": float64, "uint64": uint64}
        exec(compile(src, f"<dfl-cuda {name}>", "exec"), ns)  # noqa: S102 - our own generated code
        k = _KERNELS[name] = Kernel(ns[name], name)
        k.source = src
    return k


def _math():
    """`math` for generated kernels. The simulator runs them as Python, whose math raises
    where a device gives inf or nan (exp(1000.0), pow(10.0, 400.0)): numpy's IEEE versions
    stand in there."""
    from dfl.backends.cuda.device import simulated

    if not simulated():
        return math
    from types import SimpleNamespace

    f = np.float64
    return SimpleNamespace(exp=lambda x: np.exp(f(x)), log=lambda x: np.log(f(x)), sqrt=lambda x: np.sqrt(f(x)),
                           pow=lambda x, y: np.power(f(x), f(y)), floor=lambda x: np.floor(f(x)),
                           ceil=lambda x: np.ceil(f(x)), fmod=lambda x, y: np.fmod(f(x), f(y)),
                           inf=math.inf, nan=math.nan)


def out_types(steps: list, in_types: list[Type]) -> list[Type]:
    types = list(in_types)
    for kind, what in steps:
        if kind == "map":
            types = [e.type for e in what]
    return types


def run_steps(ctx, steps: list, t: DTable, in_types: list[Type], soft: bool = False):
    """The chain's output table; in soft mode (one map step) its columns and a poison mask."""
    dev: Device = ctx.dev
    first = steps[0][1] if steps[0][0] == "map" else [steps[0][1]]
    hoisted: list = []
    for e in first:
        host_calls(e, hoisted)
    hcols = []
    for h in hoisted:
        hcols += host_eval(ctx, h, t, in_types)
    outs_t = out_types(steps, in_types)
    k = compiled(lambda name: kernel_source(name, steps, in_types, len(hoisted), outs_t, hoisted,
                                            ctx.pool.code, soft))
    n = t.n
    outs = [dev.empty(n, DTYPES[ty]) for ty in outs_t]
    keep = dev.empty(n, np.bool_)
    poison = full(dev, n, False, np.bool_)
    err = full(dev, 1, 0, np.int64)
    dev.launch(k, n, n, ctx.ranks(), err, keep, poison, *[c[:n] for c in t.cols], *hcols, *outs)
    if soft:
        return outs, poison
    if dev.scalar(err):
        replay(ctx, steps, download(dev, t))
    out = DTable(outs, n)
    if any(kind == "filter" for kind, _ in steps):
        out = mask_rows(dev, out, keep)
    return out


def replay(ctx, steps: list, t: Table) -> None:
    """The steps on the cpu evaluator, to raise the interpreter's error for a failed kernel."""
    ev = ctx.cpu_evaluator()
    with np.errstate(all="ignore"):
        for kind, what in steps:
            if kind == "map":
                t = Table([ev.eval(e, t) for e in what], t.n)
            else:
                t = t.mask(ev.eval(what, t))
    raise BuiltinError("a run-time error in a device kernel (not reproduced on the host)")


def eval_exprs(ctx, exprs: list, t: DTable, in_types: list[Type]) -> list:
    """Columns of expressions over t (aggregate keys and values, generator arguments)."""
    if not exprs:
        return []
    return run_steps(ctx, [("map", list(exprs))], t, in_types).cols


def _py_impl(h: Fn):
    if h.op == "add":
        return lambda a, b: a + b
    if h.op == "hash":
        return stable_hash
    return BUILTINS[h.op].impl


def host_eval(ctx, h: Fn, t: DTable, in_types: list[Type]) -> list:
    """[values, failed] device columns of host call h over t's rows."""
    from dfl.backends.cuda.hashing import group_ids

    dev: Device = ctx.dev
    n = t.n
    if h.args:
        args, poison = run_steps(ctx, [("map", list(h.args))], t, in_types, soft=True)
    else:
        args, poison = [], full(dev, n, False, np.bool_)
    # floats by their bits: -0.0 and 0.0 are different arguments (to_str tells them apart)
    keys = [a.view(np.int64) if a.dtype == np.float64 else a for a in args] + [poison]
    ids, firsts, g = group_ids(dev, keys, n)
    uniq = [dev.to_host(gather(dev, c, firsts, g)) for c in args]
    bad_u = dev.to_host(gather(dev, poison, firsts, g))
    py = [ctx.pool.decode(u) if a.type.text else u.tolist() for u, a in zip(uniq, h.args)]
    impl = _py_impl(h)
    vals, bad = [], np.zeros(g, np.bool_)
    for j, combo in enumerate(zip(*py) if py else [()] * g):
        if bad_u[j]:
            bad[j] = True
            vals.append("" if h.type.text else 0)
            continue
        try:
            vals.append(impl(*combo))
        except BuiltinError:
            bad[j] = True
            vals.append("" if h.type.text else 0)
    if h.type.text:
        host = ctx.pool.encode(vals) if vals else np.empty(0, np.int64)
    else:
        host = np.asarray(vals, DTYPES[h.type]) if vals else np.empty(0, DTYPES[h.type])
    return [gather(dev, dev.to_device(host), ids, n), gather(dev, dev.to_device(bad), ids, n)]


@kernel
def k_to_int(src, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = int64(src[i])


@kernel
def k_to_bool(src, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = src[i] != 0


@kernel
def k_divide(a, c, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a[i] / float64(c[i])


def cast(dev: Device, col, n: int, dtype):
    out = dev.empty(n, dtype)
    dev.launch(k_to_bool if dtype == np.bool_ else k_to_int, n, col, out)
    return out


def divide_by(dev: Device, a, c, n: int):
    out = dev.empty(n, np.float64)
    dev.launch(k_divide, n, a, c, out)
    return out
